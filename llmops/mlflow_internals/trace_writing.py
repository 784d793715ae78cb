"""Every use of MLflow's private internals on the writing side of tracing, checked against one MLflow version.

What llmops needs that MLflow's public API does not give:

* the span processor and exporter classes (to hand each finished trace to llmops' writer instead of MLflow's
  lossy asynchronous queues), the tracer-provider factory they are built by, and the in-memory trace manager
  (redaction and cost edit a trace before it is exported);
* the SQL store's tables and helpers (many traces per transaction on SQLite/PostgreSQL/MySQL);
* the tracking server's REST and OTLP messages (many traces per request through ``mlflow server``).

Everything here mirrors MLflow ``MLFLOW_VERSION_CHECKED``; :func:`check_shapes` raises
:class:`MlflowShapeError` naming what differs in the installed MLflow.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import mlflow
import mlflow.tracing.provider as _provider
from mlflow.entities import Trace
from mlflow.entities.model_registry import PromptVersion
from mlflow.entities.trace_data import TraceData
from mlflow.exceptions import RestException
from mlflow.tracing.client import TracingClient
from mlflow.tracing.constant import (
    SpanAttributeKey,
    SpansLocation,
    TraceMetadataKey,
    TraceSizeStatsKey,
    TraceTagKey,
)
from mlflow.tracing.export.mlflow_v3 import MlflowV3SpanExporter
from mlflow.tracing.processor.mlflow_v3 import MlflowV3SpanProcessor
from mlflow.tracing.trace_manager import InMemoryTraceManager
from mlflow.tracing.utils import add_size_stats_to_trace_metadata, maybe_get_request_id
from mlflow.utils.workspace_context import ServerWorkspaceContext

from llmops.mlflow_internals import MLFLOW_VERSION_CHECKED

_logger = logging.getLogger(__name__)


class MlflowShapeError(RuntimeError):
    """The installed MLflow differs from the version llmops' private-API code mirrors."""


# ---------------------------------------------------------------------------------------------------------
# Span processor, exporter, tracer provider, in-memory traces
# ---------------------------------------------------------------------------------------------------------


def in_evaluation() -> bool:
    """True inside ``mlflow.genai.evaluate`` (its harness reads each trace back right after the call)."""
    return bool(maybe_get_request_id(is_evaluate=True))


@contextlib.contextmanager
def in_memory_trace(trace_id: str) -> Iterator[Any]:
    """The trace MLflow is still assembling in memory (``.info``, ``.span_dict``), or None."""
    with InMemoryTraceManager.get_instance().get_trace(trace_id) as trace:
        yield trace


class LosslessSpanExporter(MlflowV3SpanExporter):
    """MLflow's exporter, except that each finished trace goes to ``submit(tracking_uri, trace, prompts,
    workspace)`` instead of MLflow's per-span and per-trace asynchronous tasks.

    Everything up to "a finished trace" is MLflow's code (deferred roots when background spans are still
    open, evaluation request ids, notebook display). ``_async_queue`` is the llmops queue, so MLflow's own
    ``mlflow.flush_trace_async_logging()`` / ``search_traces(flush=True)`` wait for it too.
    """

    def __init__(self, tracking_uri: str | None, submit: Callable[..., Any], queue: Any) -> None:
        super().__init__(tracking_uri)
        self._submit = submit
        self._async_queue = queue

    def _should_enable_async_logging(self) -> bool:
        # The parent would build MLflow's AsyncTraceExportQueue (and an atexit hook) never used here.
        return False

    def export(self, spans: Sequence[Any]) -> None:
        if in_evaluation():
            super().export(spans)  # synchronous, MLflow's own path
            return
        self._export_traces(spans)

    def _log_trace(self, trace: Trace, prompts: Sequence[PromptVersion], workspace: str | None = None) -> None:
        if in_evaluation():
            super()._log_trace(trace, prompts, workspace)
            return
        self._submit(self._client.tracking_uri, trace, tuple(prompts or ()), workspace)


_PROCESSOR_CLASSES: dict[Callable[[], None], type] = {}


