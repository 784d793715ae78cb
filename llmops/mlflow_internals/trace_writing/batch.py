"""llmops' batch endpoint on MLflow's tracking server: many whole traces per request, one transaction.

MLflow's own ingestion API costs the server one ``StartTraceV3`` per trace (two experiment reads and ~15
single-row INSERTs, ~15 ms of database round trips on PostgreSQL) before the OTLP spans: a server tops out at
~50 traces/s however the client batches. ``llmops server`` (``mlflow server --app-name llmops``) adds one route,
``POST /api/2.0/llmops/traces/batch``, which stores a whole batch with :class:`SqlBatchWriter`, the same rows
MLflow's ``start_trace`` + ``log_spans`` produce, in a few multi-row INSERTs. A plain ``mlflow server`` answers
404 and the client uses the OTLP path instead.

The wire format is MLflow's own trace JSON (``Trace.to_dict()``), so nothing llmops-specific is stored::

    {"format": 1, "traces": [<Trace.to_dict()>, ...], "prompts": {"<trace id>": [["name", 3], ...]}}

Bodies from 64 kB on travel gzip-compressed (``Content-Encoding: gzip``; the limit applies to the inflated
size). The answer is ``{"stored": [ids], "failed": {id: reason}, "unlinked": {id: reason}}``: a retried request
(the answer to the first one was lost) finds its traces already stored and counts them stored, so a retry
never duplicates nor fails a trace. HTTP 400 names the bad trace, 501 says the server's store cannot take
batches (the client falls back to MLflow's API), 503 says the database did not answer (worth retrying).
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from mlflow.entities import Trace

from llmops.mlflow_internals.trace_writing.sql import SqlBatchWriter

_logger = logging.getLogger(__name__)

BATCH_PATH = "/api/2.0/llmops/traces/batch"
BATCH_FORMAT = 1
#: The largest request body the endpoint reads, unless ``LLMOPS_SERVER_MAX_BATCH_BYTES`` says otherwise; larger
#: bodies get HTTP 413 (as from a reverse proxy's limit) and the client sends smaller batches.
MAX_BODY_BYTES = 64 * 1024 * 1024


class BadBatch(ValueError):
    """The request cannot be read; the message names the trace or field."""


def encode_trace(trace: Trace) -> bytes:
    """One trace as the batch carries it (MLflow's trace JSON)."""
    return json.dumps(trace.to_dict(), separators=(",", ":")).encode("utf-8")


def encode_batch(traces: Sequence[Trace | bytes], prompts: dict[str, Sequence[Any]]) -> bytes:
    """The request body for ``traces`` (or their :func:`encode_trace` bytes) and the prompt versions (``.name``,
    ``.version``) each one loaded."""
    encoded = [trace if isinstance(trace, bytes) else encode_trace(trace) for trace in traces]
    links = {tid: [[p.name, int(p.version)] for p in versions] for tid, versions in prompts.items() if versions}
    head = b'{"format":%d,"traces":[' % BATCH_FORMAT
    return head + b",".join(encoded) + b'],"prompts":' + json.dumps(links).encode("utf-8") + b"}"


#: Bodies from this size on are sent gzip-compressed (trace JSON shrinks ~10x: it matters beyond localhost).
GZIP_FROM_BYTES = 64 * 1024


def gzip_body(body: bytes) -> tuple[bytes, dict[str, str]]:
    """The body to send and its extra headers: gzip (fast level) from GZIP_FROM_BYTES on."""
    if len(body) < GZIP_FROM_BYTES:
        return body, {}
    return gzip.compress(body, compresslevel=1), {"Content-Encoding": "gzip"}


def gunzip(body: bytes, limit: int) -> bytes | None:
    """The decompressed body, or None when it would exceed ``limit`` bytes (never inflated past it)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # the gzip container
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise BadBatch(f"the body is not valid gzip: {exc}") from None
    if len(data) > limit or inflater.unconsumed_tail:
        return None
    if not inflater.eof:
        raise BadBatch("the gzip body is truncated")
    return data


def decode_batch(body: bytes) -> tuple[list[Trace], dict[str, list[tuple[str, int]]]]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadBatch(f"the body is not JSON: {exc}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("traces"), list):
        raise BadBatch('the body must be a JSON object with a "traces" list')
    if payload.get("format") != BATCH_FORMAT:
        raise BadBatch(f"unknown batch format {payload.get('format')!r} (this server reads format {BATCH_FORMAT})")
    traces = []
    for index, item in enumerate(payload["traces"]):
        try:
            trace = Trace.from_dict(item)
            _ = int(trace.info.experiment_id)
        except Exception as exc:
            trace_id = item.get("info", {}).get("trace_id") if isinstance(item, dict) else None
            raise BadBatch(f"trace #{index} ({trace_id or 'no trace_id'}) cannot be read: {exc}") from None
        traces.append(trace)
    prompts: dict[str, list[tuple[str, int]]] = {}
    for trace_id, versions in (payload.get("prompts") or {}).items():
        try:
            prompts[trace_id] = [(str(name), int(version)) for name, version in versions]
        except (TypeError, ValueError):
            raise BadBatch(f'"prompts" of trace {trace_id} must be a list of [name, version] pairs') from None
    return traces, prompts


class BatchEndpoint:
    """Stores decoded batches in the server's tracking store; one instance per server process."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.writer = SqlBatchWriter.for_store(store)

    def store_batch(
        self,
        traces: list[Trace],
        prompts: dict[str, list[tuple[str, int]]],
        may_write: Callable[[str], str | None] | None = None,
    ) -> dict[str, Any]:
        """Store ``traces``; returns the answer body. Raises only when the database does not answer.

        ``may_write(experiment_id)`` returns why the caller may not write traces there (None: it may).
        """
        assert self.writer is not None
        failed: dict[str, str] = {}
        writable: list[Trace] = []
        denied: dict[str, str | None] = {}
        for trace in traces:
            experiment_id = str(trace.info.experiment_id)
            if may_write is not None and experiment_id not in denied:
                denied[experiment_id] = may_write(experiment_id)
            reason = denied.get(experiment_id) or self._refusal(trace)
            if reason:
                failed[trace.info.trace_id] = reason
            else:
                writable.append(trace)
        stored = self._write(writable, failed)
        unlinked: dict[str, str] = {}
        for trace_id in stored:
            if versions := prompts.get(trace_id):
                try:
                    self._link(trace_id, versions)
                except Exception as exc:
                    if _is_unavailable(exc):
                        raise
                    unlinked[trace_id] = _short(exc)
        return {"stored": stored, "failed": failed, "unlinked": unlinked}

    def _refusal(self, trace: Trace) -> str | None:
        if not SqlBatchWriter.accepts(trace, None):
            return "traces with assessments or attachments go through MLflow's own API"
        try:
            self.writer.check_experiment(str(trace.info.experiment_id))
        except Exception as exc:
            if _is_unavailable(exc):
                raise
            return _short(exc)
        return None

    def _write(self, traces: list[Trace], failed: dict[str, str]) -> list[str]:
        from sqlalchemy.exc import IntegrityError

        if not traces:
            return []
        try:
            self.writer.write(traces)
            return [t.info.trace_id for t in traces]
        except Exception as exc:
            if isinstance(_database_error(exc), IntegrityError):
                # Some are stored already: a retry of a request whose answer was lost, or a trace sent twice.
                existing = self.writer.existing_trace_ids([t.info.trace_id for t in traces])
                if existing:
                    stored = []
                    for trace in traces:
                        where = existing.get(trace.info.trace_id)
                        if where == str(trace.info.experiment_id):
                            stored.append(trace.info.trace_id)  # the same trace, stored by an earlier try
                        elif where is not None:  # never touch (or link prompts to) a trace of another experiment
                            failed[trace.info.trace_id] = "a trace with this id is already stored in another experiment"
                    rest = [t for t in traces if t.info.trace_id not in existing]
                    return stored + self._write(rest, failed)
            if _is_unavailable(exc):
                raise
            if len(traces) == 1:
                failed[traces[0].info.trace_id] = _short(exc)
                _logger.warning("llmops batch endpoint: trace %s refused: %s", traces[0].info.trace_id, exc)
                return []
            # One bad trace must not cost the batch: halve until it is found.
            middle = len(traces) // 2
            return self._write(traces[:middle], failed) + self._write(traces[middle:], failed)

    def _link(self, trace_id: str, versions: list[tuple[str, int]]) -> None:
        from mlflow.entities.model_registry import PromptVersion

        # Name and version are all the link needs (MLflow's LinkPromptsToTrace handler does the same).
        self.store.link_prompts_to_trace(
            trace_id, [PromptVersion(name=name, version=version, template="") for name, version in versions]
        )


def _database_error(exc: BaseException) -> BaseException:
    """The SQLAlchemy error behind ``exc`` (MLflow's managed sessions wrap them in an MlflowException)."""
    from sqlalchemy.exc import SQLAlchemyError

    seen = exc
    while seen is not None and not isinstance(seen, SQLAlchemyError):
        seen = seen.__cause__ or seen.__context__
    return seen if seen is not None else exc


def _is_unavailable(exc: BaseException) -> bool:
    """The database did not answer (down, restarting, connections exhausted): the client should retry."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    error = _database_error(exc)
    if isinstance(error, OperationalError):
        return True
    return isinstance(error, DBAPIError) and bool(getattr(error, "connection_invalidated", False))


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]


def basic_auth_check() -> Callable[[str], str | None]:
    """For the request being served by MLflow's basic-auth app: may its user write traces in an experiment?

    The check MLflow's basic-auth app makes for ``StartTraceV3`` (update on the experiment, traces not denied),
    for the user its ``before_request`` hook authenticated; admins may write everywhere.
    """
    from flask import g
    from mlflow.server.auth import _authorize_create_in_experiment_as
    from mlflow.server.auth import store as auth_store
    from mlflow.server.auth.permissions import RESOURCE_TYPE_TRACE

    username = getattr(g, "mlflow_authenticated_user", None)
    if username is None:
        return lambda experiment_id: "the request is not authenticated"
    if auth_store.get_user(username).is_admin:
        return lambda experiment_id: None

    def check(experiment_id: str) -> str | None:
        if _authorize_create_in_experiment_as(username, experiment_id, RESOURCE_TYPE_TRACE):
            return None
        return f"permission denied: user {username!r} may not write traces in experiment {experiment_id}"

    return check


def behind_basic_auth(flask_app: Any) -> Any:
    """The endpoint inside MLflow's basic-auth app: authenticated users reach it (the app denies routes it has no
    validator for), and each trace is stored only where its user may write (:func:`basic_auth_check`)."""
    from mlflow.server import auth

    add_batch_endpoint(flask_app, checks=basic_auth_check)
    # Any authenticated user passes the request gate, as for MLflow's own /users/current; the handler then
    # authorizes experiment by experiment.
    auth.BEFORE_REQUEST_VALIDATORS[(BATCH_PATH, "POST")] = lambda: True
    return auth.create_app(flask_app)


def add_batch_endpoint(flask_app: Any, checks: Callable[[], Callable[[str], str | None]] | None = None) -> None:
    """Register ``POST BATCH_PATH`` on MLflow's Flask app (idempotent). ``checks()``, called once per request,
    gives the permission check for its user (see :func:`basic_auth_check`); None lets everyone write."""
    from flask import Response, request

    if any(rule.rule == BATCH_PATH for rule in flask_app.url_map.iter_rules()):
        return
    endpoints: list[BatchEndpoint] = []
    limit = int(os.environ.get("LLMOPS_SERVER_MAX_BATCH_BYTES") or MAX_BODY_BYTES)

    def reply(status: int, body: dict[str, Any]) -> Response:
        return Response(json.dumps(body), status=status, mimetype="application/json")

    def store_batch() -> Response:
        if not endpoints:
            from mlflow.server.handlers import _get_tracking_store

            endpoints.append(BatchEndpoint(_get_tracking_store()))
        endpoint = endpoints[0]
        if endpoint.writer is None:
            return reply(501, {"message": "this server's tracking store cannot take trace batches; use MLflow's API"})
        def too_large() -> Response:
            return reply(413, {"message": f"a batch is at most {limit} bytes: send smaller batches"})

        if (request.content_length or 0) > limit:
            return too_large()
        try:
            body = request.get_data()
            if request.headers.get("Content-Encoding", "").lower() == "gzip":
                body = gunzip(body, limit)
                if body is None:
                    return too_large()
            traces, prompts = decode_batch(body)
        except BadBatch as exc:
            return reply(400, {"message": str(exc)})
        try:
            return reply(200, endpoint.store_batch(traces, prompts, checks() if checks else None))
        except Exception as exc:
            if _is_unavailable(exc):
                return reply(503, {"message": f"the tracking store did not answer: {_short(exc)}"})
            _logger.exception("llmops batch endpoint: batch of %d trace(s) failed", len(traces))
            return reply(500, {"message": _short(exc)})

    flask_app.add_url_rule(BATCH_PATH, "llmops_store_trace_batch", store_batch, methods=["POST"])


def server_app(flask_app: Any) -> Any:
    """What ``mlflow server --app-name`` must return: the FastAPI app around Flask under uvicorn, else Flask."""
    from mlflow.environment_variables import _MLFLOW_SGI_NAME

    if _MLFLOW_SGI_NAME.get() == "uvicorn":
        from mlflow.server.fastapi_app import create_fastapi_app

        return create_fastapi_app(flask_app)
    return flask_app
