"""Reading traces straight from an MLflow store's tables (the fast path of :func:`load_store`).

``mlflow.search_traces`` rebuilds every span as an entity object, ~600-800 traces/s with spans here (and
fewer over REST). The analysis needs a dozen fields per span, and MLflow keeps each span's JSON in
``spans.content`` next to indexed columns (trace id, span id, parent, name, type, status, start, end). So this
reader asks the database for those columns plus a few JSON values per span (token usage and model on model
spans, documents on retrievers, the exception event on errors) and hands them to the same builder the file
reader uses. The SQL itself lives in :mod:`llmops.mlflow_internals.trace_reading`, for SQLite and PostgreSQL.

Which database: a ``sqlite:///`` or ``postgresql://`` tracking URI is read directly; an ``http(s)://`` tracking
server is read directly when its backend database is named (``database_uri=``, or ``LLMOPS_BACKEND_STORE_URI``),
else through MLflow's REST API. The connection is read-only. When the query fails on another schema (or a trace
keeps its spans in the artifact store), the traces are read through MLflow instead.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from llmops.analysis.fields import decoded, token_usage
from llmops.analysis.io import loads
from llmops.analysis.tables import TableBuilder
from llmops.mlflow_internals import trace_reading
from llmops.mlflow_internals.trace_reading import TraceTables
from llmops.server.postgres import redact_uri

_logger = logging.getLogger(__name__)

_METADATA_KEYS = ("mlflow.trace.user", "llmops.cost_usd", "mlflow.trace.session", "mlflow.trace.tokenUsage")
_TAG_KEYS = ("mlflow.linkedPrompts", "mlflow.traceName")


def direct_database(tracking_uri: str, database_uri: str | None = None) -> tuple[str, str] | None:
    """``(dialect, target)`` of the database to read for ``tracking_uri``, or None (read through MLflow).

    A SQL tracking URI is its own database; a tracking server's is ``database_uri`` or the
    ``LLMOPS_BACKEND_STORE_URI`` setting (the ``--backend-store-uri`` the server was started with).
    """
    direct = trace_reading.database_target(tracking_uri)
    if direct is not None:
        return direct
    if tracking_uri.startswith(("http://", "https://")):
        if database_uri is None:
            from llmops.settings import get_settings

            database_uri = get_settings().backend_store_uri
        if database_uri:
            return trace_reading.database_target(database_uri)
    return None


def experiment_id_direct(database: tuple[str, str], name: str) -> str | None:
    """The id of the active experiment ``name`` (default workspace) read directly, or None when the lookup
    cannot answer (the caller then asks MLflow, which also explains a missing experiment). Saves importing
    mlflow (~4 s) for an analysis without a filter."""
    try:
        with TraceTables(*database) as tables:
            return tables.experiment_id(name)
    except trace_reading.read_errors():
        return None


def matching_trace_ids(tracking_uri: str, experiment_id: str, filter_string: str) -> list[str]:
    """Ids of the traces MLflow's filter selects (MLflow evaluates the filter, without loading spans)."""
    from llmops.analysis.io import filter_error

    try:
        return trace_reading.search_trace_ids(tracking_uri, experiment_id, filter_string)
    except Exception as exc:
        raise filter_error(filter_string, exc) from exc


def read_direct(
    database: tuple[str, str],
    experiment_id: str,
    trace_ids: list[str] | None,
    *,
    tracking_uri: str,
    strict: bool = False,
) -> TableBuilder | None:
    """A filled :class:`TableBuilder` for the experiment's traces (or the given ids), or None when this
    database's schema is not the one this reader knows (the caller then goes through MLflow)."""
    errors = trace_reading.read_errors()
    where = redact_uri(database[1])
    try:
        tables = TraceTables(*database)
    except errors as exc:
        if strict:
            raise
        _logger.warning("llmops analysis: cannot open %s directly (%s); reading through MLflow", where, exc)
        return None
    try:
        return _read(tables, experiment_id, trace_ids, tracking_uri)
    except errors as exc:
        if strict:
            raise
        _logger.warning("llmops analysis: direct read of %s failed (%s); reading through MLflow", where, exc)
        return None
    finally:
        tables.close()


def _span_rows(tables: TraceTables, experiment_id: str, trace_ids: list[str] | None, out: queue.Queue) -> None:
    """Producer thread: run the span query on its own connection and hand rows over in chunks. Both drivers
    release the GIL while the database works, so this overlaps with the row processing in the caller."""
    try:
        for rows in tables.span_chunks(experiment_id, trace_ids):
            out.put(rows)
        out.put([])
    except BaseException as exc:  # handed to the caller, which re-raises it
        out.put(exc)


