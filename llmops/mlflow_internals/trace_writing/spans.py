"""MLflow's span processor, exporter and tracer provider, the in-memory trace manager, and MLflow's own
trace-by-trace client calls: the plumbing that hands each finished trace to llmops' writer."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import mlflow
import mlflow.tracing.provider as _provider
from mlflow.entities import Trace
from mlflow.entities.model_registry import PromptVersion
from mlflow.exceptions import RestException
from mlflow.tracing.client import TracingClient
from mlflow.tracing.constant import SpansLocation, TraceTagKey
from mlflow.tracing.export.mlflow_v3 import MlflowV3SpanExporter
from mlflow.tracing.processor.mlflow_v3 import MlflowV3SpanProcessor
from mlflow.tracing.trace_manager import InMemoryTraceManager
from mlflow.tracing.utils import add_size_stats_to_trace_metadata, maybe_get_request_id
from mlflow.utils.workspace_context import ServerWorkspaceContext


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


def active_experiment_id() -> str | None:
    """The experiment fluent MLflow calls use now, without the query ``set_experiment`` costs."""
    from mlflow.tracking.fluent import _get_experiment_id

    return _get_experiment_id()


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


def per_context_autolog_sessions() -> None:
    """Give each thread (and asyncio task) its own autologging session instead of one shared by the process.

    MLflow 3.17 keeps the active autologging session in a class attribute. When several threads run autologged
    code at once (``llmops analyze -c 4``), one thread ends the session another is checking, between
    ``active_session() is not None`` and ``active_session().state``: the call fails with ``AttributeError:
    'NoneType' object has no attribute 'state'`` (seen once in 345 comments). A context variable keeps MLflow's
    rule (the outermost patched call opens and ends the session) per thread of execution.
    """
    import contextvars
    import uuid
    from contextlib import asynccontextmanager, contextmanager

    try:
        from mlflow.utils.autologging_utils import safety
    except ImportError:
        return
    manager = getattr(safety, "_AutologgingSessionManager", None)
    if manager is None or getattr(manager, "_llmops_per_context", False):
        return
    current: contextvars.ContextVar[Any] = contextvars.ContextVar("llmops_autologging_session", default=None)

    @contextmanager
    def start_session(cls, integration):
        previous = current.get()
        if previous is None:
            current.set(safety.AutologgingSession(integration, uuid.uuid4().hex))
        try:
            yield current.get()
        finally:
            if previous is None:
                current.set(None)

    @asynccontextmanager
    async def astart_session(cls, integration):
        with start_session(cls, integration) as session:
            yield session

    manager.start_session = classmethod(start_session)
    manager.astart_session = classmethod(astart_session)
    manager.active_session = classmethod(lambda cls: current.get())
    manager._end_session = classmethod(lambda cls: current.set(None))
    manager._llmops_per_context = True


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

