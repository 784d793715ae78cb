"""Every use of MLflow's private internals on the reading side of the analysis, checked against one MLflow version.

What the analysis needs that MLflow's public API does not give fast enough:

* MLflow's trace tables read directly (``spans``, ``trace_info``, ``trace_request_metadata``, ``trace_tags``,
  ``assessments``, ``experiments``) in a SQLite file or a PostgreSQL database: ``search_traces`` over REST
  rebuilds every span as an entity, ~600 traces/s, where these queries read 10,000 traces in a few seconds;
* ``TracingClient`` (search trace ids with a filter, one trace, pages of traces) and the SQL store's
  ``SqlTraceInfo`` (which trace ids a store already holds).

The SQL mirrors MLflow ``MLFLOW_VERSION_CHECKED``'s schema (see ``TABLES``); :func:`check_shapes` raises
:class:`MlflowShapeError` naming what differs in the installed MLflow. Importing this module imports neither
mlflow nor a database driver: a SQLite analysis without a filter never pays ``import mlflow`` (~4 s).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from llmops.mlflow_internals import MLFLOW_VERSION_CHECKED, MlflowShapeError

try:  # orjson parses span JSON 3-5x faster; it comes with chromadb but is not required
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - depends on the environment
    _loads = json.loads

#: The columns of MLflow's tables this module reads (checked against MLflow's SQLAlchemy models).
TABLES: dict[str, tuple[str, ...]] = {
    "experiments": ("experiment_id", "name", "lifecycle_stage", "workspace"),
    "trace_info": (
        "request_id", "experiment_id", "trace_name", "timestamp_ms", "execution_time_ms", "status", "session_id",
        "input_tokens", "output_tokens", "total_tokens", "request_preview",
    ),
    "trace_request_metadata": ("request_id", "key", "value"),
    "trace_tags": ("request_id", "key", "value"),
    "assessments": (
        "trace_id", "assessment_id", "name", "assessment_type", "value", "error", "created_timestamp",
        "source_type", "source_id", "span_id", "rationale", "valid",
    ),
    "spans": (
        "trace_id", "experiment_id", "span_id", "parent_span_id", "name", "type", "status",
        "start_time_unix_nano", "end_time_unix_nano", "content",
    ),
}  # fmt: skip

DIALECTS = ("sqlite", "postgresql")


# ---------------------------------------------------------------------------------------------------------
# SQL on MLflow's trace tables
# ---------------------------------------------------------------------------------------------------------

# Per span: the indexed columns and, for the spans the analysis reads more of (roots, errors, model calls,
# retrievers), the JSON content. The inner client span of an LLM call (OpenAI's ``Completions`` under
# LangChain's ``ChatOpenAI``) repeats the call: only its usage and model are read, by the database.
_INNER = "(s.type IN ('CHAT_MODEL', 'LLM') AND p.type IN ('CHAT_MODEL', 'LLM'))"
_WANTS_CONTENT = f"s.status = 'ERROR' OR (s.type IN ('CHAT_MODEL', 'LLM') AND NOT {_INNER}) OR s.parent_span_id IS NULL OR s.type = 'RETRIEVER'"
_USAGE_KEYS = ("mlflow.chat.tokenUsage", "mlflow.llm.model", "model")
_SPANS_SQL = (
    "SELECT s.trace_id, s.span_id, s.parent_span_id, s.name, s.type, s.status, s.start_time_unix_nano, "
    "s.end_time_unix_nano, CASE WHEN {wants} THEN {content} END, "
    "CASE WHEN {inner} AND s.status != 'ERROR' THEN {usage} END "
    "FROM spans s LEFT JOIN spans p ON p.trace_id = s.trace_id AND p.span_id = s.parent_span_id WHERE {where}"
)
# SQLite extracts the three attribute values itself (a JSON array text); PostgreSQL's JSON parser is ~10x slower
# than orjson on these large documents (5 s for 20,000 spans), so it sends the content and the reader extracts.
_SQLITE_USAGE = "json_extract(s.content, " + ", ".join(f"'$.attributes.\"{k}\"'" for k in _USAGE_KEYS) + ")"
_POSTGRES_USAGE = "s.content"
_TRACES_SQL = (
    "SELECT t.request_id, t.experiment_id, t.trace_name, t.timestamp_ms, t.execution_time_ms, t.status, "
    "t.session_id, t.input_tokens, t.output_tokens, t.total_tokens, t.request_preview "
    "FROM trace_info t JOIN {selection} ON t.request_id = sel.trace_id"
)
_KEYS_SQL = "SELECT m.request_id, m.key, m.value FROM {table} m JOIN {selection} ON m.request_id = sel.trace_id WHERE m.key IN ({keys})"
_ASSESSMENTS_SQL = (
    "SELECT a.trace_id, a.assessment_id, a.name, a.assessment_type, a.value, a.error, a.created_timestamp, "
    "a.source_type, a.source_id, a.span_id, a.rationale, a.valid FROM assessments a JOIN {selection} USING (trace_id)"
)
_EXPERIMENT_SQL = (
    "SELECT experiment_id FROM experiments WHERE name = {p} AND lifecycle_stage = 'active' AND workspace = 'default'"
)


def read_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a direct read can raise when a database or its schema is not what this module expects."""
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return errors
    return errors + (psycopg.Error,)


