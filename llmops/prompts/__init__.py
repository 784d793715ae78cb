"""Prompts: YAML sources under ``prompts/`` and their versions in the MLflow prompt registry."""

from llmops.prompts.source import PromptError, PromptSource, find_source, load_source, parse_source

__all__ = ["PromptError", "PromptSource", "find_source", "load_source", "parse_source"]
