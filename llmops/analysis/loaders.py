"""Load a trace set from a trace file (:func:`load_file`), a tracking store (:func:`load_store`) or MLflow
``Trace`` objects you already have (:func:`load_traces`)::

    from llmops.analysis import load_file

    ts = load_file("traces/incident.jsonl")
    ts.spans[ts.spans.is_llm_call].groupby("model").total_tokens.sum()

The tables and their columns: :mod:`llmops.analysis.traceset`.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from llmops.analysis.io import LineProblem, raise_empty_file, traces_in_file
from llmops.analysis.tables import TableBuilder
from llmops.analysis.traceset import TraceSet


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of small, acyclic objects are made (parsed JSON):
    its repeated full passes over a growing heap cost 10-15% of a load. Restored afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_file(path: Path | str) -> TraceSet:
    """The trace set of a trace file (JSONL, MLflow trace JSON per line). Damaged lines are skipped and
    listed in :attr:`TraceSet.problems` with their line numbers; a file with no usable line at all raises
    :class:`~llmops.analysis.errors.TraceFileError` (an empty file gives an empty set)."""
    with _gc_paused():
        return _load_file(Path(path))


def _load_file(path: Path) -> TraceSet:
    builder = TableBuilder()
    problems: list[LineProblem] = []
    count = 0
    for number, item in traces_in_file(path):
        if isinstance(item, LineProblem):
            problems.append(item)
            continue
        try:
            builder_mark = len(builder.span_rows), len(builder.trace_rows), len(builder.assessment_rows)
            builder.add_trace_dict(item)
            count += 1
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            _rollback(builder, builder_mark)
            problems.append(LineProblem(number, f"not a usable MLflow trace ({type(exc).__name__}: {exc})"))
    if count == 0 and problems:
        raise_empty_file(path, problems)
    return builder.build(source=str(path), problems=problems)


def _rollback(builder: TableBuilder, mark: tuple[int, int, int]) -> None:
    del builder.span_rows[mark[0] :]
    del builder.trace_rows[mark[1] :]
    del builder.assessment_rows[mark[2] :]


def load_traces(traces: Iterable[Any], source: str = "memory") -> TraceSet:
    """The trace set of MLflow ``Trace`` objects (e.g. ``mlflow.search_traces(return_type="list")``) or of
    trace dictionaries (``Trace.to_dict()``)."""
    builder = TableBuilder()
    for trace in traces:
        builder.add_trace_dict(trace if isinstance(trace, dict) else trace.to_dict())
    return builder.build(source=source)


def load_store(
    experiment: str | None = None,
    filter_string: str | None = None,
    *,
    tracking_uri: str | None = None,
    method: str = "auto",
    database_uri: str | None = None,
) -> TraceSet:
    """The trace set of an experiment (default: the configured one) of a tracking store, optionally narrowed
    by an MLflow ``search_traces`` filter (``"trace.status = 'ERROR'"``, ``"tags.k = 'v'"``...).

    ``method="auto"`` reads a SQLite or PostgreSQL store's tables directly, and a tracking server's database
    when it is named (``database_uri``, else ``LLMOPS_BACKEND_STORE_URI``); filters are still evaluated by
    MLflow, which returns the matching trace ids. Any other store is read through MLflow's search;
    ``"sql"`` and ``"mlflow"`` force one path. A filter MLflow rejects raises
    :class:`~llmops.analysis.errors.TraceFilterError` quoting MLflow's reason.
    """
    from llmops.analysis import store
    from llmops.analysis.io import check_sqlite_store, experiment_id_for, resolve_tracking_uri
    from llmops.settings import get_settings

    settings = get_settings()  # also keeps MLflow offline when the offline model is selected
    uri = resolve_tracking_uri(tracking_uri)
    check_sqlite_store(uri)
    name = experiment or settings.experiment_name
    if method not in ("auto", "sql", "mlflow"):
        raise ValueError(f"method must be auto, sql or mlflow, not {method!r}")
    db = store.direct_database(uri, database_uri)
    experiment_id = None
    if method != "mlflow" and db is not None and not filter_string:
        experiment_id = store.experiment_id_direct(db, name)
    if experiment_id is None:
        experiment_id = experiment_id_for(name, uri)
    source = f"experiment {name!r} of {uri}" + (f" matching {filter_string!r}" if filter_string else "")
    if method != "mlflow" and db is not None:
        trace_ids = store.matching_trace_ids(uri, experiment_id, filter_string) if filter_string else None
        with _gc_paused():
            builder = store.read_direct(db, experiment_id, trace_ids, tracking_uri=uri, strict=method == "sql")
            if builder is not None:
                return builder.build(source=source)
    if method == "sql":
        raise ValueError(f"{uri} is not a SQL store and names no database; use method='auto' or 'mlflow'")
    builder = TableBuilder()
    from llmops.analysis.io import search_trace_pages

    for page in search_trace_pages(uri, experiment_id, filter_string, include_spans=True):
        for trace in page:
            builder.add_trace_dict(trace.to_dict())
    return builder.build(source=source)


def load(
    source: Path | str | None = None,
    *,
    experiment: str | None = None,
    filter_string: str | None = None,
    tracking_uri: str | None = None,
) -> TraceSet:
    """A trace file when ``source`` is given (``filter_string`` is then refused), else the store."""
    if source is not None:
        if filter_string:
            from llmops.analysis.errors import TraceFilterError

            raise TraceFilterError(
                "--filter selects traces in a tracking store with MLflow's search syntax; it does not apply to "
                f"a trace file ({source}). Import the file first (llmops traces import) or drop --filter."
            )
        return load_file(source)
    return load_store(experiment, filter_string, tracking_uri=tracking_uri)
