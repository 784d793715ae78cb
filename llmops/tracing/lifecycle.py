"""``setup()``: point MLflow at the project's store, turn on autologging, redaction, cost and lossless export.

MLflow's tracing state is process-global and MLflow rebuilds it on its own: ``mlflow.set_tracking_uri``
resets the tracer provider *and* the ``mlflow.tracing.configure`` span processors, ``set_experiment``
resets the provider. So setup does not install a processor once and hope; it

* replaces the factory MLflow calls every time it (re)builds its tracer provider
  (``mlflow.tracing.provider._get_mlflow_span_processor``) with one that returns MLflow's processor
  wired to the lossless exporter (or MLflow's default exporter with ``lossless=False``), for whatever
  tracking URI is current;
* registers one span hook (redaction + cost) with ``mlflow.tracing.configure`` and re-registers it from
  the processor whenever a span starts and finds it missing (after a config reset, or a user's own
  ``configure(span_processors=[...])`` replaced the list).

Calling ``setup()`` again with the same arguments does nothing; with another tracking URI or experiment it
re-points, and traces already queued still go to the store they were made for.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from llmops.tracing.cost import Price, record_trace_cost, reset_prices, set_prices
from llmops.tracing.redaction import redact_span

if TYPE_CHECKING:
    from llmops.tracing.exporter import WriterStats

_logger = logging.getLogger(__name__)

_LOCK = threading.RLock()


@dataclass(frozen=True)
class TracingSetup:
    """What :func:`setup` configured."""

    tracking_uri: str
    experiment_name: str
    experiment_id: str
    lossless: bool
    redaction: bool
    autolog: bool


@dataclass
class _State:
    installed: bool = False
    lossless: bool = True
    redaction: bool = True
    autologged: bool = False
    original_factory: Any = None
    writer: Any = None
    current: TracingSetup | None = None
    atexit_registered: bool = False
    queue_args: tuple[int, int, float | None] = (10_000, 200, 60.0)


_STATE = _State()


# ---------------------------------------------------------------------------------------------------------
# The span hook and the processor factory
# ---------------------------------------------------------------------------------------------------------


def _llmops_span_hook(span):  # one positional parameter: mlflow.tracing.configure checks the arity
    """Runs in ``LiveSpan.end()`` before export: redact (unless disabled), then price the trace at its root."""
    if _STATE.redaction:
        redact_span(span)
    record_trace_cost(span)


def _ensure_span_hook() -> None:
    from mlflow.tracing.config import get_config

    if _llmops_span_hook in get_config().span_processors:  # the hot path: every span start
        return
    with _LOCK:
        config = get_config()
        if _llmops_span_hook not in config.span_processors:
            # Appended after the user's own processors, so ours sees (and cleans) what theirs added.
            config.span_processors = [*config.span_processors, _llmops_span_hook]


def _remove_span_hook() -> None:
    from mlflow.tracing.config import get_config

    config = get_config()
    config.span_processors = [p for p in config.span_processors if p is not _llmops_span_hook]


def _processor_class() -> type:
    from mlflow.tracing.processor.mlflow_v3 import MlflowV3SpanProcessor

    global _PROCESSOR_CLASS
    if _PROCESSOR_CLASS is None:

        class LlmopsSpanProcessor(MlflowV3SpanProcessor):
            """MLflow's V3 processor that re-arms the llmops span hook whenever a span starts.

            Checked on every span, not only roots (a list lookup): a ``configure(span_processors=...)``
            made in the middle of a trace must not let the following spans through unredacted.
            """

            def on_start(self, span: Any, parent_context: Any = None) -> None:
                if _STATE.installed:
                    _ensure_span_hook()
                super().on_start(span, parent_context)

        _PROCESSOR_CLASS = LlmopsSpanProcessor
    return _PROCESSOR_CLASS


_PROCESSOR_CLASS: type | None = None


def _span_processor_factory(tracking_uri: str) -> Any:
    """Stands in for ``mlflow.tracing.provider._get_mlflow_span_processor`` (same signature)."""
    from mlflow.environment_variables import MLFLOW_USE_BATCH_SPAN_PROCESSOR
    from mlflow.tracing.export.mlflow_v3 import MlflowV3SpanExporter
    from mlflow.tracing.utils.otlp import should_export_otlp_metrics
    from mlflow.utils.uri import is_databricks_uri

    from llmops.tracing.exporter import LosslessSpanExporter

    processor_class = _processor_class()
    if _STATE.lossless and not is_databricks_uri(tracking_uri):
        exporter = LosslessSpanExporter(tracking_uri, _writer())
        return processor_class(span_exporter=exporter, export_metrics=should_export_otlp_metrics())
    exporter = MlflowV3SpanExporter(tracking_uri=tracking_uri)
    return processor_class(
        span_exporter=exporter,
        export_metrics=should_export_otlp_metrics(),
        use_batch_processor=MLFLOW_USE_BATCH_SPAN_PROCESSOR.get() and exporter._is_async_enabled,
    )


def _writer() -> Any:
    from llmops.tracing.exporter import TraceWriter

    if _STATE.writer is None:
        max_queue, batch_size, block_timeout = _STATE.queue_args
        _STATE.writer = TraceWriter(max_queue=max_queue, batch_size=batch_size, block_timeout=block_timeout)
    return _STATE.writer


def _rebuild_tracer_provider() -> None:
    """Make the next span rebuild MLflow's tracer provider (through our factory); flushes the old one."""
    from mlflow.tracing.provider import is_tracing_enabled, provider

    if provider.once._done and is_tracing_enabled():
        provider.reset()


