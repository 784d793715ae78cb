"""Prompt sources <-> the MLflow prompt registry: push, load by alias, promote, roll back, history, diff.

- A version is registered only when the content changed: each version carries its source's content hash in
  the tag ``llmops.content_hash``, so pushing an unchanged file is a no-op and the history stays meaningful.
- ``prompts/history/<name>/*.yaml`` hold the earlier versions of a prompt, pushed (once) before the current
  ``prompts/<name>.yaml``, so a fresh store gets the whole history in order.
- Aliases move only through ``promote`` and ``rollback``; each move is appended to the prompt tag
  ``llmops.alias_log.<alias>`` (version, previous version, who, when, why), which is what ``rollback`` reads.
"""

from __future__ import annotations

import difflib
import getpass
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from llmops.prompts.source import PromptError, PromptSource, find_source, load_source

HASH_TAG = "llmops.content_hash"
SOURCE_TAG = "llmops.source"
ALIAS_LOG_TAG = "llmops.alias_log."
PROMOTABLE = ("staging", "production")
_REF = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*?)(?:@(?P<alias>[A-Za-z0-9_-]+)|/(?P<version>\d+))?$")


def _client() -> Any:
    from mlflow import MlflowClient

    return MlflowClient()


# --- sources ---------------------------------------------------------------------------------------------


def discover(prompts_dir: Path | str = "prompts") -> dict[str, list[PromptSource]]:
    """Every prompt under ``prompts_dir``: its history files in order, then its current file."""
    prompts_dir = Path(prompts_dir)
    if not prompts_dir.is_dir():
        raise PromptError(f"prompt folder {prompts_dir} does not exist")
    found: dict[str, list[PromptSource]] = {}
    for path in sorted(prompts_dir.glob("*.yaml")):
        source = load_source(path)
        if source.name in found:
            raise PromptError(f"two files define prompt {source.name!r}: {found[source.name][-1].path} and {path}")
        history_dir = prompts_dir / "history" / source.name
        history = [load_source(p) for p in sorted(history_dir.glob("*.yaml"), key=_natural)]
        for h in history:
            if h.name != source.name:
                raise PromptError(f"{h.path}: names prompt {h.name!r} but lives in the history of {source.name!r}")
        found[source.name] = [*history, source]
    return found


def _natural(path: Path) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.stem)]


# --- registry reads --------------------------------------------------------------------------------------


def versions(name: str) -> list[Any]:
    """All registered versions of ``name``, oldest first."""
    client = _client()
    if client.get_prompt(name) is None:
        raise PromptError(f"prompt {name!r} is not registered (run `llmops prompts push {name}`)")
    found, token = [], None
    while True:
        page = client.search_prompt_versions(name, page_token=token)
        found.extend(page.prompt_versions if hasattr(page, "prompt_versions") else page)
        token = getattr(page, "token", None) or getattr(page, "next_page_token", None)
        if not token:
            break
    # search_prompt_versions leaves out the aliases; get_prompt_version has them.
    return [client.get_prompt_version(name, n) for n in sorted(int(v.version) for v in found)]


def resolve(ref: str) -> Any:
    """``name``, ``name@alias`` or ``name/version`` -> the prompt version (``name`` alone means latest)."""
    match = _REF.match(ref.strip())
    if not match:
        raise PromptError(f"{ref!r} is not a prompt reference: use NAME, NAME@ALIAS or NAME/VERSION")
    name, alias, version = match.group("name"), match.group("alias"), match.group("version")
    client = _client()
    if client.get_prompt(name) is None:
        raise PromptError(f"prompt {name!r} is not registered (run `llmops prompts push {name}`)")
    if version is not None:
        found = client.get_prompt_version(name, int(version)) if _version_exists(name, int(version)) else None
        if found is None:
            known = ", ".join(str(v.version) for v in versions(name))
            raise PromptError(f"prompt {name!r} has no version {version} (versions: {known})")
        return found
    alias = alias or "latest"
    if alias == "latest":
        return versions(name)[-1]
    known = aliases(name)
    if alias not in known:
        listed = ", ".join(f"{a}→v{v}" for a, v in sorted(known.items())) or "none"
        raise PromptError(f"prompt {name!r} has no alias {alias!r} (aliases: {listed})")
    return client.get_prompt_version(name, known[alias])


