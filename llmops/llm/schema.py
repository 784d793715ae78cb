"""JSON Schema, the parts OpenAI structured outputs and pydantic use: fill an instance, validate one.

``fill(schema, provider)`` builds a value that conforms to ``schema``: for every property it asks
``provider(name, subschema, path)`` for a candidate (the analysis knows what a ``sentiment`` is), coerces the
candidate to the schema (enums matched case-insensitively and through synonyms, strings cut to
``maxLength`` unless the caller marks a field uncapped, arrays to ``maxItems``...) and falls back to a
type-valid value (``default``, ``const``, the first enum value, a string of its ``format`` or ``pattern``
from :mod:`llmops.llm.sample_strings`) for fields nobody knows.
``$ref``/``$defs`` (as pydantic emits them), ``anyOf``/``oneOf``/``allOf``, nullable types and nested
objects and arrays are supported. ``validate`` is the matching checker; the model uses it to make sure its
tool arguments are valid (and, with the ``wrong_tool_args`` fault, that they are not).
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

from llmops.llm.sample_strings import default_string

MISSING: Any = object()
#: provider(property name, property schema, path) -> candidate value or MISSING
Provider = Callable[[str, dict[str, Any], tuple[str, ...]], Any]
#: uncapped(property name, property schema) -> True when the value must not be cut to ``maxLength``
Uncapped = Callable[[str, dict[str, Any]], bool]

_MAX_DEPTH = 12
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "fr": ("french", "francais", "fr-fr", "fr_fr", "fra", "fre"),
    "en": ("english", "anglais", "en-us", "en-gb", "en_us", "en_gb", "eng"),
    "high": ("urgent", "critical", "severe", "p1", "elevated", "elevee", "eleve", "haute", "haut", "major", "3"),
    "medium": ("normal", "moderate", "med", "moyen", "moyenne", "p2", "standard", "2"),
    "low": ("minor", "p3", "faible", "basse", "bas", "trivial", "none", "1"),
    "positive": ("pos", "happy", "satisfied", "positif", "good"),
    "negative": ("neg", "unhappy", "angry", "negatif", "bad", "dissatisfied"),
    "neutral": ("neutre", "none", "objective"),
    "mixed": ("mixte", "ambivalent", "both"),
    "yes": ("true", "oui", "pass", "passed", "y"),
    "no": ("false", "non", "fail", "failed", "n"),
}


def resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
    """Follow local ``$ref`` pointers ("#/$defs/Name", "#/definitions/Name"); merge sibling keywords."""
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < _MAX_DEPTH:
        ref = schema["$ref"]
        target: Any = root
        if isinstance(ref, str) and ref.startswith("#"):
            for part in [p for p in ref[1:].split("/") if p]:
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part, {}) if isinstance(target, dict) else {}
        else:
            target = {}
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **siblings} if isinstance(target, dict) else siblings
        seen += 1
    return schema if isinstance(schema, dict) else {}


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type")
    if isinstance(t, list):
        return [str(x) for x in t]
    if isinstance(t, str):
        return [t]
    if "properties" in schema:
        return ["object"]
    if "items" in schema:
        return ["array"]
    if "enum" in schema and schema["enum"]:
        return sorted({_json_type(v) for v in schema["enum"]})
    return []


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "unknown"


def _norm(value: Any) -> str:
    from llmops.llm.text import fold

    return re.sub(r"[\s_-]+", "_", fold(str(value)).strip())


def match_enum(candidate: Any, options: list[Any]) -> Any:
    """The enum option meaning ``candidate`` (exact, case-insensitive, synonym, prefix), or MISSING."""
    if candidate in options:
        return candidate
    if isinstance(candidate, bool):
        candidate = "yes" if candidate else "no"
    key = _norm(candidate)
    normalized = {_norm(o): o for o in options}
    if key in normalized:
        return normalized[key]
    for canonical, synonyms in _SYNONYMS.items():
        group = {canonical, *synonyms}
        if key in group:
            for option_key, option in normalized.items():
                if option_key in group:
                    return option
    for option_key, option in normalized.items():
        if key and (option_key.startswith(key) or key.startswith(option_key)) and min(len(key), len(option_key)) >= 2:
            return option
    return MISSING


def _fit_string(value: str, schema: dict[str, Any], capped: bool = True) -> str:
    max_len = schema.get("maxLength")
    if capped and isinstance(max_len, int) and len(value) > max_len:
        cut = value[:max_len]
        if " " in cut[:max_len] and max_len > 20:
            cut = cut[: cut.rfind(" ")].rstrip(",;:")
        value = cut
    min_len = schema.get("minLength")
    if isinstance(min_len, int) and len(value) < min_len:
        value = (value + " " if value else "") + "." * (min_len - len(value) - (1 if value else 0))
        value = value[: max(min_len, len(value))]
    return value


def _number_in_range(value: float, schema: dict[str, Any], integer: bool) -> float | int:
    lo = schema.get("minimum", schema.get("exclusiveMinimum"))
    hi = schema.get("maximum", schema.get("exclusiveMaximum"))
    if isinstance(lo, (int, float)) and value < lo:
        value = lo + (1 if integer and "exclusiveMinimum" in schema and "minimum" not in schema else 0)
    if isinstance(hi, (int, float)) and value > hi:
        value = hi - (1 if integer and "exclusiveMaximum" in schema and "maximum" not in schema else 0)
    if integer:
        return int(round(value))
    return float(value)


_LEVEL_FRACTION = {"low": 0.1, "medium": 0.5, "high": 0.9, "yes": 1.0, "no": 0.0}


def _scaled(fraction: float, schema: dict[str, Any], integer: bool) -> float | int:
    lo = schema.get("minimum", schema.get("exclusiveMinimum", 0))
    hi = schema.get("maximum", schema.get("exclusiveMaximum", 1 if not integer else 10))
    lo = lo if isinstance(lo, (int, float)) else 0
    hi = hi if isinstance(hi, (int, float)) else lo + 1
    return _number_in_range(lo + fraction * (hi - lo), schema, integer)


class _Filler:
    def __init__(self, root: dict[str, Any], provider: Provider, uncapped: Uncapped | None = None) -> None:
        self.root = root
        self.provider = provider
        self.uncapped = uncapped

    def value(self, schema: Any, candidate: Any, path: tuple[str, ...], depth: int = 0) -> Any:
        schema = resolve(schema, self.root)
        if depth > _MAX_DEPTH:
            return None
        if "const" in schema:
            return schema["const"]
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = resolve(part, self.root)
                for key, val in part.items():
                    if key in {"properties"} and key in merged:
                        merged[key] = {**merged[key], **val}
                    elif key == "required" and key in merged:
                        merged[key] = list(dict.fromkeys([*merged[key], *val]))
                    else:
                        merged.setdefault(key, val)
            return self.value(merged, candidate, path, depth + 1)
        branches = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(branches, list) and branches:
            return self._branch(schema, branches, candidate, path, depth)
        types = _types(schema)
        if len(types) > 1:
            branches = [{**{k: v for k, v in schema.items() if k != "type"}, "type": t} for t in types]
            return self._branch(schema, branches, candidate, path, depth)
        kind = types[0] if types else None
        if "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
            options = schema["enum"]
            if candidate is not MISSING:
                found = match_enum(candidate, options)
                if found is not MISSING:
                    return found
            if "default" in schema and schema["default"] in options:
                return schema["default"]
            return options[0]
        if candidate is MISSING and "default" in schema and not validate(schema["default"], schema, self.root):
            return schema["default"]
        if kind == "object":
            return self._object(schema, candidate, path, depth)
        if kind == "array":
            return self._array(schema, candidate, path, depth)
        if kind == "string":
            return self._string(schema, candidate, path)
        if kind in {"integer", "number"}:
            return self._number(schema, candidate, kind == "integer")
        if kind == "boolean":
            return self._boolean(candidate)
        if kind == "null":
            return None
        # An unconstrained schema ({}): anything goes, so keep what we know.
        return "" if candidate is MISSING else candidate

    def _branch(
        self, schema: dict[str, Any], branches: list[Any], candidate: Any, path: tuple[str, ...], depth: int
    ) -> Any:
        resolved = [resolve(b, self.root) for b in branches]
        non_null = [b for b in resolved if _types(b) != ["null"]]
        has_null = len(non_null) < len(resolved)
        if candidate is MISSING or candidate is None:
            if has_null:
                return None
            candidate = MISSING
        for branch in non_null or resolved:
            merged = {**{k: v for k, v in schema.items() if k not in {"anyOf", "oneOf", "type"}}, **branch}
            value = self.value(merged, candidate, path, depth + 1)
            if not validate(value, merged, self.root):
                return value
        return self.value(non_null[0] if non_null else resolved[0], candidate, path, depth + 1)

    def _object(self, schema: dict[str, Any], candidate: Any, path: tuple[str, ...], depth: int) -> dict[str, Any]:
        properties = schema.get("properties") or {}
        required = [r for r in schema.get("required") or [] if isinstance(r, str)]
        given = candidate if isinstance(candidate, dict) else {}
        result: dict[str, Any] = {}
        for name, sub in properties.items():
            sub_path = (*path, name)
            value = _lookup(given, name)
            if value is MISSING:
                value = self.provider(name, resolve(sub, self.root), sub_path)
            if value is MISSING and name not in required:
                continue
            result[name] = self.value(sub, value, sub_path, depth + 1)
        for name in required:
            if name not in result:
                # Required but undeclared (allowed by JSON Schema): any value will do.
                value = _lookup(given, name)
                result[name] = "" if value is MISSING else value
        return result

    def _array(self, schema: dict[str, Any], candidate: Any, path: tuple[str, ...], depth: int) -> list[Any]:
        items_schema = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        if candidate is MISSING or candidate is None:
            raw: list[Any] = []
        elif isinstance(candidate, (list, tuple)):
            raw = list(candidate)
        else:
            raw = [candidate]
        item_options = resolve(items_schema, self.root).get("enum")
        if isinstance(item_options, list) and item_options:
            # A candidate outside the enum is dropped, not replaced by an arbitrary option.
            raw = [m for m in (match_enum(c, item_options) for c in raw) if m is not MISSING]
        values = [self.value(items_schema, c, (*path, str(i)), depth + 1) for i, c in enumerate(raw)]
        if schema.get("uniqueItems") or _looks_like_set(items_schema, self.root):
            unique: list[Any] = []
            for v in values:
                if v not in unique:
                    unique.append(v)
            values = unique
        max_items = schema.get("maxItems")
        if isinstance(max_items, int):
            values = values[:max_items]
        min_items = schema.get("minItems")
        if isinstance(min_items, int):
            options = resolve(items_schema, self.root).get("enum")
            i = 0
            while len(values) < min_items:
                if isinstance(options, list) and options:
                    spare = [o for o in options if o not in values]
                    values.append(spare[0] if spare else options[0])
                else:
                    values.append(self.value(items_schema, MISSING, (*path, str(len(values))), depth + 1))
                i += 1
        return values

    def _string(self, schema: dict[str, Any], candidate: Any, path: tuple[str, ...]) -> str:
        if candidate is MISSING or candidate is None:
            return _fit_string(default_string(schema, path), schema)
        if isinstance(candidate, bool):
            text = "yes" if candidate else "no"
        elif isinstance(candidate, (list, tuple)):
            text = ", ".join(str(c) for c in candidate)
        elif isinstance(candidate, dict):
            import json

            text = json.dumps(candidate, ensure_ascii=False, sort_keys=True)
        else:
            text = str(candidate)
        pattern = schema.get("pattern")
        capped = not (self.uncapped and path and self.uncapped(path[-1], schema))
        if isinstance(pattern, str):
            try:
                if not re.search(pattern, text):
                    # Keep a known value that breaks the pattern rather than invent one: a made-up customer id
                    # would act on someone else's account, a wrong one is refused by the tool.
                    found = re.search(pattern.strip("^$"), text)
                    if found and re.search(pattern, found.group(0)):
                        text = found.group(0)
            except re.error:
                pass
        return _fit_string(text, schema, capped)

    def _number(self, schema: dict[str, Any], candidate: Any, integer: bool) -> float | int:
        if isinstance(candidate, bool):
            return _scaled(1.0 if candidate else 0.0, schema, integer)
        if isinstance(candidate, (int, float)) and math.isfinite(candidate):
            return _number_in_range(candidate, schema, integer)
        if isinstance(candidate, str):
            key = _norm(candidate)
            if key in _LEVEL_FRACTION:
                return _scaled(_LEVEL_FRACTION[key], schema, integer)
            try:
                return _number_in_range(float(candidate), schema, integer)
            except ValueError:
                pass
        return _number_in_range(0, schema, integer)

    @staticmethod
    def _boolean(candidate: Any) -> bool:
        if isinstance(candidate, bool):
            return candidate
        if isinstance(candidate, (int, float)):
            return candidate > 0
        if isinstance(candidate, str):
            return _norm(candidate) in {"yes", "true", "oui", "high", "medium", "1", "y"}
        if isinstance(candidate, (list, tuple, dict)):
            return bool(candidate)
        return False


def _looks_like_set(items_schema: Any, root: dict[str, Any]) -> bool:
    return bool(resolve(items_schema, root).get("enum"))


def _lookup(given: dict[str, Any], name: str) -> Any:
    if name in given:
        return given[name]
    key = _norm(name)
    for k, v in given.items():
        if _norm(k) == key:
            return v
    return MISSING


def fill(
    schema: dict[str, Any], provider: Provider, root: dict[str, Any] | None = None, uncapped: Uncapped | None = None
) -> Any:
    """A value conforming to ``schema``, with the provider's candidates wherever it has one.

    ``uncapped(name, subschema)`` names string properties whose value is not cut to ``maxLength`` (a model
    told to "write a detailed summary" writes it whole, even when the schema then rejects it)."""
    return _Filler(root if root is not None else schema, provider, uncapped).value(schema, MISSING, ())


# --- validation ------------------------------------------------------------------------------------------


def validate(instance: Any, schema: Any, root: dict[str, Any] | None = None, path: str = "$") -> list[str]:
    """Human-readable violations of ``schema`` by ``instance`` (empty when it conforms)."""
    root = root if root is not None else (schema if isinstance(schema, dict) else {})
    schema = resolve(schema, root)
    errors: list[str] = []
    if not schema:
        return errors
    if "const" in schema and instance != schema["const"]:
        errors.append(f"{path}: expected {schema['const']!r}")
    if "enum" in schema and isinstance(schema["enum"], list) and instance not in schema["enum"]:
        errors.append(f"{path}: {instance!r} is not one of {schema['enum']}")
    for part in schema.get("allOf") or []:
        errors += validate(instance, part, root, path)
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            ok = sum(not validate(instance, b, root, path) for b in schema[key])
            # oneOf is checked like anyOf: pydantic only emits it for unions whose branches cannot overlap.
            if ok == 0:
                errors.append(f"{path}: matches {ok} of the {key} branches")
    types = _types(schema) if "type" in schema else []
    if types:
        actual = _json_type(instance)
        if not (actual in types or (actual == "integer" and "number" in types)):
            if not (actual == "number" and "integer" in types and float(instance).is_integer()):
                errors.append(f"{path}: expected {'/'.join(types)}, got {actual}")
                return errors
    if isinstance(instance, dict):
        props = schema.get("properties") or {}
        for name in schema.get("required") or []:
            if name not in instance:
                errors.append(f"{path}: missing required property {name!r}")
        for name, value in instance.items():
            if name in props:
                errors += validate(value, props[name], root, f"{path}.{name}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}: unexpected property {name!r}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += validate(value, schema["additionalProperties"], root, f"{path}.{name}")
    if isinstance(instance, list):
        if isinstance(schema.get("items"), dict):
            for i, item in enumerate(instance):
                errors += validate(item, schema["items"], root, f"{path}[{i}]")
        if isinstance(schema.get("minItems"), int) and len(instance) < schema["minItems"]:
            errors.append(f"{path}: fewer than {schema['minItems']} items")
        if isinstance(schema.get("maxItems"), int) and len(instance) > schema["maxItems"]:
            errors.append(f"{path}: more than {schema['maxItems']} items")
        if schema.get("uniqueItems") and len({repr(i) for i in instance}) < len(instance):
            errors.append(f"{path}: items are not unique")
    if isinstance(instance, str):
        if isinstance(schema.get("minLength"), int) and len(instance) < schema["minLength"]:
            errors.append(f"{path}: shorter than {schema['minLength']}")
        if isinstance(schema.get("maxLength"), int) and len(instance) > schema["maxLength"]:
            errors.append(f"{path}: longer than {schema['maxLength']}")
        if isinstance(schema.get("pattern"), str):
            try:
                if not re.search(schema["pattern"], instance):
                    errors.append(f"{path}: does not match {schema['pattern']!r}")
            except re.error:
                pass
    if isinstance(instance, (int, float)) and not isinstance(instance, bool):
        if isinstance(schema.get("minimum"), (int, float)) and instance < schema["minimum"]:
            errors.append(f"{path}: below {schema['minimum']}")
        if isinstance(schema.get("maximum"), (int, float)) and instance > schema["maximum"]:
            errors.append(f"{path}: above {schema['maximum']}")
        if isinstance(schema.get("exclusiveMinimum"), (int, float)) and instance <= schema["exclusiveMinimum"]:
            errors.append(f"{path}: not above {schema['exclusiveMinimum']}")
        if isinstance(schema.get("exclusiveMaximum"), (int, float)) and instance >= schema["exclusiveMaximum"]:
            errors.append(f"{path}: not below {schema['exclusiveMaximum']}")
    return errors
