"""Prompt sources <-> the MLflow prompt registry.

A version is registered only when the content changed: each version carries the source's content hash in the
tag ``llmops.content_hash``, so pushing an unchanged file is a no-op and the registry history stays meaningful.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmops.prompts.source import PromptError, PromptSource, find_source

HASH_TAG = "llmops.content_hash"
SOURCE_TAG = "llmops.source"


def latest_version(name: str) -> Any | None:
    import mlflow.genai

    try:
        return mlflow.genai.load_prompt(f"prompts:/{name}@latest", allow_missing=True)
    except Exception:
        return None


def push(source: PromptSource, message: str | None = None) -> tuple[Any, bool]:
    """Register ``source`` as a new version unless the latest version has the same content.

    Returns ``(prompt_version, created)``.
    """
    import mlflow.genai

    current = latest_version(source.name)
    if current is not None and current.tags.get(HASH_TAG) == source.content_hash:
        return current, False
    tags = {HASH_TAG: source.content_hash}
    if source.path is not None:
        tags[SOURCE_TAG] = source.path.as_posix()
    version = mlflow.genai.register_prompt(
        name=source.name,
        template=source.template,
        commit_message=message or source.commit_message or None,
        tags=tags,
        response_format=source.response_schema,
        model_config=source.model_config or None,
    )
    return version, True


def load(name: str, alias: str = "production") -> Any:
    """The prompt version an alias points to (``prompts:/name@alias``); links it to the active trace."""
    import mlflow.genai

    try:
        prompt = mlflow.genai.load_prompt(f"prompts:/{name}@{alias}", allow_missing=True)
    except Exception as exc:  # MLflow raises for an unknown alias of an existing prompt
        raise PromptError(f"prompt {name!r} has no alias {alias!r}: {exc}") from None
    if prompt is None:
        raise PromptError(f"prompt {name!r} is not registered (run `llmops prompts push {name}`)")
    return prompt


def ensure(name: str, alias: str = "production", prompts_dir: Path | str = "prompts") -> Any:
    """Make sure ``prompts:/name@alias`` resolves: when the prompt is missing, register it from its source
    file and point the alias at it. An existing alias is never moved here (that is what promotion is for)."""
    import mlflow.genai

    try:
        return load(name, alias)
    except PromptError:
        pass
    version, _ = push(find_source(name, prompts_dir))
    if alias != "latest":
        mlflow.genai.set_prompt_alias(name, alias, int(version.version))
    return load(name, alias)