def _processor_class(before_start: Callable[[], None]) -> type:
    cls = _PROCESSOR_CLASSES.get(before_start)
    if cls is None:

        class LlmopsSpanProcessor(MlflowV3SpanProcessor):
            def on_start(self, span: Any, parent_context: Any = None) -> None:
                before_start()
                super().on_start(span, parent_context)

        cls = _PROCESSOR_CLASSES[before_start] = LlmopsSpanProcessor
    return cls


def span_processor(exporter: Any, before_start: Callable[[], None]) -> Any:
    """MLflow's V3 span processor around ``exporter``, calling ``before_start()`` as every span starts."""
    from mlflow.tracing.utils.otlp import should_export_otlp_metrics

    return _processor_class(before_start)(span_exporter=exporter, export_metrics=should_export_otlp_metrics())


def default_span_processor(tracking_uri: str, before_start: Callable[[], None]) -> Any:
    """What MLflow builds by default (its asynchronous exporter), with the ``before_start`` hook."""
    from mlflow.environment_variables import MLFLOW_USE_BATCH_SPAN_PROCESSOR
    from mlflow.tracing.utils.otlp import should_export_otlp_metrics

    exporter = MlflowV3SpanExporter(tracking_uri=tracking_uri)
    return _processor_class(before_start)(
        span_exporter=exporter,
        export_metrics=should_export_otlp_metrics(),
        use_batch_processor=MLFLOW_USE_BATCH_SPAN_PROCESSOR.get() and exporter._is_async_enabled,
    )


def install_processor_factory(factory: Callable[[str], Any]) -> Callable[[str], Any]:
    """Make MLflow build its span processor with ``factory(tracking_uri)``; returns the factory replaced."""
    original = _provider._get_mlflow_span_processor
    _provider._get_mlflow_span_processor = factory
    return original


def rebuild_tracer_provider() -> None:
    """Make the next span rebuild MLflow's tracer provider (through the factory); flushes the old one."""
    if _provider.provider.once._done and _provider.is_tracing_enabled():
        _provider.provider.reset()


def span_hooks() -> list[Any]:
    """The span processors registered with ``mlflow.tracing.configure`` (a live list: do not mutate)."""
    from mlflow.tracing.config import get_config

    return get_config().span_processors


def set_span_hooks(hooks: list[Any]) -> None:
    from mlflow.tracing.config import get_config

    get_config().span_processors = hooks


def skip_nested_openai_model_spans() -> None:
    """Keep the OpenAI autolog from opening a span when the active span is already a model span.

    LangChain's ``ChatOpenAI`` calls the ``openai`` client: with both autologs on, every call would show as a
    ``ChatOpenAI`` span holding a ``Completions`` span with the same messages and usage. On an MLflow without
    this internal hook nothing changes (both spans stay).
    """
    import importlib

    try:
        from mlflow.entities import NoOpSpan, SpanType

        # The module, not the `autolog` function that mlflow.openai exports under the same name.
        openai_autolog = importlib.import_module("mlflow.openai.autolog")
    except ImportError:
        return
    original = getattr(openai_autolog, "_start_span", None)
    if original is None or getattr(original, "_llmops_wrapped", False):
        return
    model_spans = (SpanType.CHAT_MODEL, SpanType.LLM)

    def _start_span(instance, inputs, run_id):
        parent = mlflow.get_current_active_span()
        if parent is not None and parent.span_type in model_spans:
            return NoOpSpan()
        return original(instance, inputs, run_id)

    _start_span._llmops_wrapped = True  # type: ignore[attr-defined]
    openai_autolog._start_span = _start_span


# ---------------------------------------------------------------------------------------------------------
# Trace by trace through MLflow's own client calls (any store)
# ---------------------------------------------------------------------------------------------------------


