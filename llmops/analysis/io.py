"""Trace sets as files: MLflow's own trace JSON (``Trace.to_json()``), one trace per line.

A trace file is what ``mlflow.get_trace(id).to_json()`` prints, one trace per line, with its spans, tags,
metadata and assessments, so ``mlflow.entities.Trace.from_json(line)`` reads any line back. This module

* reads trace files line by line, tolerating damage: a truncated or corrupt line is reported with its line
  number (:class:`LineProblem`) and the other lines are still used;
* exports traces from a tracking store (:func:`export_traces`), streaming page by page;
* imports a trace file into a tracking store (:func:`import_traces`) keeping trace ids, timestamps, spans,
  tags, metadata and assessments, so the MLflow UI shows the traces as they were recorded. Importing the
  same file twice adds nothing: trace ids already in the store are skipped.

Reading a file needs neither mlflow nor pandas; export and import import mlflow when called.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops.analysis.errors import (
    EmptyTraceSetError,
    ExperimentNotFoundError,
    StoreError,
    TraceFileError,
    TraceFilterError,
    TraceNotFoundError,
)
from llmops.mlflow_internals import trace_reading

try:  # orjson parses trace JSON 3-5x faster; it comes with chromadb but is not required
    import orjson

    loads = orjson.loads
    _JSON_ERRORS: tuple[type[Exception], ...] = (orjson.JSONDecodeError, ValueError)
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None  # type: ignore[assignment]
    loads = json.loads
    _JSON_ERRORS = (ValueError,)

#: Tags and metadata that point at the recording store; the importing store writes its own.
_STORE_SPECIFIC_TAGS = ("mlflow.artifactLocation",)
_STORE_SPECIFIC_METADATA = ("mlflow.sourceRun",)


@dataclass(frozen=True)
class LineProblem:
    """A line of a trace file that could not be used, and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class TraceFile:
    """The traces of a file (as MLflow trace dictionaries) and the lines that were skipped."""

    path: Path
    traces: list[dict[str, Any]]
    problems: list[LineProblem] = field(default_factory=list)


@dataclass
class ExportReport:
    path: Path
    tracking_uri: str
    experiment: str
    filter_string: str | None
    exported: int


@dataclass
class ImportReport:
    path: Path
    tracking_uri: str
    experiment: str
    experiment_id: str
    imported: int
    skipped: list[str]  # trace ids already in the store
    problems: list[LineProblem] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------
# Reading trace files
# ---------------------------------------------------------------------------------------------------------


def check_trace_file(path: Path | str) -> Path:
    """``path`` as a Path if it is a readable file; a :class:`TraceFileError` naming the problem otherwise."""
    path = Path(path)
    if not path.exists():
        raise TraceFileError(f"trace file {path} does not exist")
    if path.is_dir():
        raise TraceFileError(f"{path} is a folder, not a trace file (.jsonl, one trace per line)")
    if not os.access(path, os.R_OK):
        raise TraceFileError(f"trace file {path} is not readable")
    return path


def _describe_bad_json(raw: bytes, exc: Exception, last_line: bool) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    stripped = raw.strip()
    # a JSON object that stops before its end: the line was cut (a copy stopped, a writer was killed)
    cut = stripped.startswith(b"{") and (not stripped.endswith(b"}") or "end of data" in text or "EOF" in text)
    if cut or (last_line and stripped.startswith(b"{") and not raw.endswith(b"\n")):
        return f"truncated trace JSON ({len(stripped)} bytes, ends before the trace is complete: {text})"
    return f"not valid JSON ({text})"


def _shape_problem(value: Any) -> str | None:
    if not isinstance(value, dict):
        return f"not an MLflow trace (a JSON {type(value).__name__}, expected an object with 'info' and 'data')"
    info, data = value.get("info"), value.get("data")
    if not isinstance(info, dict) or not isinstance(info.get("trace_id"), str) or not info["trace_id"]:
        return "not an MLflow trace: no info.trace_id"
    if not isinstance(data, dict) or not isinstance(data.get("spans"), list):
        return f"trace {info['trace_id']} has no data.spans list"
    return None


def iter_trace_file(path: Path | str) -> Iterator[tuple[int, dict[str, Any] | LineProblem]]:
    """Yield ``(line number, trace dict)`` for each usable line and ``(line number, LineProblem)`` for each
    damaged one (blank lines are skipped silently). Streams: one line in memory at a time."""
    path = check_trace_file(path)
    with path.open("rb") as fh:
        previous: tuple[int, bytes] | None = None
        for number, raw in enumerate(fh, start=1):
            # Hold one line back so the last line is known (a torn last line is the usual truncation).
            if previous is not None:
                yield previous[0], _parse_line(previous[1], last_line=False, number=previous[0])
            previous = (number, raw)
        if previous is not None:
            yield previous[0], _parse_line(previous[1], last_line=True, number=previous[0])