def database_target(uri: str) -> tuple[str, str] | None:
    """``(dialect, target)`` for a store URI this module reads directly (a SQLite file path, a PostgreSQL URI
    without its SQLAlchemy driver suffix), else None."""
    if uri.startswith("sqlite:"):
        rest = uri[len("sqlite:") :]
        if rest.startswith("///"):
            return "sqlite", rest[3:].split("?", 1)[0]  # sqlite:////abs keeps its leading slash
        if rest.startswith("//"):
            return "sqlite", rest[2:].split("?", 1)[0]
        return None
    scheme, sep, rest = uri.partition("://")
    if sep and scheme.split("+", 1)[0] in ("postgresql", "postgres"):
        return "postgresql", f"postgresql://{rest}"
    return None


class TraceTables:
    """A read-only connection to MLflow's trace tables, and the selection of traces to read.

    ``select(experiment_id, trace_ids)`` fixes the traces (an experiment's, or the given ids); the row methods
    then return that selection's rows. :meth:`span_chunks` reads on a connection of its own (call it from a
    thread: both drivers release the GIL while the database works).
    """

    def __init__(self, dialect: str, target: str) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"dialect must be one of {DIALECTS}, not {dialect!r}")
        self.dialect, self.target = dialect, target
        self._param = "?" if dialect == "sqlite" else "%s"
        self._selection: tuple[str, tuple] = ("", ())
        self.connection = self._connect()

    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            connection = sqlite3.connect(f"file:{self.target}?mode=ro", uri=True, check_same_thread=False)
            connection.execute("PRAGMA mmap_size = 4294967296")  # read pages in place (read-only): ~5-10% faster
            return connection
        import psycopg

        connection = psycopg.connect(self.target, connect_timeout=10)
        connection.read_only = True
        return connection

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> TraceTables:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.connection.execute(sql, params).fetchall()

    def experiment_id(self, name: str) -> str | None:
        """The id of the active experiment ``name`` (default workspace), or None when not exactly one."""
        rows = self._rows(_EXPERIMENT_SQL.format(p=self._param), (name,))
        return str(rows[0][0]) if len(rows) == 1 else None

    def select(self, experiment_id: str, trace_ids: list[str] | None) -> None:
        """Read the traces of ``experiment_id``, or only ``trace_ids`` when given."""
        if self.dialect == "postgresql":
            if trace_ids is None:
                self._selection = (
                    "(SELECT request_id AS trace_id FROM trace_info WHERE experiment_id = %s) sel", (int(experiment_id),)
                )
            else:
                self._selection = ("(SELECT DISTINCT unnest(%s::text[]) AS trace_id) sel", (list(trace_ids),))
            return
        self.connection.execute("DROP TABLE IF EXISTS temp.sel")
        self.connection.execute("CREATE TEMP TABLE sel (trace_id TEXT PRIMARY KEY)")
        if trace_ids is None:
            self.connection.execute(
                "INSERT INTO sel SELECT request_id FROM trace_info WHERE experiment_id = ?", (int(experiment_id),)
            )
        else:
            self.connection.executemany("INSERT OR IGNORE INTO sel VALUES (?)", ((i,) for i in trace_ids))
        self._selection = ("sel", ())

    def _keys(self, table: str, keys: tuple[str, ...]) -> list[tuple]:
        selection, params = self._selection
        sql = _KEYS_SQL.format(table=table, selection=selection, keys=",".join([self._param] * len(keys)))
        return self._rows(sql, params + tuple(keys))

    def metadata_rows(self, keys: tuple[str, ...]) -> list[tuple]:
        """``(trace id, key, value)`` of the selected traces' metadata among ``keys``."""
        return self._keys("trace_request_metadata", keys)

    def tag_rows(self, keys: tuple[str, ...]) -> list[tuple]:
        """``(trace id, key, value)`` of the selected traces' tags among ``keys``."""
        return self._keys("trace_tags", keys)

    def trace_rows(self) -> list[tuple]:
        """Per selected trace: id, experiment id, name, timestamp ms, duration ms, status, session id, input,
        output and total tokens, request preview."""
        selection, params = self._selection
        return self._rows(_TRACES_SQL.format(selection=selection), params)

    def assessment_rows(self) -> list[tuple]:
        """Per assessment of the selected traces: trace id, assessment id, name, type (``feedback`` or
        ``expectation``), value JSON, error JSON, created ms, source type, source id, span id, rationale, valid."""
        selection, params = self._selection
        return self._rows(_ASSESSMENTS_SQL.format(selection=selection), params)

    def span_chunks(self, experiment_id: str, trace_ids: list[str] | None, size: int = 4000) -> Iterator[list[tuple]]:
        """Chunks of span rows, on a connection of its own: trace id, span id, parent id, name, type, status,
        start ns, end ns, content JSON (roots, errors, model calls, retrievers; else None), and for the inner
        span of a model call the list ``[token usage, model, model]`` of its attributes (else None)."""
        reader = TraceTables(self.dialect, self.target)
        try:
            yield from reader._span_chunks(experiment_id, trace_ids, size)
        finally:
            reader.close()

    def _span_chunks(self, experiment_id: str, trace_ids: list[str] | None, size: int) -> Iterator[list[tuple]]:
        if self.dialect == "sqlite":
            if trace_ids is None:
                # most of the store: read the table in storage order (a full scan) rather than through the
                # experiment index, whose start-time order jumps around the file
                mine, total = self.connection.execute(
                    "SELECT (SELECT count(*) FROM trace_info WHERE experiment_id = ?), (SELECT count(*) FROM trace_info)",
                    (int(experiment_id),),
                ).fetchone()
                column = "+s.experiment_id" if total and mine * 2 >= total else "s.experiment_id"
                where, params = f"{column} = ?", (int(experiment_id),)
            else:
                self.select(experiment_id, trace_ids)
                where, params = "s.trace_id IN (SELECT trace_id FROM sel)", ()
            sql = _SPANS_SQL.format(wants=_WANTS_CONTENT, content="CAST(s.content AS BLOB)", inner=_INNER, usage=_SQLITE_USAGE, where=where)
            cursor = self.connection.execute(sql, params)
        else:
            if trace_ids is None:
                where, params = "s.experiment_id = %s", (int(experiment_id),)
            else:
                where, params = "s.trace_id = ANY(%s::text[])", (list(trace_ids),)
            sql = _SPANS_SQL.format(wants=_WANTS_CONTENT, content="s.content", inner=_INNER, usage=_POSTGRES_USAGE, where=where)
            cursor = self.connection.cursor(name="llmops_spans")  # server-side: streamed, not all in memory
            cursor.itersize = size
            cursor.execute(sql, params)
        sqlite = self.dialect == "sqlite"
        while True:
            rows = cursor.fetchmany(size)
            if not rows:
                return
            yield [row if row[9] is None else (*row[:9], _usage_attributes(row[9], sqlite)) for row in rows]