class ClientTraceWriter:
    """Exactly what MLflow's synchronous export does for one trace: spans, trace info, attachments, prompts."""

    def __init__(self, tracking_uri: str) -> None:
        self.client = TracingClient(tracking_uri)
        self.store = self.client.store
        self._supports_log_spans = True

    def write(self, trace: Trace, prompts: Sequence[PromptVersion] = (), workspace: str | None = None) -> None:
        with ServerWorkspaceContext(workspace) if workspace else contextlib.nullcontext():
            if self._supports_log_spans:
                try:
                    self.client.log_spans(trace.info.experiment_id, trace.data.spans)
                except NotImplementedError:
                    self._supports_log_spans = False
                except RestException as exc:
                    if "REST OTLP span logging is not supported" not in exc.message:
                        raise
                    self._supports_log_spans = False
            add_size_stats_to_trace_metadata(trace)
            info = self.client.start_trace(trace.info)
            if info.tags.get(TraceTagKey.SPANS_LOCATION) != SpansLocation.TRACKING_STORE.value:
                self.client._upload_trace_data(info, trace.data)
            attachments: dict[str, Any] = {}
            for span in trace.data.spans:
                attachments.update(getattr(span, "_attachments", None) or {})
            if attachments:
                self.client._upload_attachments(info, attachments)
            if prompts:
                self.client.link_prompt_versions_to_trace(trace.info.trace_id, prompts)

    def link_prompts(self, trace_id: str, prompts: Sequence[PromptVersion]) -> None:
        self.store.link_prompts_to_trace(trace_id, list(prompts))


def has_attachments(trace: Trace) -> bool:
    return any(getattr(span, "_attachments", None) for span in trace.data.spans)


# ---------------------------------------------------------------------------------------------------------
# A tracking server: REST and OTLP messages, many traces per request
# ---------------------------------------------------------------------------------------------------------


_LINK_PROMPTS_PATH = "/api/2.0/mlflow/traces/link-prompts"


class ServerReply:
    """What one request to the tracking server came back with; ``status`` 0 when no answer came at all."""

    __slots__ = ("status", "message")

    def __init__(self, status: int, message: str = "") -> None:
        self.status = status
        self.message = message

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def transient(self) -> bool:
        """Worth retrying: no answer (server down, restarting, timed out), overloaded or failing."""
        return self.status == 0 or self.status == 429 or self.status >= 500 and self.status != 501

    def __repr__(self) -> str:
        return f"HTTP {self.status}: {self.message}" if self.status else self.message


class ServerApi:
    """The tracking server's trace-ingestion endpoints, one HTTP request per call, no hidden retries.

    MLflow's client retries a refused connection for minutes inside every call; the llmops writer does its
    own bounded retries across a whole batch instead, so every call here tries once.
    """

    def __init__(self, tracking_uri: str, timeout: float = 30.0) -> None:
        from mlflow.store.tracking.rest_store import RestStore

        store = TracingClient(tracking_uri).store
        if not isinstance(store, RestStore):
            raise ValueError(f"{tracking_uri} is not an MLflow tracking server")
        self._store = store
        self.timeout = timeout

    def _request(self, endpoint: str, method: str, **kwargs: Any) -> ServerReply:
        from mlflow.utils.rest_utils import http_request

        try:
            response = http_request(
                self._store.get_host_creds(), endpoint, method, max_retries=0, backoff_factor=0,
                raise_on_status=False, timeout=self.timeout, **kwargs,
            )  # fmt: skip
        except Exception as exc:
            reason = str(exc)
            if "Connection refused" in reason or "ConnectionRefused" in reason:
                reason = "connection refused"
            elif "timed out" in reason.lower() or "timeout" in reason.lower():
                reason = f"no answer within {self.timeout:.0f} s"
            elif len(reason) > 200:
                reason = reason[:200] + "…"
            return ServerReply(0, reason)
        if response.status_code == 200:
            return ServerReply(200)
        try:
            message = response.json().get("message") or response.json().get("detail") or response.text
        except ValueError:
            message = response.text
        return ServerReply(response.status_code, str(message)[:300])

    def probe(self, experiment_name: str) -> ServerReply:
        """One cheap authenticated read: is the server there, and does it accept these credentials?"""
        reply = self._request(
            "/api/2.0/mlflow/experiments/get-by-name", "GET", params={"experiment_name": experiment_name}
        )
        return ServerReply(200) if reply.status == 404 else reply  # unknown experiment: server and auth fine

    def start_trace(self, trace: Trace) -> ServerReply:
        """``StartTraceV3``: the trace's info (tags, metadata, previews, assessments), no spans."""
        from mlflow.protos.service_pb2 import StartTraceV3
        from mlflow.utils.proto_json_utils import message_to_json
        from mlflow.utils.rest_utils import _V3_TRACE_REST_API_PATH_PREFIX

        body = message_to_json(StartTraceV3(trace=Trace(info=trace.info, data=TraceData(spans=[])).to_proto()))
        return self._request(_V3_TRACE_REST_API_PATH_PREFIX, "POST", json=json.loads(body))

    def log_spans(self, experiment_id: str, spans: Sequence[Any]) -> ServerReply:
        """The OTLP endpoint: the spans of many traces in one protobuf request, stored in one transaction."""
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        from mlflow.tracing.utils.otlp import MLFLOW_EXPERIMENT_ID_HEADER, OTLP_TRACES_PATH, resource_to_otel_proto

        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.CopyFrom(resource_to_otel_proto(getattr(spans[0]._span, "resource", None)))
        resource_spans.scope_spans.add().spans.extend(span.to_otel_proto() for span in spans)
        return self._request(
            OTLP_TRACES_PATH, "POST", data=request.SerializeToString(),
            extra_headers={"Content-Type": "application/x-protobuf", MLFLOW_EXPERIMENT_ID_HEADER: experiment_id},
        )  # fmt: skip

    def link_prompts(self, trace_id: str, prompts: Sequence[PromptVersion]) -> ServerReply:
        from mlflow.protos.service_pb2 import LinkPromptsToTrace
        from mlflow.utils.proto_json_utils import message_to_json

        refs = [LinkPromptsToTrace.PromptVersionRef(name=p.name, version=str(p.version)) for p in prompts]
        body = message_to_json(LinkPromptsToTrace(trace_id=trace_id, prompt_versions=refs))
        return self._request(_LINK_PROMPTS_PATH, "POST", json=json.loads(body))


