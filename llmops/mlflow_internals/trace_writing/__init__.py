"""Every use of MLflow's private internals on the writing side of tracing, checked against one MLflow version.

What llmops needs that MLflow's public API does not give:

* the span processor and exporter classes (to hand each finished trace to llmops' writer instead of MLflow's
  lossy asynchronous queues), the tracer-provider factory they are built by, and the in-memory trace manager
  (redaction and cost edit a trace before it is exported);
* the SQL store's tables and helpers (many traces per transaction on SQLite/PostgreSQL/MySQL);
* the tracking server's REST and OTLP messages (many traces per request through ``mlflow server``), and the
  server-side hooks of llmops' own batch endpoint (``batch.py``, run by ``mlflow server --app-name llmops``).

Everything here mirrors MLflow ``MLFLOW_VERSION_CHECKED``; :func:`check_shapes` raises
:class:`MlflowShapeError` naming what differs in the installed MLflow.
"""

from __future__ import annotations

import inspect
from typing import Any

import mlflow
import mlflow.tracing.provider as _provider
from mlflow.tracing.client import TracingClient
from mlflow.tracing.export.mlflow_v3 import MlflowV3SpanExporter
from mlflow.tracing.processor.mlflow_v3 import MlflowV3SpanProcessor
from mlflow.tracing.trace_manager import InMemoryTraceManager

from llmops.mlflow_internals import MLFLOW_VERSION_CHECKED, MlflowShapeError
from llmops.mlflow_internals.trace_writing.server import (
    _LINK_PROMPTS_PATH,
    ServerApi,
    ServerReply,
    add_size_stats,
    is_tracking_server,
)
from llmops.mlflow_internals.trace_writing.spans import (
    ClientTraceWriter,
    LosslessSpanExporter,
    active_experiment_id,
    default_span_processor,
    has_attachments,
    in_evaluation,
    in_memory_trace,
    install_processor_factory,
    per_context_autolog_sessions,
    rebuild_tracer_provider,
    set_span_hooks,
    skip_nested_openai_model_spans,
    span_hooks,
    span_processor,
)
from llmops.mlflow_internals.trace_writing.sql import SPAN_COLUMNS, TRACE_COLUMNS, SqlBatchWriter, translate_for_storage

__all__ = [
    "ClientTraceWriter",
    "LosslessSpanExporter",
    "MlflowShapeError",
    "ServerApi",
    "ServerReply",
    "SqlBatchWriter",
    "active_experiment_id",
    "add_size_stats",
    "check_shapes",
    "default_span_processor",
    "has_attachments",
    "in_evaluation",
    "in_memory_trace",
    "install_processor_factory",
    "is_tracking_server",
    "per_context_autolog_sessions",
    "rebuild_tracer_provider",
    "set_span_hooks",
    "skip_nested_openai_model_spans",
    "span_hooks",
    "span_processor",
    "translate_for_storage",
]


def _columns_problems(table: Any, written: set[str]) -> list[str]:
    columns = {column.name: column for column in table.columns}
    problems = [f"table {table.name} has no column {name}" for name in sorted(written - set(columns))]
    for name, column in columns.items():
        required = not column.nullable and column.default is None and column.server_default is None
        if required and name not in written and not column.autoincrement is True:
            problems.append(f"table {table.name} has a new required column {name}")
    return problems


def _signature_problems(function: Any, label: str, parameters: list[str]) -> list[str]:
    try:
        names = [p for p in inspect.signature(function).parameters if p != "self"]
    except (TypeError, ValueError):
        return [f"{label} is not a function"]
    return [] if names[: len(parameters)] == parameters else [f"{label}{tuple(names)} (expected {tuple(parameters)})"]


def _assigned_problems(init: Any, label: str, attributes: list[str]) -> list[str]:
    # Instance attributes exist only once an instance is built: read what __init__ assigns instead.
    try:
        source = inspect.getsource(init)
    except (OSError, TypeError):
        return [f"{label}.__init__ source is unavailable"]
    return [f"{label} no longer sets self.{name}" for name in attributes if f"self.{name} =" not in source]


