"""The only doors to MLflow's private internals.

MLflow's public API cannot write many traces in one transaction, nor read a store's spans as fast as the analysis
needs, so two modules reach past it, and nothing else in llmops may:

- ``trace_writing``: batched, lossless trace writes (SQL store rows, the span exporter and processor classes).
- ``trace_reading``: the store's tables read directly for the analysis (SQLite and PostgreSQL).

Each mirrors the shapes of the MLflow version below; ``check_shapes()`` in each module raises a clear error when
the installed MLflow differs, and ``tests/foundation/test_mlflow_internals.py`` runs both checks.
"""

from __future__ import annotations

MLFLOW_VERSION_CHECKED = "3.17.2"


class MlflowShapeError(RuntimeError):
    """The installed MLflow differs from the version llmops' private-API code mirrors."""
