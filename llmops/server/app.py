"""``mlflow server --app-name llmops``: MLflow's tracking server plus llmops' trace-batch endpoint.

Registered as the ``llmops`` entry of MLflow's ``mlflow.app`` plugin group (``pyproject.toml``), the mechanism
``--app-name basic-auth`` uses; ``llmops-basic-auth`` is MLflow's basic-auth app (users, permissions) with the
endpoint, which then stores a trace only where its user may (the check MLflow makes for ``StartTraceV3``). Everything MLflow serves is unchanged; one route is added, ``POST
/api/2.0/llmops/traces/batch`` (see :mod:`llmops.mlflow_internals.trace_writing.batch`), which stores many whole
traces per request. ``llmops server`` starts it; so can ``mlflow server --app-name llmops`` wherever llmops is
installed next to MLflow (``pip install --no-deps llmops`` is enough: the endpoint needs only MLflow).
"""

from __future__ import annotations

from typing import Any


def create_app() -> Any:
    from mlflow.server import app as flask_app

    from llmops.mlflow_internals.trace_writing.batch import add_batch_endpoint, server_app

    add_batch_endpoint(flask_app)
    return server_app(flask_app)


def create_app_with_basic_auth() -> Any:
    from mlflow.server import app as flask_app

    from llmops.mlflow_internals.trace_writing.batch import behind_basic_auth

    return behind_basic_auth(flask_app)