def check_shapes() -> None:
    """Raise :class:`MlflowShapeError` naming every private shape of MLflow the writing side relies on that
    the installed MLflow no longer has (a name gone, a signature or a table changed)."""
    problems: list[str] = []

    def need(owner: Any, *names: str, label: str | None = None) -> None:
        for name in names:
            if not hasattr(owner, name):
                problems.append(f"{label or getattr(owner, '__name__', owner)}.{name} is gone")

    try:
        from mlflow.protos.service_pb2 import LinkPromptsToTrace, StartTraceV3
        from mlflow.store.tracking.dbmodels import models as dbmodels
        from mlflow.store.tracking.rest_store import RestStore
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore, _span_aggregation_node
        from mlflow.store.tracking.utils import sql_trace_rollups, trace_analytics
        from mlflow.tracing import config as tracing_config
        from mlflow.tracing import utils as tracing_utils
        from mlflow.tracing.otel import translation
        from mlflow.tracing.utils import otlp
        from mlflow.utils import rest_utils
    except ImportError as exc:
        raise MlflowShapeError(_shape_message([f"cannot import {exc.name or exc}"])) from exc

    need(_provider, "_get_mlflow_span_processor", "is_tracing_enabled", "provider")
    need(_provider.provider, "once", "reset", label="mlflow.tracing.provider.provider")
    need(MlflowV3SpanExporter, "_export_traces", label="MlflowV3SpanExporter")
    problems += _assigned_problems(MlflowV3SpanExporter.__init__, "MlflowV3SpanExporter", ["_client", "_async_queue"])
    problems += _assigned_problems(SqlAlchemyStore.__init__, "SqlAlchemyStore", ["ManagedSessionMaker", "db_type"])
    problems += _signature_problems(
        MlflowV3SpanExporter._log_trace, "MlflowV3SpanExporter._log_trace", ["trace", "prompts", "workspace"]
    )
    problems += _signature_problems(
        MlflowV3SpanProcessor.on_start, "MlflowV3SpanProcessor.on_start", ["span", "parent_context"]
    )
    need(InMemoryTraceManager, "get_instance", "get_trace", label="InMemoryTraceManager")
    need(mlflow.tracking.fluent, "_get_experiment_id", label="mlflow.tracking.fluent")
    need(tracing_config.get_config(), "span_processors", label="mlflow.tracing.config.get_config()")
    need(TracingClient, "_upload_trace_data", "_upload_attachments", "link_prompt_versions_to_trace",
         label="TracingClient")  # fmt: skip
    need(SqlAlchemyStore, "_check_experiment_is_active", "_get_trace_artifact_location_tag",
         "link_prompts_to_trace", label="SqlAlchemyStore")  # fmt: skip
    problems += _signature_problems(
        _span_aggregation_node, "_span_aggregation_node", ["span_id", "parent_span_id", "attributes", "attribute_key"]
    )
    need(sql_trace_rollups, "RollupFamily", "enqueue_rollup_rebuild_partitions")
    rollup_family = getattr(sql_trace_rollups, "RollupFamily", None)
    need(rollup_family, "TRACE_METRIC", "ASSESSMENT", "SPAN_COST", label="RollupFamily")
    need(trace_analytics, "COST_COLUMN_BY_KEY", "PROMOTED_TRACE_METADATA_KEYS", "TOKEN_COLUMN_BY_KEY",
         "analytics_columns_from_metadata", "bounded_model_dimension", "finite_float_or_none", "token_count_or_none",
         "validate_session_id", "validate_trace_name")  # fmt: skip
    need(tracing_utils, "TraceJSONEncoder", "_calculate_percentile", "aggregate_cost_from_span_nodes",
         "aggregate_usage_from_span_nodes", "calculate_cost_by_model_and_token_usage",
         "dump_span_attribute_value")  # fmt: skip
    need(translation, "sanitize_attributes", "translate_span_when_storing")
    if hasattr(trace_analytics, "TOKEN_COLUMN_BY_KEY") and hasattr(trace_analytics, "COST_COLUMN_BY_KEY"):
        token = set(trace_analytics.TOKEN_COLUMN_BY_KEY.values()) | set(trace_analytics.COST_COLUMN_BY_KEY.values())
        problems += _columns_problems(dbmodels.SqlTraceInfo.__table__, set(TRACE_COLUMNS) | token)
        problems += _columns_problems(dbmodels.SqlSpan.__table__, set(SPAN_COLUMNS))
        for table in (dbmodels.SqlTraceTag.__table__, dbmodels.SqlTraceMetadata.__table__):
            problems += _columns_problems(table, {"request_id", "key", "value"})
    # The tracking server's ingestion API, as ServerApi sends it.
    need(otlp, "MLFLOW_EXPERIMENT_ID_HEADER", "OTLP_TRACES_PATH", "resource_to_otel_proto")
    if getattr(otlp, "OTLP_TRACES_PATH", None) != "/v1/traces":
        problems.append(f"the OTLP endpoint moved to {getattr(otlp, 'OTLP_TRACES_PATH', None)}")
    start_trace_path = RestStore._V3_METHOD_TO_INFO.get(StartTraceV3, ("",))[0]
    if getattr(rest_utils, "_V3_TRACE_REST_API_PATH_PREFIX", None) != start_trace_path:
        problems.append("StartTraceV3 moved away from _V3_TRACE_REST_API_PATH_PREFIX")
    if RestStore._METHOD_TO_INFO.get(LinkPromptsToTrace) != (_LINK_PROMPTS_PATH, "POST"):
        problems.append(f"LinkPromptsToTrace is now {RestStore._METHOD_TO_INFO.get(LinkPromptsToTrace)}")
    need(mlflow.entities.Span, "to_otel_proto", label="mlflow.entities.Span")
    # Autologging sessions, one per thread of execution (spans.per_context_autolog_sessions).
    from mlflow.utils.autologging_utils import safety

    need(safety, "_AutologgingSessionManager", "AutologgingSession", label="mlflow.utils.autologging_utils.safety")
    manager = getattr(safety, "_AutologgingSessionManager", None)
    need(manager, "start_session", "astart_session", "active_session", "_end_session", label="_AutologgingSessionManager")
    problems += _signature_problems(getattr(safety, "AutologgingSession", None), "AutologgingSession",
                                    ["integration", "id_"])  # fmt: skip
    # llmops' batch endpoint inside `mlflow server --app-name llmops` (batch.py).
    need(mlflow.entities.Trace, "from_dict", "to_dict", label="mlflow.entities.Trace")
    try:
        from mlflow import environment_variables
        from mlflow.server import fastapi_app, handlers
    except ImportError as exc:
        problems.append(f"cannot import the server modules ({exc})")
    else:
        need(handlers, "_get_tracking_store", label="mlflow.server.handlers")
        need(fastapi_app, "create_fastapi_app", label="mlflow.server.fastapi_app")
        need(environment_variables, "_MLFLOW_SGI_NAME", label="mlflow.environment_variables")
    try:  # ... and inside MLflow's basic-auth app (`--app-name llmops-basic-auth`)
        from mlflow.server import auth
        from mlflow.server.auth import permissions
    except ImportError as exc:
        problems.append(f"cannot import mlflow.server.auth (the mlflow[auth] extra) ({exc})")
    else:
        need(auth, "BEFORE_REQUEST_VALIDATORS", "_authorize_create_in_experiment_as", "create_app", "store",
             label="mlflow.server.auth")  # fmt: skip
        need(permissions, "RESOURCE_TYPE_TRACE", label="mlflow.server.auth.permissions")
        problems += _signature_problems(
            getattr(auth, "_authorize_create_in_experiment_as", None), "_authorize_create_in_experiment_as",
            ["username", "experiment_id", "created_type"],
        )  # fmt: skip
    if problems:
        raise MlflowShapeError(_shape_message(problems))


def _shape_message(problems: list[str]) -> str:
    return (
        f"llmops.mlflow_internals.trace_writing mirrors MLflow {MLFLOW_VERSION_CHECKED}, but the installed MLflow "
        f"{mlflow.__version__} differs: " + "; ".join(problems) + ". Update trace_writing.py to the new shapes "
        "(or pin mlflow to the version above)."
    )