def _parse_line(raw: bytes, *, last_line: bool, number: int) -> dict[str, Any] | LineProblem:
    if not raw.strip():
        return LineProblem(number, "")  # blank: filtered out below
    try:
        value = loads(raw)
    except _JSON_ERRORS as exc:
        return LineProblem(number, _describe_bad_json(raw, exc, last_line))
    problem = _shape_problem(value)
    return LineProblem(number, problem) if problem else value


def traces_in_file(path: Path | str) -> Iterator[tuple[int, dict[str, Any] | LineProblem]]:
    """Like :func:`iter_trace_file` without blank lines, and with repeated trace ids reported as problems."""
    seen: dict[str, int] = {}
    for number, item in iter_trace_file(path):
        if isinstance(item, LineProblem):
            if item.reason:
                yield number, item
            continue
        trace_id = item["info"]["trace_id"]
        if trace_id in seen:
            yield number, LineProblem(number, f"trace {trace_id} already appears on line {seen[trace_id]}; skipped")
            continue
        seen[trace_id] = number
        yield number, item


def read_trace_file(path: Path | str) -> TraceFile:
    """Every usable trace of ``path`` (dictionaries in MLflow's trace format) and the skipped lines.

    Raises :class:`TraceFileError` when the file is missing or has no usable trace at all.
    """
    path = check_trace_file(path)
    traces: list[dict[str, Any]] = []
    problems: list[LineProblem] = []
    for _number, item in traces_in_file(path):
        if isinstance(item, LineProblem):
            problems.append(item)
        else:
            traces.append(item)
    if not traces:
        raise_empty_file(path, problems)
    return TraceFile(path=path, traces=traces, problems=problems)