def add_size_stats(trace: Trace) -> None:
    """The ``mlflow.trace.sizeBytes`` / ``sizeStats`` metadata MLflow's exporter adds before ``start_trace``."""
    add_size_stats_to_trace_metadata(trace)


def is_tracking_server(tracking_uri: str) -> bool:
    return tracking_uri.startswith(("http://", "https://"))


# ---------------------------------------------------------------------------------------------------------
# A SQL tracking store: many traces per transaction
# ---------------------------------------------------------------------------------------------------------

_CHECKED_MINOR = MLFLOW_VERSION_CHECKED.rsplit(".", 1)[0] + "."


class SqlBatchWriter:
    """Many traces per transaction on an MLflow SQL store, producing the rows ``start_trace`` followed
    by ``log_spans`` produce, with a few multi-row INSERTs instead of ~40 ORM statements per trace.

    It mirrors MLflow 3.17's ``SqlAlchemyStore.start_trace`` / ``_log_spans_once`` and reuses their
    helpers (span translation, analytics columns, artifact-location tag, rollup invalidation), so it is
    only enabled on that minor version; ``tests/tracing`` compares traces written both ways.
    """

    def __init__(self, store: Any) -> None:
        from mlflow.store.db.db_types import MSSQL

        self.store = store
        self.ensure_ascii = store.db_type == MSSQL
        self._experiments: dict[str, Any] = {}
        self._artifact_templates: dict[str, tuple[str, str]] = {}

    @classmethod
    def for_store(cls, store: Any) -> SqlBatchWriter | None:
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        if not isinstance(store, SqlAlchemyStore) or not mlflow.__version__.startswith(_CHECKED_MINOR):
            return None
        if store.db_type not in ("sqlite", "postgresql", "mysql"):
            return None
        return cls(store)

    @staticmethod
    def accepts(trace: Trace, workspace: str | None) -> bool:
        # Rare shapes go through MLflow's own calls: assessments attached before export, attachments
        # (uploaded to the artifact store), remote-workspace writes.
        return not (trace.info.assessments or workspace or has_attachments(trace))

    def _experiment(self, experiment_id: str) -> Any:
        experiment = self._experiments.get(experiment_id)
        if experiment is None:
            experiment = self.store.get_experiment(experiment_id)
            self.store._check_experiment_is_active(experiment)
            self._experiments[experiment_id] = experiment
        return experiment

    def _artifact_location_tag(self, experiment: Any, trace_id: str) -> dict[str, str]:
        # The store builds "<experiment artifacts>/traces/<trace id>/artifacts" with URI parsing per trace;
        # build it once per experiment with a placeholder id and substitute.
        template = self._artifact_templates.get(experiment.experiment_id)
        if template is None:
            tag = self.store._get_trace_artifact_location_tag(experiment, "tr-LLMOPSPLACEHOLDER")
            template = self._artifact_templates[experiment.experiment_id] = (tag.key, tag.value)
        key, value = template
        return {key: value.replace("tr-LLMOPSPLACEHOLDER", trace_id)}

    def write(self, traces: list[Trace]) -> None:
        from mlflow.store.tracking.dbmodels.models import SqlSpan, SqlTraceInfo, SqlTraceMetadata, SqlTraceTag
        from mlflow.store.tracking.utils.sql_trace_rollups import (
            RollupFamily,
            enqueue_rollup_rebuild_partitions,
        )

        trace_rows: list[dict[str, Any]] = []
        tag_rows: list[dict[str, Any]] = []
        metadata_rows: list[dict[str, Any]] = []
        span_rows: list[dict[str, Any]] = []
        trace_days: dict[int, list[int]] = {}
        span_days: dict[int, list[int]] = {}
        for trace in traces:
            experiment_id = int(trace.info.experiment_id)
            rows = self._rows_for(trace, self._experiment(str(experiment_id)))
            trace_rows.append(rows[0])
            tag_rows.extend(rows[1])
            metadata_rows.extend(rows[2])
            span_rows.extend(rows[3])
            trace_days.setdefault(experiment_id, []).append(rows[0]["timestamp_ms"])
            span_days.setdefault(experiment_id, []).extend(r["start_time_unix_nano"] // 1_000_000 for r in rows[3])

        partitions: list[tuple[Any, int, list[int]]] = []
        for experiment_id, stamps in trace_days.items():
            partitions.append((RollupFamily.TRACE_METRIC, experiment_id, stamps))
            partitions.append((RollupFamily.ASSESSMENT, experiment_id, stamps))
            partitions.append((RollupFamily.SPAN_COST, experiment_id, span_days.get(experiment_id, [])))

        with self.store.ManagedSessionMaker(read_only=False) as session:
            # Same lock order as MLflow's writers: the rollup rebuild queue first, then source rows.
            enqueue_rollup_rebuild_partitions(session, partitions)
            session.execute(SqlTraceInfo.__table__.insert(), trace_rows)
            if tag_rows:
                session.execute(SqlTraceTag.__table__.insert(), tag_rows)
            if metadata_rows:
                session.execute(SqlTraceMetadata.__table__.insert(), metadata_rows)
            if span_rows:
                session.execute(SqlSpan.__table__.insert(), span_rows)

    def _rows_for(
        self, trace: Trace, experiment: Any
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        from mlflow.store.tracking.sqlalchemy_store import _span_aggregation_node, _try_parse_json_string
        from mlflow.store.tracking.utils.trace_analytics import (
            COST_COLUMN_BY_KEY,
            PROMOTED_TRACE_METADATA_KEYS,
            TOKEN_COLUMN_BY_KEY,
            analytics_columns_from_metadata,
            bounded_model_dimension,
            finite_float_or_none,
            token_count_or_none,
            validate_session_id,
            validate_trace_name,
        )
        from mlflow.tracing.utils import (
            TraceJSONEncoder,
            _calculate_percentile,
            aggregate_cost_from_span_nodes,
            aggregate_usage_from_span_nodes,
        )

        info = trace.info
        trace_id = info.trace_id
        experiment_id = int(info.experiment_id)

        span_rows: list[dict[str, Any]] = []
        usage_nodes, cost_nodes, span_sizes = [], [], []
        span_session = span_user = None
        for span in trace.data.spans:
            span_dict = translate_for_storage(span)
            attributes = span_dict.get("attributes", {})
            usage_nodes.append(
                _span_aggregation_node(span.span_id, span.parent_id, attributes, SpanAttributeKey.CHAT_USAGE)
            )
            cost_nodes.append(
                _span_aggregation_node(span.span_id, span.parent_id, attributes, SpanAttributeKey.LLM_COST)
            )
            if attributes:
                if span_session is None and (
                    value := attributes.get(SpanAttributeKey.SESSION_ID) or attributes.get("gen_ai.conversation.id")
                ):
                    span_session = _try_parse_json_string(value)
                if span_user is None and (value := attributes.get("user.id")):
                    span_user = _try_parse_json_string(value)
            content = json.dumps(span_dict, cls=TraceJSONEncoder, ensure_ascii=self.ensure_ascii)
            span_sizes.append(len(content.encode("utf-8")))
            cost_values: dict[str, Any] = {}
            if raw_cost := attributes.get(SpanAttributeKey.LLM_COST):
                with contextlib.suppress(TypeError, ValueError):
                    cost_values = json.loads(raw_cost)
            span_rows.append(
                {
                    "trace_id": trace_id,
                    "experiment_id": experiment_id,
                    "span_id": span.span_id,
                    "parent_span_id": span.parent_id,
                    "name": span.name,
                    "type": span.span_type,
                    "status": span.status.status_code,
                    "start_time_unix_nano": span.start_time_ns,
                    "end_time_unix_nano": span.end_time_ns,
                    "content": content,
                    "input_cost": finite_float_or_none(cost_values.get("input_cost")),
                    "output_cost": finite_float_or_none(cost_values.get("output_cost")),
                    "total_cost": finite_float_or_none(cost_values.get("total_cost")),
                    "model_name": bounded_model_dimension(
                        _try_parse_json_string(attributes.get(SpanAttributeKey.MODEL))
                    ),
                    "model_provider": bounded_model_dimension(
                        _try_parse_json_string(attributes.get(SpanAttributeKey.MODEL_PROVIDER))
                    ),
                }
            )

        metadata = dict(info.trace_metadata)
        if span_sizes:
            # add_size_stats_to_trace_metadata() re-serialises every span and the trace info; the stored
            # span sizes are known here, and the info part is estimated from its tags and metadata.
            sizes = sorted(span_sizes)
            info_size = 200 + sum(len(k) + len(v) + 6 for k, v in (*info.tags.items(), *metadata.items()))
            total = sum(sizes) + info_size + 2 * (len(sizes) - 1)
            metadata[TraceMetadataKey.SIZE_STATS] = json.dumps(
                {
                    TraceSizeStatsKey.TOTAL_SIZE_BYTES: total,
                    TraceSizeStatsKey.NUM_SPANS: len(sizes),
                    TraceSizeStatsKey.MAX_SPAN_SIZE_BYTES: sizes[-1],
                    TraceSizeStatsKey.P25_SPAN_SIZE_BYTES: int(_calculate_percentile(sizes, 0.25)),
                    TraceSizeStatsKey.P50_SPAN_SIZE_BYTES: int(_calculate_percentile(sizes, 0.50)),
                    TraceSizeStatsKey.P75_SPAN_SIZE_BYTES: int(_calculate_percentile(sizes, 0.75)),
                }
            )
            metadata[TraceMetadataKey.SIZE_BYTES] = str(total)

        # start_trace(): analytics columns come from the metadata the processor aggregated...
        columns: dict[str, Any] = {
            column: None for column in (*TOKEN_COLUMN_BY_KEY.values(), *COST_COLUMN_BY_KEY.values())
        }
        columns["session_id"] = None
        columns.update(analytics_columns_from_metadata(metadata))
        # ...and log_spans() fills what start_trace did not provide from the stored spans.
        if columns["session_id"] is None and span_session:
            columns["session_id"] = validate_session_id(span_session)
        if all(columns[c] is None for c in TOKEN_COLUMN_BY_KEY.values()):
            for key, value in (aggregate_usage_from_span_nodes(usage_nodes) or {}).items():
                if key in TOKEN_COLUMN_BY_KEY:
                    columns[TOKEN_COLUMN_BY_KEY[key]] = token_count_or_none(value)
        if all(columns[c] is None for c in COST_COLUMN_BY_KEY.values()):
            for key, value in (aggregate_cost_from_span_nodes(cost_nodes) or {}).items():
                if key in COST_COLUMN_BY_KEY:
                    columns[COST_COLUMN_BY_KEY[key]] = finite_float_or_none(value)
        if span_user and TraceMetadataKey.TRACE_USER not in metadata:
            metadata[TraceMetadataKey.TRACE_USER] = str(span_user)

        trace_row = {
            "request_id": trace_id,
            "experiment_id": experiment_id,
            "timestamp_ms": info.request_time,
            "execution_time_ms": info.execution_duration,
            "status": info.state.value,
            "client_request_id": info.client_request_id,
            "request_preview": info.request_preview,
            "response_preview": info.response_preview,
            "trace_name": validate_trace_name(info.tags.get(TraceTagKey.TRACE_NAME)),
            # log_spans() bumps the DB payload generation once per span write; this is that one write.
            "db_payload_generation": 1,
            **columns,
        }

        tags = {k: v for k, v in info.tags.items() if k != TraceTagKey.TRACE_NAME}
        tags.update(self._artifact_location_tag(experiment, trace_id))
        tags[TraceTagKey.SPANS_LOCATION] = SpansLocation.TRACKING_STORE.value
        tag_rows = [{"request_id": trace_id, "key": k, "value": v} for k, v in tags.items()]

        for key in PROMOTED_TRACE_METADATA_KEYS:
            metadata.pop(key, None)
        metadata[TraceMetadataKey.TRACE_INFO_FINALIZED] = "true"
        metadata_rows = [{"request_id": trace_id, "key": k, "value": v} for k, v in sorted(metadata.items())]
        return trace_row, tag_rows, metadata_rows, span_rows


def translate_for_storage(span: Any) -> dict[str, Any]:
    """``translate_span_when_storing(span)``, minus the dozen OTel-dialect translators when they cannot apply.

    MLflow's translation tries OpenInference, GenAI semconv, Traceloop, Vercel AI... keys on every span
    (~60 us per span, most of the writer's time). Spans made by MLflow itself (``@mlflow.trace``, the
    helpers, the autologs) carry only ``mlflow.*`` attributes and no events, where those translators find
    nothing; for them only the generic steps remain: un-double-encoding, model name from the inputs or
    outputs, and the cost. ``tests/tracing`` checks the result equals MLflow's on such spans.
    """
    from mlflow.tracing.otel.translation import sanitize_attributes, translate_span_when_storing
    from mlflow.tracing.utils import calculate_cost_by_model_and_token_usage, dump_span_attribute_value

    span_dict = span.to_dict()
    raw = span_dict.get("attributes") or {}
    if span_dict.get("events") or not all(key.startswith("mlflow.") for key in raw):
        return translate_span_when_storing(span)
    attributes = sanitize_attributes(raw)
    if SpanAttributeKey.MODEL not in attributes and (model := _model_from_io(attributes)):
        attributes[SpanAttributeKey.MODEL] = dump_span_attribute_value(model)
    if (
        SpanAttributeKey.LLM_COST not in attributes
        and SpanAttributeKey.CHAT_USAGE in attributes
        and SpanAttributeKey.MODEL in attributes
    ):
        try:
            usage = json.loads(attributes[SpanAttributeKey.CHAT_USAGE])
            model_name = json.loads(attributes[SpanAttributeKey.MODEL])
            provider = attributes.get(SpanAttributeKey.MODEL_PROVIDER)
            cost = calculate_cost_by_model_and_token_usage(
                model_name, usage, json.loads(provider) if provider else None
            )
            if cost:
                attributes[SpanAttributeKey.LLM_COST] = dump_span_attribute_value(cost)
        except Exception:
            _logger.debug("cost calculation failed for span %s", span.span_id, exc_info=True)
    span_dict["attributes"] = attributes
    return span_dict


def _model_from_io(attributes: dict[str, Any]) -> str | None:
    # Same fallback as mlflow's _get_model_name(): a "model" field of the inputs, else of the outputs.
    for key in (SpanAttributeKey.INPUTS, SpanAttributeKey.OUTPUTS):
        value = attributes.get(key)
        if not value:
            continue
        try:
            value = json.loads(value) if isinstance(value, str) else value
        except ValueError:
            continue
        if isinstance(value, dict) and (model := value.get("model")):
            return model if isinstance(model, str) else None
    return None




# ---------------------------------------------------------------------------------------------------------
# The shapes all of the above relies on
# ---------------------------------------------------------------------------------------------------------

_TRACE_COLUMNS = (
    "request_id experiment_id timestamp_ms execution_time_ms status client_request_id request_preview "
    "response_preview trace_name db_payload_generation session_id"
).split()
_SPAN_COLUMNS = (
    "trace_id experiment_id span_id parent_span_id name type status start_time_unix_nano end_time_unix_nano "
    "content input_cost output_cost total_cost model_name model_provider"
).split()


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
    problems += _signature_problems(MlflowV3SpanExporter._log_trace, "MlflowV3SpanExporter._log_trace", ["trace", "prompts", "workspace"])
    problems += _signature_problems(MlflowV3SpanProcessor.on_start, "MlflowV3SpanProcessor.on_start", ["span", "parent_context"])
    need(InMemoryTraceManager, "get_instance", "get_trace", label="InMemoryTraceManager")
    need(tracing_config.get_config(), "span_processors", label="mlflow.tracing.config.get_config()")
    need(TracingClient, "_upload_trace_data", "_upload_attachments", "link_prompt_versions_to_trace", label="TracingClient")
    need(SqlAlchemyStore, "_check_experiment_is_active", "_get_trace_artifact_location_tag",
         "link_prompts_to_trace", label="SqlAlchemyStore")  # fmt: skip
    problems += _signature_problems(_span_aggregation_node, "_span_aggregation_node", ["span_id", "parent_span_id", "attributes", "attribute_key"])
    need(sql_trace_rollups, "RollupFamily", "enqueue_rollup_rebuild_partitions")
    need(getattr(sql_trace_rollups, "RollupFamily", None), "TRACE_METRIC", "ASSESSMENT", "SPAN_COST", label="RollupFamily")
    need(trace_analytics, "COST_COLUMN_BY_KEY", "PROMOTED_TRACE_METADATA_KEYS", "TOKEN_COLUMN_BY_KEY",
         "analytics_columns_from_metadata", "bounded_model_dimension", "finite_float_or_none", "token_count_or_none",
         "validate_session_id", "validate_trace_name")  # fmt: skip
    need(tracing_utils, "TraceJSONEncoder", "_calculate_percentile", "aggregate_cost_from_span_nodes",
         "aggregate_usage_from_span_nodes", "calculate_cost_by_model_and_token_usage", "dump_span_attribute_value")  # fmt: skip
    need(translation, "sanitize_attributes", "translate_span_when_storing")
    if hasattr(trace_analytics, "TOKEN_COLUMN_BY_KEY") and hasattr(trace_analytics, "COST_COLUMN_BY_KEY"):
        token = set(trace_analytics.TOKEN_COLUMN_BY_KEY.values()) | set(trace_analytics.COST_COLUMN_BY_KEY.values())
        problems += _columns_problems(dbmodels.SqlTraceInfo.__table__, set(_TRACE_COLUMNS) | token)
        problems += _columns_problems(dbmodels.SqlSpan.__table__, set(_SPAN_COLUMNS))
        for table in (dbmodels.SqlTraceTag.__table__, dbmodels.SqlTraceMetadata.__table__):
            problems += _columns_problems(table, {"request_id", "key", "value"})
    # The tracking server's ingestion API, as ServerApi sends it.
    need(otlp, "MLFLOW_EXPERIMENT_ID_HEADER", "OTLP_TRACES_PATH", "resource_to_otel_proto")
    if getattr(otlp, "OTLP_TRACES_PATH", None) != "/v1/traces":
        problems.append(f"the OTLP endpoint moved to {getattr(otlp, 'OTLP_TRACES_PATH', None)}")
    if getattr(rest_utils, "_V3_TRACE_REST_API_PATH_PREFIX", None) != RestStore._V3_METHOD_TO_INFO.get(StartTraceV3, ("",))[0]:
        problems.append("StartTraceV3 moved away from _V3_TRACE_REST_API_PATH_PREFIX")
    if RestStore._METHOD_TO_INFO.get(LinkPromptsToTrace) != (_LINK_PROMPTS_PATH, "POST"):
        problems.append(f"LinkPromptsToTrace is now {RestStore._METHOD_TO_INFO.get(LinkPromptsToTrace)}")
    need(mlflow.entities.Span, "to_otel_proto", label="mlflow.entities.Span")
    if problems:
        raise MlflowShapeError(_shape_message(problems))


def _shape_message(problems: list[str]) -> str:
    return (
        f"llmops.mlflow_internals.trace_writing mirrors MLflow {MLFLOW_VERSION_CHECKED}, but the installed MLflow "
        f"{mlflow.__version__} differs: " + "; ".join(problems) + ". Update trace_writing.py to the new shapes "
        "(or pin mlflow to the version above)."
    )
