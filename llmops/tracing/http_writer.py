"""Finished traces to an MLflow tracking server (``http(s)://`` tracking URI), many per request.

MLflow's client writes one trace with two requests (``log_spans`` then ``start_trace``), each retried for
minutes inside the call. Here a batch of traces takes one of two paths:

* **``llmops server``** (MLflow's server started with ``--app-name llmops``): one request per batch (at most 8 MB
  of trace JSON, less after a 413 from the server or a proxy in front of it) to
  llmops' batch endpoint (:mod:`llmops.mlflow_internals.trace_writing.batch`), which stores whole traces (info,
  tags, metadata, spans, prompt links) in one transaction on the server;
* **a plain ``mlflow server``** (the endpoint answers 404), MLflow's own ingestion API:

  1. ``StartTraceV3`` for every trace, a few at once: the trace info with its tags, metadata (user, session,
     ``llmops.cost_usd``, previews, size stats), assessments and client request id, which the OTLP endpoint
     cannot carry;
  2. one OTLP request (``/v1/traces`` with the experiment header) holding the spans of the whole batch, which
     the server stores in one transaction, with token usage and cost rolled up from the spans;
  3. ``LinkPromptsToTrace`` for the traces that loaded a registered prompt (the ``mlflow.linkedPrompts`` tag
     itself went with step 1).

  Traces with assessments take this path on either server.

Each step is retried only for the traces it has not done yet, with backoff, while the server does not answer
(refused connection, timeout, 5xx, 429), for at most ``wait_limit`` seconds per outage: the batch is held
and the queue behind it fills, then blocks producers (back-pressure). How many traces waited is logged when
the server answers again. Past the limit the batch is counted lost and logged at ERROR, and later batches
are tried once each until the server answers, so a dead server costs one ``wait_limit``, never a hang.
An answer that is not worth retrying (bad request, unknown experiment, refused credentials) fails only the
traces it concerns, each logged. A retried batch request never stores a trace twice (the endpoint counts a
trace it already holds as stored).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from llmops.errors import UserError
from llmops.mlflow_internals.trace_writing import (
    ClientTraceWriter,
    ServerApi,
    ServerReply,
    add_size_stats,
    has_attachments,
)

_logger = logging.getLogger(__name__)

#: Spans per request: a batch of 200 analyzer traces is ~1,600 spans, one request.
MAX_SPANS_PER_REQUEST = 4_000
#: Bytes of trace JSON per batch-endpoint request, at first; halved each time the server (or a reverse proxy in
#: front of it) answers 413, down to one trace per request.
MAX_BATCH_BYTES = 8 * 1024 * 1024


class TrackingServerError(UserError):
    """The tracking server cannot be used (unreachable, refused the credentials, not an MLflow server)."""


def display_uri(uri: str) -> str:
    """The URI without any ``user:password@`` part, for messages and logs."""
    parts = urlsplit(uri)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit(parts._replace(netloc=netloc))
    return uri


def check_server(tracking_uri: str, experiment_name: str, timeout: float = 30.0) -> None:
    """One request at start-up: raise :class:`TrackingServerError` with one clear line if it cannot be used."""
    where = display_uri(tracking_uri)
    reply = ServerApi(tracking_uri, timeout=timeout).probe(experiment_name)
    if reply.ok:
        return
    if reply.status in (401, 403):
        raise TrackingServerError(
            f"tracking server {where} refused the credentials (HTTP {reply.status}): set "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) to an account it knows"
        )
    if reply.status == 0:
        raise TrackingServerError(
            f"tracking server {where} is unreachable ({reply.message}): start it, or point LLMOPS_TRACKING_URI "
            "at a running server"
        )
    raise TrackingServerError(f"tracking server {where} answered HTTP {reply.status}: {reply.message}")


@dataclass
class _Job:
    item: Any  # exporter.PendingTrace
    info_done: bool = False
    spans_done: bool = False
    prompts_done: bool = False
    encoded: bytes | None = None  # the trace's JSON for the batch endpoint, made once
    error: str | None = None

    @property
    def trace_id(self) -> str:
        return self.item.trace.info.trace_id

    @property
    def done(self) -> bool:
        return self.info_done and self.spans_done and self.prompts_done


@dataclass
class _Round:
    """One pass over a batch: the first transient failure seen, if any."""

    transient: ServerReply | None = None
    notes: list[str] = field(default_factory=list)


class HttpBatchWriter:
    """Writes batches of finished traces to one tracking server; see the module docstring."""

    def __init__(
        self,
        tracking_uri: str,
        *,
        wait_limit: Callable[[], float],
        queued: Callable[[], int],
        fallback: ClientTraceWriter,
        workers: int = 8,
    ) -> None:
        self.api = ServerApi(tracking_uri)
        self.where = display_uri(tracking_uri)
        self._wait_limit = wait_limit
        self._queued = queued
        self._fallback = fallback
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="llmops-trace-http")
        self._otlp = True  # False once the server says its store cannot take OTLP spans
        self._batches = True  # False once the server says it has no llmops batch endpoint (a plain mlflow server)
        self._max_batch_bytes = MAX_BATCH_BYTES
        self._given_up = False  # an outage outlasted the limit: try once per batch until the server answers

    @staticmethod
    def accepts(item: Any) -> bool:
        # Writes into another workspace, and spans with attachments (uploaded to the artifact store), go
        # through MLflow's own calls.
        return not item.workspace and not has_attachments(item.trace)

    def write(self, items: Sequence[Any]) -> tuple[int, int]:
        """Store ``items`` (``PendingTrace``); returns (stored, failed). Failures are logged here."""
        if not self._otlp:
            return self._write_one_by_one(items)
        jobs = [_Job(item) for item in items]
        outage_start: float | None = None
        held = 0
        delay = 0.25
        while True:
            pending = [job for job in jobs if not job.done and job.error is None]
            if not pending:
                break
            attempt = self._attempt(pending)
            if attempt.transient is None:
                continue  # every pending job is now done or failed for good
            now = time.monotonic()
            if outage_start is None:
                outage_start = now
                held = len(pending) + self._queued()
                if self._given_up:
                    self._fail(pending, f"tracking server {self.where} still not answering ({attempt.transient!r})")
                    break
                _logger.warning(
                    "llmops tracing: tracking server %s not answering (%r); holding %d trace(s) and retrying "
                    "for up to %.0f s",
                    self.where, attempt.transient, held, self._wait_limit(),
                )  # fmt: skip
            elif now - outage_start >= self._wait_limit():
                self._given_up = True
                self._fail(
                    pending,
                    f"tracking server {self.where} did not answer for {now - outage_start:.0f} s "
                    f"(limit {self._wait_limit():.0f} s, LLMOPS_TRACE_SERVER_WAIT); last error: {attempt.transient!r}",
                )
                break
            time.sleep(max(0.0, min(delay, outage_start + self._wait_limit() - now)))
            delay = min(delay * 2, 4.0)
        stored = sum(job.done for job in jobs)
        if stored:
            self._given_up = False
        if outage_start is not None and stored:
            held = max(held, len(jobs) + self._queued())
            _logger.warning(
                "llmops tracing: tracking server %s answered again after %.1f s; %d trace(s) waited for it "
                "(this batch and the queue behind it), none dropped",
                self.where, time.monotonic() - outage_start, held,
            )  # fmt: skip
        return stored, len(jobs) - stored

    # -- one pass ------------------------------------------------------------------------------------------

    def _attempt(self, pending: list[_Job]) -> _Round:
        attempt = _Round()
        if self._batches:
            self._write_batches([job for job in pending if not job.info_done and not job.item.trace.info.assessments],
                                attempt)  # fmt: skip
            if attempt.transient is not None:
                return attempt
            pending = [job for job in pending if not job.done and job.error is None]
        self._start_traces([job for job in pending if not job.info_done], attempt)
        if attempt.transient is None:
            self._log_spans([job for job in pending if job.info_done and not job.spans_done], attempt)
        if attempt.transient is None:
            self._link_prompts([job for job in pending if job.spans_done and not job.prompts_done], attempt)
        return attempt

    def _write_batches(self, jobs: list[_Job], attempt: _Round) -> None:
        from llmops.mlflow_internals.trace_writing.batch import encode_trace

        for job in jobs:
            if job.encoded is None:
                job.encoded = encode_trace(job.item.trace)
        for chunk in _chunks(jobs, self._max_batch_bytes):
            reply = self.api.write_batch(
                [job.encoded for job in chunk], {job.trace_id: job.item.prompts for job in chunk}
            )
            if reply.ok:
                self._apply_batch_answer(chunk, reply.data or {})
            elif reply.transient:
                attempt.transient = attempt.transient or reply
                return
            elif reply.status in (403, 404, 405, 501):  # 403: an auth layer that lets only MLflow's own routes by
                _logger.info(
                    "llmops tracing: %s has no llmops batch endpoint (%r): storing through MLflow's OTLP API "
                    "(`llmops server` stores ~2x faster)", self.where, reply,
                )  # fmt: skip
                self._batches = False
                return
            elif reply.status == 413 and len(chunk) > 1:
                size = sum(len(job.encoded or b"") for job in chunk)
                self._max_batch_bytes = max(1, size // 2)
                _logger.warning(
                    "llmops tracing: %s refused a batch of %d bytes (HTTP 413): sending at most %d bytes per "
                    "request from now on", self.where, size, self._max_batch_bytes,
                )  # fmt: skip
                self._write_batches(chunk, attempt)
                if attempt.transient is not None or not self._batches:
                    return
            elif len(chunk) > 1:  # one unreadable trace must not cost the batch: send them one by one
                for job in chunk:
                    self._write_batches([job], attempt)
                    if attempt.transient is not None or not self._batches:
                        return
            else:
                size = len(chunk[0].encoded or b"")
                self._fail(chunk, f"the server refused it ({reply!r}; {size} bytes of trace JSON)")

    def _apply_batch_answer(self, chunk: list[_Job], answer: dict[str, Any]) -> None:
        stored = set(answer.get("stored") or ())
        failed = answer.get("failed") or {}
        for trace_id, reason in (answer.get("unlinked") or {}).items():
            # The trace is stored, with its mlflow.linkedPrompts tag.
            _logger.warning("llmops tracing: could not link prompts to %s: %s", trace_id, reason)
        for job in chunk:
            if job.trace_id in stored:
                job.info_done = job.spans_done = job.prompts_done = True
            else:
                self._fail([job], f"the server refused it ({failed.get(job.trace_id, 'no answer for this trace')})")

    def _start_traces(self, jobs: list[_Job], attempt: _Round) -> None:
        for job in jobs:
            add_size_stats(job.item.trace)
        for job, reply in zip(jobs, self._map(lambda job: self.api.start_trace(job.item.trace), jobs)):
            if reply.ok:
                job.info_done = True
            elif reply.transient:
                attempt.transient = attempt.transient or reply
            else:
                self._fail([job], f"the server refused its trace info ({reply!r})")

    def _log_spans(self, jobs: list[_Job], attempt: _Round) -> None:
        by_experiment: dict[str, list[_Job]] = {}
        for job in jobs:
            by_experiment.setdefault(job.item.trace.info.experiment_id, []).append(job)
        for experiment_id, group in by_experiment.items():
            for chunk in _chunks(group):
                spans = [span for job in chunk for span in job.item.trace.data.spans]
                reply = self.api.log_spans(experiment_id, spans) if spans else ServerReply(200)
                if reply.ok:
                    for job in chunk:
                        job.spans_done = True
                elif reply.transient:
                    attempt.transient = attempt.transient or reply
                    return
                elif reply.status == 501:  # a store without span ingestion: MLflow's own per-trace path
                    _logger.warning(
                        "llmops tracing: %s cannot take OTLP spans (%r); writing trace by trace", self.where, reply
                    )
                    self._otlp = False
                    for job in chunk:
                        self._write_with_client(job)
                elif len(chunk) > 1:  # one bad trace must not cost the batch: find it
                    for job in chunk:
                        self._log_spans_one(experiment_id, job, attempt)
                else:
                    self._fail(chunk, f"the server refused its spans ({reply!r})")

    def _log_spans_one(self, experiment_id: str, job: _Job, attempt: _Round) -> None:
        reply = self.api.log_spans(experiment_id, job.item.trace.data.spans)
        if reply.ok:
            job.spans_done = True
        elif reply.transient:
            attempt.transient = attempt.transient or reply
        else:
            self._fail([job], f"the server refused its spans ({reply!r})")

    def _link_prompts(self, jobs: list[_Job], attempt: _Round) -> None:
        with_prompts = [job for job in jobs if job.item.prompts]
        for job in jobs:
            if not job.item.prompts:
                job.prompts_done = True
        replies = self._map(lambda job: self.api.link_prompts(job.trace_id, job.item.prompts), with_prompts)
        for job, reply in zip(with_prompts, replies):
            if reply.transient:
                attempt.transient = attempt.transient or reply
                continue
            if not reply.ok:  # the trace is stored, with its mlflow.linkedPrompts tag
                _logger.warning("llmops tracing: could not link prompts to %s: %r", job.trace_id, reply)
            job.prompts_done = True

    def _map(self, fn: Callable[[_Job], ServerReply], jobs: list[_Job]) -> list[ServerReply]:
        futures: list[Any] = []
        for job in jobs:
            try:
                futures.append(self._pool.submit(fn, job))
            except RuntimeError:  # the interpreter is exiting (the exit hook's flush): no new threads
                futures.append(None)
        return [future.result() if future is not None else fn(job) for future, job in zip(futures, jobs)]

    # -- failures and the per-trace path -------------------------------------------------------------------

    def _fail(self, jobs: list[_Job], reason: str) -> None:
        for job in jobs:
            job.error = reason
        if len(jobs) == 1:
            _logger.error("llmops tracing: trace %s not stored: %s", jobs[0].trace_id, reason)
        elif jobs:
            _logger.error("llmops tracing: %d traces not stored: %s", len(jobs), reason)

    def _write_with_client(self, job: _Job) -> None:
        try:
            self._fallback.write(job.item.trace, job.item.prompts, job.item.workspace)
            job.info_done = job.spans_done = job.prompts_done = True
        except Exception as exc:
            self._fail([job], str(exc))

    def _write_one_by_one(self, items: Sequence[Any]) -> tuple[int, int]:
        jobs = [_Job(item) for item in items]
        for job in jobs:
            self._write_with_client(job)
        stored = sum(job.done for job in jobs)
        return stored, len(jobs) - stored


def _chunks(jobs: list[_Job], max_bytes: float = math.inf) -> list[list[_Job]]:
    """Consecutive groups of at most MAX_SPANS_PER_REQUEST spans and ``max_bytes`` of encoded traces."""
    chunks: list[list[_Job]] = [[]]
    spans = size = 0
    for job in jobs:
        count = len(job.item.trace.data.spans)
        length = len(job.encoded or b"")
        if chunks[-1] and (spans + count > MAX_SPANS_PER_REQUEST or size + length > max_bytes):
            chunks.append([])
            spans = size = 0
        chunks[-1].append(job)
        spans += count
        size += length
    return chunks