def raise_empty_file(path: Path, problems: list[LineProblem]) -> None:
    if problems:
        shown = "; ".join(str(p) for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise TraceFileError(f"{path} has no usable trace: {len(problems)} bad line(s): {shown}{more}")
    raise EmptyTraceSetError(f"{path} is empty: no traces to analyse")


def find_trace(path: Path | str, trace_id: str) -> dict[str, Any]:
    """The trace ``trace_id`` of a trace file, as an MLflow trace dictionary; :class:`TraceNotFoundError`
    (with the number of traces in the file) when it is not there."""
    path = check_trace_file(path)
    needle = trace_id.encode()
    count = 0
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            count += 1
            if needle not in raw:  # cheap test before parsing
                continue
            item = _parse_line(raw, last_line=False, number=number)
            if isinstance(item, dict) and item["info"]["trace_id"] == trace_id:
                return item
    raise TraceNotFoundError(
        f"trace {trace_id} is not in {path} ({count} trace line(s)); "
        f"list the ids with `llmops traces slowest --from {path}` or `--format csv`"
    )


# ---------------------------------------------------------------------------------------------------------
# The tracking store side
# ---------------------------------------------------------------------------------------------------------


def resolve_tracking_uri(tracking_uri: str | None = None) -> str:
    if tracking_uri:
        return tracking_uri
    from llmops.settings import get_settings

    return get_settings().tracking_uri


def check_sqlite_store(tracking_uri: str) -> None:
    """A SQLite store URI must point at an existing file when we read from it (MLflow would create an empty
    database and report "no experiment", hiding a typo in the path)."""
    path = sqlite_path(tracking_uri)
    if path is not None and str(path) != ":memory:" and not Path(path).exists():
        raise StoreError(
            f"the tracking store {tracking_uri} does not exist ({path} is missing); check LLMOPS_TRACKING_URI"
        )


def sqlite_path(tracking_uri: str) -> str | None:
    """The database file of a ``sqlite:///`` URI, else None."""
    if not tracking_uri.startswith("sqlite:"):
        return None
    rest = tracking_uri[len("sqlite:") :]
    if rest.startswith("///"):
        path = rest[3:]
        # sqlite:////abs/path keeps its leading slash after the three of the scheme
        return path.split("?", 1)[0]
    if rest.startswith("//"):
        return rest[2:].split("?", 1)[0]
    return None


def experiment_id_for(name: str, tracking_uri: str, *, create: bool = False) -> str:
    """The id of experiment ``name``; created when ``create``, else :class:`ExperimentNotFoundError`
    listing the experiments there are."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        experiment = client.get_experiment_by_name(name)
    except Exception as exc:  # an unreachable server, a broken database
        raise StoreError(f"cannot read the tracking store {tracking_uri}: {exc}") from exc
    if experiment is not None and experiment.lifecycle_stage == "deleted":
        raise ExperimentNotFoundError(
            f"experiment {name!r} is deleted in {tracking_uri}; restore it (mlflow experiments restore) "
            "or choose another name"
        )
    if experiment is not None:
        return experiment.experiment_id
    if create:
        return client.create_experiment(name)
    names = sorted(e.name for e in client.search_experiments())
    raise ExperimentNotFoundError(
        f"no experiment named {name!r} in {tracking_uri}; experiments there: {', '.join(names) or 'none'}"
    )


def filter_error(filter_string: str | None, exc: Exception) -> Exception:
    """MLflow's rejection of a filter as a :class:`TraceFilterError`, other store errors unchanged."""
    from mlflow.exceptions import MlflowException

    if filter_string and isinstance(exc, MlflowException) and exc.error_code == "INVALID_PARAMETER_VALUE":
        return TraceFilterError(
            f"MLflow rejected the filter {filter_string!r}: {exc.message}. Filters look like "
            "\"trace.status = 'ERROR'\", \"tags.k = 'v'\", \"span.type = 'TOOL'\", joined with AND."
        )
    return exc


def search_trace_pages(
    tracking_uri: str,
    experiment_id: str,
    filter_string: str | None,
    *,
    include_spans: bool,
    page_size: int = 200,
    max_traces: int | None = None,
) -> Iterator[list[Any]]:
    """Pages of ``mlflow.entities.Trace`` (oldest first) matching the filter; MLflow's filter errors become
    :class:`TraceFilterError`."""
    token = None
    seen = 0
    while True:
        size = page_size if max_traces is None else min(page_size, max_traces - seen)
        if size <= 0:
            return
        try:
            page, token = trace_reading.search_trace_page(
                tracking_uri, experiment_id, filter_string, max_results=size, page_token=token,
                include_spans=include_spans,
            )  # fmt: skip
        except Exception as exc:
            raise filter_error(filter_string, exc) from exc
        if page:
            seen += len(page)
            yield page
        if not token or not page:
            return


def export_traces(
    out: Path | str,
    *,
    experiment: str | None = None,
    filter_string: str | None = None,
    tracking_uri: str | None = None,
    max_traces: int | None = None,
) -> ExportReport:
    """Write the traces of ``experiment`` (default: the configured one) matching ``filter_string`` to ``out``,
    MLflow's trace JSON one trace per line, oldest first. The file appears only when complete (written
    aside, then renamed). :class:`EmptyTraceSetError` when nothing matches (and no file is written)."""
    from llmops.settings import get_settings

    uri = resolve_tracking_uri(tracking_uri)
    check_sqlite_store(uri)
    name = experiment or get_settings().experiment_name
    experiment_id = experiment_id_for(name, uri)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    count = 0
    try:
        with partial.open("w", encoding="utf-8") as fh:
            for page in search_trace_pages(
                uri, experiment_id, filter_string, include_spans=True, max_traces=max_traces
            ):
                for trace in page:
                    fh.write(trace.to_json())
                    fh.write("\n")
                    count += 1
        if count == 0:
            where = f"experiment {name!r} of {uri}" + (f" matching {filter_string!r}" if filter_string else "")
            raise EmptyTraceSetError(f"no traces in {where}; nothing written to {out}")
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return ExportReport(path=out, tracking_uri=uri, experiment=name, filter_string=filter_string, exported=count)


def import_traces(
    path: Path | str,
    *,
    experiment: str | None = None,
    tracking_uri: str | None = None,
    batch_size: int = 200,
) -> ImportReport:
    """Write the traces of a trace file into ``experiment`` (default: the file's name without extension,
    created if needed) of the tracking store, keeping their ids, timestamps, spans, tags, metadata and
    assessments. Trace ids already in the store are skipped (and listed), damaged lines reported.

    On an MLflow 3.17 SQL store the traces without assessments are written many per transaction through
    :mod:`llmops.tracing`'s batch writer (the rows MLflow's ``start_trace`` + ``log_spans`` write); anything
    else goes through MLflow's ``TracingClient.start_trace`` then ``log_spans``. The store-specific tag
    ``mlflow.artifactLocation`` and metadata ``mlflow.sourceRun`` are replaced by the importing store's, and
    MLflow's size statistics (``mlflow.trace.sizeBytes``, ``mlflow.trace.sizeStats``) may be recomputed.
    """
    from llmops.settings import get_settings

    path = check_trace_file(path)
    get_settings()  # keeps MLflow offline with the offline model (no model-catalogue fetch while pricing spans)
    uri = resolve_tracking_uri(tracking_uri)
    name = experiment or path.stem
    experiment_id = experiment_id_for(name, uri, create=True)
    writer = _TraceImporter(uri, experiment_id)
    imported, skipped, problems = 0, [], []
    batch: list[tuple[int, dict[str, Any]]] = []
    total = 0

    def flush_batch() -> None:
        nonlocal imported
        existing = writer.existing_ids([item["info"]["trace_id"] for _n, item in batch])
        todo = []
        for number, item in batch:
            trace_id = item["info"]["trace_id"]
            if trace_id in existing:
                skipped.append(trace_id)
                continue
            try:
                todo.append(writer.prepare(item))
            except Exception as exc:
                problems.append(LineProblem(number, f"not a valid MLflow trace ({type(exc).__name__}: {exc})"))
        imported += writer.write(todo)
        batch.clear()

    for number, item in traces_in_file(path):
        if isinstance(item, LineProblem):
            problems.append(item)
            continue
        total += 1
        batch.append((number, item))
        if len(batch) >= batch_size:
            flush_batch()
    if batch:
        flush_batch()
    if total == 0:
        raise_empty_file(path, problems)
    return ImportReport(
        path=path, tracking_uri=uri, experiment=name, experiment_id=experiment_id, imported=imported,
        skipped=skipped, problems=problems,
    )  # fmt: skip


class _TraceImporter:
    """Writes prepared traces to one experiment of one store."""

    def __init__(self, tracking_uri: str, experiment_id: str) -> None:
        from mlflow.tracing.client import TracingClient

        self.tracking_uri = tracking_uri
        self.experiment_id = experiment_id
        self.client = TracingClient(tracking_uri)
        self._batch_backend = _batch_backend(tracking_uri)

    def existing_ids(self, trace_ids: list[str]) -> set[str]:
        """Which of ``trace_ids`` the store already has (in any experiment: trace ids are global)."""
        return trace_reading.existing_trace_ids(self.tracking_uri, trace_ids)

    def prepare(self, item: dict[str, Any]) -> Any:
        from mlflow.entities import Trace
        from mlflow.entities.trace_location import TraceLocation

        trace = Trace.from_dict(item)
        info = trace.info
        info.trace_location = TraceLocation.from_experiment_id(self.experiment_id)
        for key in _STORE_SPECIFIC_TAGS:
            info.tags.pop(key, None)
        for key in _STORE_SPECIFIC_METADATA:
            info.trace_metadata.pop(key, None)
        for assessment in info.assessments:
            assessment.trace_id = info.trace_id
        return trace

    def write(self, traces: list[Any]) -> int:
        if not traces:
            return 0
        if self._batch_backend is not None:
            backend, pending = self._batch_backend
            stored, failed = backend.write([pending(tracking_uri=self.tracking_uri, trace=t) for t in traces])
            if failed:
                raise StoreError(f"{failed} trace(s) could not be written to {self.tracking_uri} (see the log above)")
            return stored
        # MLflow's public path: the trace row (with tags, metadata, assessments) first, then all the spans of
        # the batch in one call.
        spans = []
        for trace in traces:
            self.client.start_trace(trace.info)
            spans.extend(trace.data.spans)
        if spans:
            self.client.log_spans(self.experiment_id, spans)
        return len(traces)


def _batch_backend(tracking_uri: str) -> tuple[Any, Any] | None:
    """llmops.tracing's batch writer for this store, when it has a fast path for it; else None."""
    if os.environ.get("LLMOPS_IMPORT_FAST_WRITE", "1").lower() in ("0", "false", "no"):
        return None
    try:
        from llmops.tracing.exporter import PendingTrace, _StoreBackend

        backend = _StoreBackend(tracking_uri)
    except (ImportError, AttributeError, TypeError):  # the writer changed shape: use MLflow's calls
        return None
    if backend.sql is None and backend.http is None:  # no batch path for this store
        return None
    return backend, PendingTrace


def get_trace_dict(trace_id: str, tracking_uri: str | None = None) -> dict[str, Any]:
    """One trace of the tracking store as an MLflow trace dictionary; :class:`TraceNotFoundError` if absent."""
    from mlflow.exceptions import MlflowException

    from llmops.settings import get_settings

    get_settings()  # keeps MLflow offline with the offline model
    uri = resolve_tracking_uri(tracking_uri)
    check_sqlite_store(uri)
    try:
        return trace_reading.get_trace(uri, trace_id).to_dict()
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"):
            raise TraceNotFoundError(f"trace {trace_id} is not in the tracking store {uri}") from None
        raise StoreError(f"cannot read trace {trace_id} from {uri}: {exc.message}") from exc
