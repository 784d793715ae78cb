"""The analyzer as an MLflow model: logged from code, registered with aliases, promoted through the evaluation
gate, and applied by ``mlflow.pyfunc.spark_udf`` (``llmops analyze --engine spark``) or ``mlflow models serve``.

::

    from llmops import serving

    version = serving.register()                  # log the analyzer, new version of comment-analyzer-model@staging
    serving.promote(version, "production")        # only if the `ci` evaluation suite passes

Importing this package does not import mlflow; each name is loaded on first use.
"""

from __future__ import annotations

from llmops._lazy import lazy_exports

_EXPORTS = {
    "MODEL_NAME": "registry",
    "log_model": "registry",
    "register": "registry",
    "promote": "registry",
    "aliases": "registry",
    "model_uri": "registry",
    "versions": "registry",
    "Promotion": "registry",
    "ModelRegistryError": "registry",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