def _usage_attributes(value: str | bytes, extracted: bool) -> list[Any]:
    if extracted:
        return _loads(value)
    attributes = _loads(value).get("attributes") or {}
    return [attributes.get(key) for key in _USAGE_KEYS]


# ---------------------------------------------------------------------------------------------------------
# MLflow's tracing client and SQL store
# ---------------------------------------------------------------------------------------------------------


def search_trace_ids(tracking_uri: str, experiment_id: str, filter_string: str) -> list[str]:
    """Ids of the traces MLflow's filter selects (MLflow evaluates the filter, without loading spans).
    MLflow's exceptions (a filter it rejects, an unreachable store) propagate."""
    from mlflow.tracing.client import TracingClient

    store = TracingClient(tracking_uri).store
    ids: list[str] = []
    token = None
    while True:
        infos, token = store.search_traces(
            locations=[experiment_id], filter_string=filter_string, max_results=5000, page_token=token
        )
        ids.extend(info.trace_id for info in infos)
        if not token or not infos:
            return ids


def search_trace_page(
    tracking_uri: str,
    experiment_id: str,
    filter_string: str | None,
    *,
    max_results: int,
    page_token: str | None,
    include_spans: bool,
) -> tuple[list[Any], str | None]:
    """One page of ``mlflow.entities.Trace`` (oldest first, ties broken by id) and the next page's token."""
    from mlflow.tracing.client import TracingClient

    page = TracingClient(tracking_uri).search_traces(
        locations=[experiment_id],
        filter_string=filter_string or None,
        max_results=max_results,
        order_by=["timestamp_ms ASC", "request_id ASC"],
        page_token=page_token,
        include_spans=include_spans,
    )
    return list(page), page.token