def _read(tables: TraceTables, experiment_id: str, trace_ids: list[str] | None, tracking_uri: str) -> TableBuilder:
    chunks: queue.Queue = queue.Queue(maxsize=8)
    producer = threading.Thread(
        target=_span_rows, args=(tables, experiment_id, trace_ids, chunks), name="llmops-span-reader", daemon=True
    )
    producer.start()
    tables.select(experiment_id, trace_ids)

    metadata: dict[str, dict[str, str]] = {}
    for request_id, key, value in tables.metadata_rows(_METADATA_KEYS):
        metadata.setdefault(request_id, {})[key] = value
    tags: dict[str, dict[str, str]] = {}
    for request_id, key, value in tables.tag_rows(_TAG_KEYS):
        tags.setdefault(request_id, {})[key] = value

    builder = TableBuilder()
    roots: dict[str, dict[str, Any]] = {}
    with_spans: set[str] = set()
    add_span, add_span_dict = builder.add_span, builder.add_span_dict
    while True:
        rows = chunks.get()
        if isinstance(rows, BaseException):
            producer.join()
            raise rows
        if not rows:
            break
        for trace_id, span_id, parent_id, name, span_type, status, start, end, content, inner in rows:
            with_spans.add(trace_id)
            if content is not None:
                root = add_span_dict(
                    trace_id, loads(content), span_id=span_id, parent_id=parent_id, span_type=span_type or "UNKNOWN",
                    known=True,
                )  # fmt: skip
                if root is not None:
                    roots[trace_id] = root
            elif inner is not None:
                usage, model, model_attr = inner
                add_span(trace_id, span_id, parent_id, name or "", span_type, status, start, end, usage=usage,
                         model=model or model_attr)  # fmt: skip
            else:
                add_span(trace_id, span_id, parent_id, name or "", span_type or "UNKNOWN", status, start, end)
    producer.join()

    without_spans: list[str] = []
    for (request_id, exp_id, trace_name, timestamp_ms, execution_ms, status, session_id, input_tokens,
         output_tokens, total_tokens, preview) in tables.trace_rows():  # fmt: skip
        if request_id not in with_spans:
            without_spans.append(request_id)
            continue
        meta = metadata.get(request_id, {})
        tag = tags.get(request_id, {})
        usage = (input_tokens, output_tokens, total_tokens)
        if usage == (None, None, None) and meta.get("mlflow.trace.tokenUsage"):
            usage = token_usage(meta["mlflow.trace.tokenUsage"])
        builder.add_trace(
            request_id,
            experiment_id=str(exp_id),
            name=trace_name or tag.get("mlflow.traceName"),
            start_ms=timestamp_ms,
            duration_ms=execution_ms,
            status=status,
            session_id=session_id or meta.get("mlflow.trace.session"),
            user_id=meta.get("mlflow.trace.user"),
            linked_prompts=tag.get("mlflow.linkedPrompts"),
            usage=usage,
            cost_usd=meta.get("llmops.cost_usd"),
            request=preview,
            root=roots.get(request_id, {}),
        )

    for (trace_id, assessment_id, name, kind, value, error, created, source_type, source_id, span_id, rationale,
         valid) in tables.assessment_rows():  # fmt: skip
        builder.add_assessment(
            trace_id,
            {
                "assessment_id": assessment_id, "assessment_name": name,
                kind: {"value": decoded(value), "error": decoded(error) if error else None},
                "source": {"source_type": source_type, "source_id": source_id}, "span_id": span_id,
                "rationale": rationale, "valid": bool(valid), "create_time": created,
            },
        )  # fmt: skip

    if without_spans:
        # Spans kept in the artifact store (older traces, or traces logged without log_spans): ask MLflow.
        _add_through_mlflow(builder, without_spans, tracking_uri)
    return builder


def _add_through_mlflow(builder: TableBuilder, trace_ids: list[str], tracking_uri: str) -> None:
    for trace_id in sorted(trace_ids):
        try:
            trace = trace_reading.get_trace(tracking_uri, trace_id)
        except Exception as exc:
            _logger.warning("llmops analysis: trace %s could not be read (%s); left out", trace_id, exc)
            continue
        builder.add_trace_dict(trace.to_dict())
