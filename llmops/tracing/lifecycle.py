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

from llmops.errors import UserError
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
    queue_args: tuple[int, int, float | None, float] = (10_000, 200, 60.0, 60.0)
    servers_checked: frozenset[str] = frozenset()


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
    from llmops.mlflow_internals.trace_writing import set_span_hooks, span_hooks

    if _llmops_span_hook in span_hooks():  # the hot path: every span start
        return
    with _LOCK:
        hooks = span_hooks()
        if _llmops_span_hook not in hooks:
            # Appended after the user's own processors, so ours sees (and cleans) what theirs added.
            set_span_hooks([*hooks, _llmops_span_hook])


def _remove_span_hook() -> None:
    from llmops.mlflow_internals.trace_writing import set_span_hooks, span_hooks

    set_span_hooks([p for p in span_hooks() if p is not _llmops_span_hook])


def _before_span_start() -> None:
    """Re-arms the span hook as every span starts, not only roots (a list lookup): a
    ``configure(span_processors=...)`` made in the middle of a trace must not let later spans through unredacted."""
    if _STATE.installed:
        _ensure_span_hook()


def _span_processor_factory(tracking_uri: str) -> Any:
    """Stands in for MLflow's span-processor factory (same signature)."""
    from mlflow.utils.uri import is_databricks_uri

    from llmops.mlflow_internals.trace_writing import default_span_processor, span_processor
    from llmops.tracing.exporter import lossless_exporter

    if _STATE.lossless and not is_databricks_uri(tracking_uri):
        return span_processor(lossless_exporter(tracking_uri, _writer()), _before_span_start)
    return default_span_processor(tracking_uri, _before_span_start)


def _writer() -> Any:
    from llmops.tracing.exporter import TraceWriter

    if _STATE.writer is None:
        _STATE.writer = TraceWriter(*_STATE.queue_args)
    return _STATE.writer


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
    server_wait: float | None = None,
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
        server_wait: How long, in seconds, the writer holds traces while a tracking server does not answer
            before counting them lost; defaults to ``LLMOPS_TRACE_SERVER_WAIT`` or 60.

    Raises:
        TrackingServerError: the tracking server (``http(s)://`` URI) is unreachable or refuses the
            credentials; checked once per server and process, with one request.
    """
    from llmops.settings import get_settings

    settings = get_settings()
    uri = tracking_uri or settings.tracking_uri
    experiment_name = experiment or settings.experiment_name

    import mlflow

    from llmops.mlflow_internals.trace_writing import (
        install_processor_factory,
        is_tracking_server,
        rebuild_tracer_provider,
    )

    if server_wait is None:
        server_wait = float(os.environ.get("LLMOPS_TRACE_SERVER_WAIT", "60"))
    with _LOCK:
        if is_tracking_server(uri) and uri not in _STATE.servers_checked:
            from llmops.tracing.http_writer import check_server

            # MLflow's client would retry an unreachable server for minutes inside set_experiment().
            check_server(uri, experiment_name)
            _STATE.servers_checked = _STATE.servers_checked | {uri}
        previous = _STATE.current
        rebuild = not _STATE.installed or _STATE.lossless != lossless
        if not _STATE.installed:
            _STATE.original_factory = install_processor_factory(_span_processor_factory)
            _STATE.installed = True
        _STATE.lossless = lossless
        _STATE.redaction = redaction

        queue_args = (max_queue, batch_size, block_timeout, server_wait)
        if queue_args != _STATE.queue_args:
            _STATE.queue_args = queue_args
            if _STATE.writer is not None:
                _set_queue_args(_STATE.writer, queue_args)
        if prices:
            set_prices(prices)

        if mlflow.get_tracking_uri() != uri:
            # Resets MLflow's tracer provider and tracing config; both come back through our hooks.
            mlflow.set_tracking_uri(uri)
        experiment_id = _ensure_experiment(experiment_name, uri, previous)
        _ensure_span_hook()
        if rebuild:
            rebuild_tracer_provider()

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

    from llmops.mlflow_internals.trace_writing import active_experiment_id

    # set_experiment() resets the tracer provider and costs a query: skip it when nothing changed.
    if previous is not None and previous.tracking_uri == uri and previous.experiment_name == name:
        if active_experiment_id() == previous.experiment_id:
            return previous.experiment_id
    return mlflow.set_experiment(name).experiment_id


def _enable_autolog() -> None:
    import mlflow

    from llmops.mlflow_internals.trace_writing import per_context_autolog_sessions, skip_nested_openai_model_spans

    per_context_autolog_sessions()  # before any autologged call can run in two threads at once
    for flavor in ("openai", "langchain"):
        try:
            getattr(mlflow, flavor).autolog()
        except Exception as exc:  # a missing optional library must not break tracing setup
            _logger.warning("llmops tracing: mlflow.%s.autolog() failed: %s", flavor, exc)
    skip_nested_openai_model_spans()


def _set_queue_args(writer: Any, queue_args: tuple[int, int, float | None, float]) -> None:
    writer.max_queue, writer.batch_size, writer.block_timeout, writer.server_wait = queue_args


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
    if _STATE.writer is None:
        return _no_stats()
    return _STATE.writer.stats()


def _no_stats() -> WriterStats:
    from llmops.tracing.exporter import WriterStats

    return WriterStats(submitted=0, stored=0, dropped=0, failed=0, pending=0, blocked=0)


class TracesLostError(UserError):
    """Traces this process made were not stored (the message says how many and why to look at the log)."""


def require_stored(since: WriterStats | None = None, timeout: float | None = None) -> WriterStats:
    """Wait for the writer, then raise :class:`TracesLostError` if any trace made since ``since`` (a
    :func:`stats` snapshot; default: process start) was lost or is still unwritten after ``timeout`` seconds
    (default ``LLMOPS_TRACE_EXIT_FLUSH_TIMEOUT`` or 120). Returns the counters."""
    if timeout is None:
        timeout = float(os.environ.get("LLMOPS_TRACE_EXIT_FLUSH_TIMEOUT", "120"))
    flush(timeout)
    now = stats()
    base = since or _no_stats()
    lost = now.lost - base.lost
    if lost or now.pending:
        where = _STATE.current.tracking_uri if _STATE.current else "the tracking store"
        from llmops.tracing.http_writer import display_uri

        raise TracesLostError(
            f"{lost + now.pending} of {now.submitted - base.submitted} trace(s) were not stored in "
            f"{display_uri(where)} ({lost} lost, {now.pending} still unwritten after {timeout:.0f} s); "
            "the ERROR lines above say why"
        )
    return now


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

    from llmops.mlflow_internals.trace_writing import install_processor_factory, rebuild_tracer_provider

    with _LOCK:
        if _STATE.writer is not None:
            _STATE.writer.flush(60)
            _STATE.writer.reset_backends()
        if _STATE.installed:
            install_processor_factory(_STATE.original_factory)
            _remove_span_hook()
            rebuild_tracer_provider()
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
            _set_queue_args(writer, _State().queue_args)
        registered = _STATE.atexit_registered
        _STATE.__dict__.update(replace(_State(), writer=writer, atexit_registered=registered).__dict__)