def _version_exists(name: str, version: int) -> bool:
    return any(int(v.version) == version for v in versions(name))


def aliases(name: str) -> dict[str, int]:
    """``{alias: version}`` for every alias of ``name`` (``latest`` is implicit and not listed)."""
    return {a: int(v.version) for v in versions(name) for a in (v.aliases or []) if a != "latest"}


def load(name: str, alias: str = "production") -> Any:
    """The version ``prompts:/name@alias`` points to, loaded with MLflow's ``load_prompt`` so that the active
    trace is linked to it (the ``mlflow.linkedPrompts`` tag)."""
    import mlflow.genai

    try:
        prompt = mlflow.genai.load_prompt(f"prompts:/{name}@{alias}", allow_missing=True)
    except Exception:
        prompt = None
    if prompt is None:
        resolve(f"{name}@{alias}")  # raises the precise error: unknown prompt or unknown alias
        raise PromptError(f"prompt {name!r}@{alias} cannot be loaded")
    return prompt


# --- writes ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushResult:
    name: str
    version: int
    created: bool
    source: Path | None


def push(source: PromptSource, message: str | None = None, *, allow_older: bool = False) -> PushResult:
    """Register ``source`` as a new version unless it is unchanged.

    Unchanged means: the latest version has the same content hash, or (``allow_older``, used for history
    files) any version has it.
    """
    import mlflow.genai

    client = _client()
    existing = versions(source.name) if client.get_prompt(source.name) is not None else []
    if existing:
        candidates = existing if allow_older else existing[-1:]
        for v in candidates:
            if v.tags.get(HASH_TAG) == source.content_hash:
                return PushResult(source.name, int(v.version), False, source.path)
    tags = {HASH_TAG: source.content_hash}
    if source.path is not None:
        tags[SOURCE_TAG] = _display_path(source.path)
    version = mlflow.genai.register_prompt(
        name=source.name,
        template=source.template,
        commit_message=message or source.commit_message or None,
        tags=tags,
        response_format=source.response_schema,
        model_config=source.model_config or None,
    )
    if source.description and len(existing) == 0:
        client.set_prompt_tag(source.name, "description", source.description)
    return PushResult(source.name, int(version.version), True, source.path)


def push_all(
    prompts_dir: Path | str = "prompts", name: str | None = None, message: str | None = None
) -> list[PushResult]:
    """Push every prompt (or just ``name``) with its history; validates all files before registering any."""
    sources = discover(prompts_dir)
    if name is not None:
        if name not in sources:
            raise PromptError(f"no prompt named {name!r} in {prompts_dir}/ (prompts: {', '.join(sorted(sources))})")
        sources = {name: sources[name]}
    results = []
    for prompt_sources in sources.values():
        *history, current = prompt_sources
        for h in history:
            results.append(push(h, allow_older=True))
        results.append(push(current, message))
    return results


def _display_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _alias_log(name: str, alias: str) -> list[dict]:
    prompt = _client().get_prompt(name)
    raw = (prompt.tags or {}).get(ALIAS_LOG_TAG + alias) if prompt else None
    return json.loads(raw) if raw else []


def _move_alias(name: str, alias: str, version: int, reason: str, event: str) -> dict:
    client = _client()
    previous = aliases(name).get(alias)
    client.set_prompt_alias(name, alias, version)
    entry = {
        "event": event,
        "version": version,
        "previous": previous,
        "by": _whoami(),
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "reason": reason,
    }
    log = _alias_log(name, alias) + [entry]
    # Tag values are limited in size: keep the most recent moves, enough for any rollback chain in practice.
    client.set_prompt_tag(name, ALIAS_LOG_TAG + alias, json.dumps(log[-40:]))
    return entry


