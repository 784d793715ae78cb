"""Evaluation suites and the CI gate: datasets, scorers (code + MLflow judges), ``mlflow.genai.evaluate`` runs,
thresholds and regressions against a baseline prompt version, Markdown and JUnit reports.

::

    from llmops.evaluation import run_suite

    report = run_suite("ci", prompt_alias="staging", baseline="production")
    report.passed, report.reasons

Importing this package imports neither mlflow nor langchain; the names below load on first use.
"""

from __future__ import annotations

from llmops._lazy import lazy_exports

_EXPORTS = {
    "run_suite": "runner",
    "EvalConfig": "config",
    "load_config": "config",
    "GateReport": "gate",
    "require_suite": "promotion",
    "build": "datasets",
    "load": "datasets",
    "EvalRow": "datasets",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
