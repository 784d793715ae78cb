"""Evaluation suites and the CI gate: datasets, scorers (code + MLflow judges), ``mlflow.genai.evaluate`` runs,
thresholds and regressions against a baseline prompt version, Markdown and JUnit reports.

::

    from llmops.evaluation import run_suite

    report = run_suite("ci", prompt_alias="staging", baseline="production")
    report.passed, report.reasons

Importing this package imports neither mlflow nor langchain; the names below load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "run_suite": "runner",
    "EvalConfig": "config",
    "load_config": "config",
    "GateReport": "gate",
    "require_suite": "gate",
    "build": "datasets",
    "load": "datasets",
    "EvalRow": "datasets",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'llmops.evaluation' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"llmops.evaluation.{module}"), name)
    globals()[name] = value
    return value