def _whoami() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def promote(name: str, version: int, to: str, reason: str = "") -> dict:
    if to not in PROMOTABLE:
        raise PromptError(f"cannot promote to {to!r}: use one of {', '.join(PROMOTABLE)}")
    resolve(f"{name}/{version}")  # the version must exist
    return _move_alias(name, to, int(version), reason or f"promoted v{version} to {to}", "promote")


def rollback(name: str, alias: str = "production", reason: str = "") -> dict:
    """Point ``alias`` back to the version it pointed to before its last move."""
    current = aliases(name).get(alias)
    if current is None:
        raise PromptError(f"prompt {name!r} has no alias {alias!r} to roll back")
    log = _alias_log(name, alias)
    previous = next((e["previous"] for e in reversed(log) if e["version"] == current and e["previous"]), None)
    if previous is None:
        raise PromptError(
            f"{name}@{alias} points to v{current} and no earlier version is recorded for it: nothing to roll back to"
        )
    return _move_alias(name, alias, int(previous), reason or f"rolled back from v{current}", "rollback")


def ensure(name: str, alias: str = "production", prompts_dir: Path | str = "prompts") -> Any:
    """Make ``prompts:/name@alias`` resolvable: when the prompt is not registered at all, push its sources
    (with history) and point the alias at the newest version. An existing alias is never moved here."""
    client = _client()
    if client.get_prompt(name) is None:
        find_source(name, prompts_dir)  # a clear error when there is no source either
        results = push_all(prompts_dir, name)
        if alias != "latest":
            _move_alias(name, alias, results[-1].version, "first registration", "promote")
    return load(name, alias)


# --- reading versions as text ------------------------------------------------------------------------------


def render(version: Any) -> str:
    """A version as readable text: its template (messages one after another), then its model config."""
    template = version.template
    if isinstance(template, list):
        body = "\n".join(f"[{m['role']}]\n{m['content'].rstrip()}\n" for m in template)
    else:
        body = str(template).rstrip() + "\n"
    config = getattr(version, "model_config", None) or {}
    lines = [body]
    if config:
        lines.append("[model_config]\n" + json.dumps(config, indent=2, sort_keys=True) + "\n")
    schema = getattr(version, "response_format", None)
    if schema:
        lines.append("[response_format]\n" + json.dumps(schema, indent=2, sort_keys=True) + "\n")
    return "\n".join(lines)


def diff(name: str, a: str, b: str) -> str:
    """A unified diff of two versions or aliases of ``name`` (``a``/``b``: "2", "v2" or "production")."""

    def ref(x: str) -> str:
        x = x.strip()
        if x.lstrip("v").isdigit():
            return f"{name}/{x.lstrip('v')}"
        return f"{name}@{x}"

    left, right = resolve(ref(a)), resolve(ref(b))
    lines = difflib.unified_diff(
        render(left).splitlines(keepends=True),
        render(right).splitlines(keepends=True),
        fromfile=f"{name} v{left.version} ({a})",
        tofile=f"{name} v{right.version} ({b})",
    )
    return "".join(lines)


def history(name: str) -> dict:
    """Versions (when, who, why) and every alias move, for ``llmops prompts history``."""
    rows = [
        {
            "version": int(v.version),
            "created": datetime.fromtimestamp((v.creation_timestamp or 0) / 1000, timezone.utc).isoformat(
                timespec="seconds"
            ),
            "by": getattr(v, "user_id", None) or "",
            "message": v.commit_message or "",
            "aliases": sorted(a for a in (v.aliases or []) if a != "latest"),
            "source": v.tags.get(SOURCE_TAG, ""),
        }
        for v in versions(name)
    ]
    prompt = _client().get_prompt(name)
    moves = []
    for key, raw in (prompt.tags or {}).items():
        if key.startswith(ALIAS_LOG_TAG):
            for entry in json.loads(raw):
                moves.append({"alias": key[len(ALIAS_LOG_TAG):], **entry})
    moves.sort(key=lambda e: e["at"])
    return {"name": name, "versions": rows, "alias_moves": moves}