# ---------------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------------


def setup(
    tracking_uri: str | None = None,
    experiment: str | None = None,
    *,
    lossless: bool = True,
    redaction: bool = True,
    autolog: bool = True,
    prices: Mapping[str, Price | tuple[float, ...]] | None = None,
    max_queue: int = 10_000,
    batch_size: int = 200,
    block_timeout: float | None = 60.0,
) -> TracingSetup:
    """Configure tracing for this process; safe to call many times.

    Args:
        tracking_uri: Where traces go; defaults to ``get_settings().tracking_uri``.
        experiment: Experiment name; defaults to ``get_settings().experiment_name``.
        lossless: Store every trace through a bounded queue and batched writes (default). ``False`` keeps
            MLflow's default asynchronous export, which can drop traces under load.
        redaction: Mask PII and secrets in every span before it is stored (default on).
        autolog: Enable ``mlflow.openai.autolog()`` and ``mlflow.langchain.autolog()`` (once per process).
        prices: Extra or overriding model prices, USD per 1M tokens: ``{"my-model": (0.3, 1.2)}``.
        max_queue: Finished traces that may wait for the writer before callers are made to wait.
        batch_size: Most traces written per database transaction.
        block_timeout: How long a caller waits for room in a full queue before the trace is dropped
            (counted and logged); ``None`` waits forever.
    """
    from llmops.settings import get_settings

    settings = get_settings()
    uri = tracking_uri or settings.tracking_uri
    experiment_name = experiment or settings.experiment_name

    import mlflow
    import mlflow.tracing.provider as provider_module

    with _LOCK:
        previous = _STATE.current
        rebuild = not _STATE.installed or _STATE.lossless != lossless
        if not _STATE.installed:
            _STATE.original_factory = provider_module._get_mlflow_span_processor
            provider_module._get_mlflow_span_processor = _span_processor_factory
            _STATE.installed = True
        _STATE.lossless = lossless
        _STATE.redaction = redaction

        queue_args = (max_queue, batch_size, block_timeout)
        if queue_args != _STATE.queue_args:
            _STATE.queue_args = queue_args
            if _STATE.writer is not None:
                _STATE.writer.max_queue, _STATE.writer.batch_size, _STATE.writer.block_timeout = queue_args
        if prices:
            set_prices(prices)

        if mlflow.get_tracking_uri() != uri:
            # Resets MLflow's tracer provider and tracing config; both come back through our hooks.
            mlflow.set_tracking_uri(uri)
        experiment_id = _ensure_experiment(experiment_name, uri, previous)
        _ensure_span_hook()
        if rebuild:
            _rebuild_tracer_provider()

        if autolog and not _STATE.autologged:
            _enable_autolog()
            _STATE.autologged = True

        if not _STATE.atexit_registered:
            # Registered after mlflow's own exit hooks, so it runs before them (atexit is LIFO) while the
            # store is still usable.
            atexit.register(_flush_at_exit)
            _STATE.atexit_registered = True

        _STATE.current = TracingSetup(
            tracking_uri=uri,
            experiment_name=experiment_name,
            experiment_id=experiment_id,
            lossless=lossless,
            redaction=redaction,
            autolog=_STATE.autologged,
        )
        return _STATE.current


