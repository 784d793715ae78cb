"""Prompt sources: one YAML file per prompt under ``prompts/``, validated before anything is registered.

Fields: ``name``, ``template`` (a string, or chat messages ``[{role, content}]``), ``variables`` (the
``{{placeholders}}`` the template uses, declared so a typo is caught here and not at run time),
``model_config`` (model, temperature, ...), ``response_schema`` (a JSON schema, or ``module:Class`` naming a
pydantic model), ``description`` and ``commit_message``.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops.errors import UserError

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
ROLES = ("system", "user", "assistant")


class PromptError(UserError, ValueError):
    """A prompt source, name, version or alias is wrong; the message says which and why."""


@dataclass(frozen=True)
class PromptSource:
    name: str
    template: str | list[dict[str, str]]
    variables: tuple[str, ...]
    path: Path | None = None
    description: str = ""
    commit_message: str = ""
    model_config: dict[str, Any] = field(default_factory=dict)
    response_schema: dict[str, Any] | None = None

    @property
    def content_hash(self) -> str:
        """A hash of what the registry stores (template, model config, schema); descriptions don't count."""
        canonical = json.dumps(
            {"template": self.template, "model_config": self.model_config, "response_schema": self.response_schema},
            sort_keys=True,
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def template_variables(template: str | list[dict[str, str]]) -> set[str]:
    texts = [template] if isinstance(template, str) else [m.get("content", "") for m in template]
    return {v for text in texts for v in _VARIABLE.findall(text)}


def _resolve_schema(value: Any, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and ":" in value:
        module_name, _, attr = value.partition(":")
        try:
            model = getattr(importlib.import_module(module_name), attr)
            return model.model_json_schema()
        except (ImportError, AttributeError) as exc:
            raise PromptError(f"{where}: response_schema {value!r} cannot be imported ({exc})") from None
    raise PromptError(f"{where}: response_schema must be a JSON schema mapping or 'module:PydanticModel'")


def parse_source(data: Any, where: str, path: Path | None = None) -> PromptSource:
    if not isinstance(data, dict):
        raise PromptError(f"{where}: expected a mapping of fields, got {type(data).__name__}")
    missing = [f for f in ("name", "template", "variables") if f not in data or data[f] in (None, "", [])]
    if missing:
        raise PromptError(f"{where}: missing field(s) {', '.join(missing)}")
    name = str(data["name"])
    if not _NAME.match(name):
        raise PromptError(f"{where}: name {name!r} may only hold letters, digits, '-', '_' and '.'")
    template = data["template"]
    if isinstance(template, list):
        for i, message in enumerate(template):
            if not isinstance(message, dict) or message.get("role") not in ROLES or not isinstance(
                message.get("content"), str
            ):
                raise PromptError(
                    f"{where}: template message {i + 1} needs a role ({', '.join(ROLES)}) and a text content"
                )
        template = [{"role": m["role"], "content": m["content"]} for m in template]
    elif not isinstance(template, str):
        raise PromptError(f"{where}: template must be a text or a list of chat messages")
    declared = data["variables"]
    if not isinstance(declared, list) or not all(isinstance(v, str) for v in declared):
        raise PromptError(f"{where}: variables must be a list of names")
    used = template_variables(template)
    if used != set(declared):
        problems = []
        if used - set(declared):
            problems.append(f"used but not declared: {', '.join(sorted(used - set(declared)))}")
        if set(declared) - used:
            problems.append(f"declared but not used: {', '.join(sorted(set(declared) - used))}")
        raise PromptError(f"{where}: template variables do not match 'variables' ({'; '.join(problems)})")
    model_config = data.get("model_config") or {}
    if not isinstance(model_config, dict):
        raise PromptError(f"{where}: model_config must be a mapping")
    return PromptSource(
        name=name,
        template=template,
        variables=tuple(declared),
        path=path,
        description=str(data.get("description") or "").strip(),
        commit_message=str(data.get("commit_message") or "").strip(),
        model_config=model_config,
        response_schema=_resolve_schema(data.get("response_schema"), where),
    )


def load_source(path: Path | str) -> PromptSource:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise PromptError(f"prompt file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PromptError(f"{path}: invalid YAML: {exc}") from None
    return parse_source(data, str(path), path)


def find_source(name: str, prompts_dir: Path | str = "prompts") -> PromptSource:
    prompts_dir = Path(prompts_dir)
    for path in sorted(prompts_dir.glob("*.yaml")):
        source = load_source(path)
        if source.name == name:
            return source
    raise PromptError(f"no prompt named {name!r} in {prompts_dir}/ (files: "
                      f"{', '.join(p.name for p in sorted(prompts_dir.glob('*.yaml'))) or 'none'})")
