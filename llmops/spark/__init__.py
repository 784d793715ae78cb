"""``llmops analyze --engine spark``: the analyzer model applied by ``mlflow.pyfunc.spark_udf`` on Spark.

Importing this package imports neither pyspark nor mlflow; :mod:`llmops.spark.engine` does.
"""

from __future__ import annotations

from llmops._lazy import lazy_exports

_EXPORTS = {"spark_session": "engine", "run_spark": "engine", "resolve_model": "engine", "DEFAULT_WAVE_ROWS": "engine"}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