def _ensure_experiment(name: str, uri: str, previous: TracingSetup | None) -> str:
    import mlflow
    from mlflow.tracking.fluent import _get_experiment_id

    # set_experiment() resets the tracer provider and costs a query: skip it when nothing changed.
    if previous is not None and previous.tracking_uri == uri and previous.experiment_name == name:
        if _get_experiment_id() == previous.experiment_id:
            return previous.experiment_id
    return mlflow.set_experiment(name).experiment_id


def _enable_autolog() -> None:
    import mlflow

    for flavor in ("openai", "langchain"):
        try:
            getattr(mlflow, flavor).autolog()
        except Exception as exc:  # a missing optional library must not break tracing setup
            _logger.warning("llmops tracing: mlflow.%s.autolog() failed: %s", flavor, exc)
    _one_span_per_model_call()


def _one_span_per_model_call() -> None:
    """Keep the OpenAI autolog from recording a model call that an enclosing model span already records.

    LangChain's ``ChatOpenAI`` calls the ``openai`` client: with both autologs on, every call would show as a
    ``ChatOpenAI`` span holding a ``Completions`` span with the same messages, tools, answer and token usage
    (a third of a trace's bytes, and two "LLM calls" for one). When the active span is already a
    CHAT_MODEL/LLM span, the OpenAI autolog's span is replaced by MLflow's no-op span; a direct ``openai``
    call (no enclosing model span) is traced as before. On an MLflow without this internal hook nothing
    changes (both spans stay).
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
    import mlflow

    model_spans = (SpanType.CHAT_MODEL, SpanType.LLM)

    def _start_span(instance, inputs, run_id):
        parent = mlflow.get_current_active_span()
        if parent is not None and parent.span_type in model_spans:
            return NoOpSpan()
        return original(instance, inputs, run_id)

    _start_span._llmops_wrapped = True  # type: ignore[attr-defined]
    openai_autolog._start_span = _start_span


def current() -> TracingSetup | None:
    """What the last :func:`setup` configured, or None."""
    return _STATE.current


def flush(timeout: float | None = 60.0) -> bool:
    """Block until every finished trace is in the store; True if everything was written in time.

    Cheap when nothing is pending (no thread round trip). With ``lossless=False`` this drains MLflow's own
    asynchronous queues instead (which costs ~1-2 s even when empty).
    """
    ok = True
    if _STATE.writer is not None:
        ok = _STATE.writer.flush(timeout)
    if _STATE.installed and not _STATE.lossless:
        import mlflow

        mlflow.flush_trace_async_logging()
    return ok


def stats() -> WriterStats:
    """Counters of the lossless writer since the process started: submitted, stored, dropped, failed,
    pending, blocked (times a caller had to wait for room in the queue)."""
    from llmops.tracing.exporter import WriterStats

    if _STATE.writer is None:
        return WriterStats(submitted=0, stored=0, dropped=0, failed=0, pending=0, blocked=0)
    return _STATE.writer.stats()


def _flush_at_exit() -> None:
    writer = _STATE.writer
    if writer is None:
        return
    timeout = float(os.environ.get("LLMOPS_TRACE_EXIT_FLUSH_TIMEOUT", "120"))
    if not writer.flush(timeout):
        pending = writer.stats().pending
        _logger.error("llmops tracing: %d trace(s) still unwritten at exit after %.0f s", pending, timeout)
    final = writer.stats()
    if final.lost:
        _logger.error(
            "llmops tracing: this process LOST %d trace(s) (%d dropped on a full queue, %d refused by the store)",
            final.lost,
            final.dropped,
            final.failed,
        )


def reset() -> None:
    """Undo :func:`setup` (for tests): flush, restore MLflow's factory and config, disable our autologs."""
    import mlflow
    import mlflow.tracing.provider as provider_module

    with _LOCK:
        if _STATE.writer is not None:
            _STATE.writer.flush(60)
            _STATE.writer.reset_backends()
        if _STATE.installed:
            provider_module._get_mlflow_span_processor = _STATE.original_factory
            _remove_span_hook()
            _rebuild_tracer_provider()
        if _STATE.autologged:
            for flavor in ("openai", "langchain"):
                try:
                    getattr(mlflow, flavor).autolog(disable=True)
                except Exception:
                    pass
        reset_prices()
        writer = _STATE.writer
        if writer is not None:
            # The writer outlives reset(); so must not a setup's queue limits (max_queue=1 would drop traces
            # for every later setup() that asks for the defaults, which would see nothing to change).
            writer.max_queue, writer.batch_size, writer.block_timeout = _State().queue_args
        registered = _STATE.atexit_registered
        _STATE.__dict__.update(replace(_State(), writer=writer, atexit_registered=registered).__dict__)