def get_trace(tracking_uri: str, trace_id: str) -> Any:
    """The ``mlflow.entities.Trace`` ``trace_id``; MLflow's exception when the store has no such trace."""
    from mlflow.tracing.client import TracingClient

    return TracingClient(tracking_uri).get_trace(trace_id)


def existing_trace_ids(tracking_uri: str, trace_ids: list[str]) -> set[str]:
    """Which of ``trace_ids`` the store already holds (in any experiment: trace ids are global). One query on a
    SQL store; one request per id elsewhere."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from mlflow.tracing.client import TracingClient

    client = TracingClient(tracking_uri)
    if isinstance(client.store, SqlAlchemyStore):
        from mlflow.store.tracking.dbmodels.models import SqlTraceInfo

        with client.store.ManagedSessionMaker() as session:
            rows = session.query(SqlTraceInfo.request_id).filter(SqlTraceInfo.request_id.in_(trace_ids)).all()
        return {row[0] for row in rows}
    found = set()
    for trace_id in trace_ids:
        try:
            client.get_trace_info(trace_id)
            found.add(trace_id)
        except Exception:  # not found (or unreadable): the importer writes it
            pass
    return found


# ---------------------------------------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------------------------------------


def check_shapes() -> None:
    """Raise :class:`MlflowShapeError` naming every difference between the installed MLflow and the shapes this
    module reads (version, tables and columns, ``TracingClient`` and store method parameters)."""
    import inspect

    import mlflow
    from mlflow.store.tracking.dbmodels import models
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from mlflow.tracing.client import TracingClient

    problems: list[str] = []
    if mlflow.__version__ != MLFLOW_VERSION_CHECKED:
        problems.append(f"MLflow is {mlflow.__version__}, the reading code mirrors {MLFLOW_VERSION_CHECKED}")
    tables = models.Base.metadata.tables
    for table, columns in TABLES.items():
        if table not in tables:
            problems.append(f"table {table!r} is gone from MLflow's SQL schema")
            continue
        missing = [c for c in columns if c not in tables[table].columns]
        if missing:
            problems.append(f"table {table!r} lost column(s) {', '.join(missing)}")
    if getattr(models, "SqlTraceInfo", None) is None or models.SqlTraceInfo.__tablename__ != "trace_info":
        problems.append("models.SqlTraceInfo (the trace_info table) is gone")
    wanted = {
        (TracingClient, "search_traces"): ("locations", "filter_string", "max_results", "order_by", "page_token", "include_spans"),
        (TracingClient, "get_trace"): ("trace_id",),
        (TracingClient, "get_trace_info"): ("trace_id",),
        (SqlAlchemyStore, "search_traces"): ("locations", "filter_string", "max_results", "page_token"),
    }
    for (owner, name), params in wanted.items():
        member = getattr(owner, name, None)
        if member is None:
            problems.append(f"{owner.__name__}.{name} is gone")
            continue
        if params:
            missing = [p for p in params if p not in inspect.signature(member).parameters]
            if missing:
                problems.append(f"{owner.__name__}.{name} lost parameter(s) {', '.join(missing)}")
    if problems:
        raise MlflowShapeError(
            "llmops' trace reading (llmops/mlflow_internals/trace_reading.py) no longer matches the installed "
            "MLflow: " + "; ".join(problems) + ". Update the module (and MLFLOW_VERSION_CHECKED) or pin mlflow."
        )
