"""A tracking server's trace-ingestion messages (``StartTraceV3``, OTLP ``/v1/traces``, ``LinkPromptsToTrace``,
and llmops' own batch endpoint when the server runs it), one HTTP request per call."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mlflow.entities import Trace
from mlflow.entities.model_registry import PromptVersion
from mlflow.entities.trace_data import TraceData
from mlflow.tracing.client import TracingClient
from mlflow.tracing.utils import add_size_stats_to_trace_metadata

_LINK_PROMPTS_PATH = "/api/2.0/mlflow/traces/link-prompts"


class ServerReply:
    """What one request to the tracking server came back with; ``status`` 0 when no answer came at all."""

    __slots__ = ("status", "message", "data")

    def __init__(self, status: int, message: str = "", data: Any = None) -> None:
        self.status = status
        self.message = message
        self.data = data  # the JSON answer, when the caller asked for it

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

    def _request(self, endpoint: str, method: str, *, answer: bool = False, **kwargs: Any) -> ServerReply:
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
            if not answer:
                return ServerReply(200)
            try:
                return ServerReply(200, data=response.json())
            except ValueError:
                return ServerReply(502, f"the answer is not JSON: {response.text[:200]}")
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

    def write_batch(
        self, traces: Sequence[Trace | bytes], prompts: dict[str, Sequence[PromptVersion]]
    ) -> ServerReply:
        """llmops' batch endpoint (``llmops server``): whole traces (or their ``encode_trace`` bytes), many per
        request. ``data`` is the answer (``stored``, ``failed``, ``unlinked``); a plain ``mlflow server`` answers
        404, a body over the server's (or its proxy's) limit 413."""
        from llmops.mlflow_internals.trace_writing.batch import BATCH_PATH, encode_batch, gzip_body

        body, headers = gzip_body(encode_batch(traces, prompts))
        return self._request(
            BATCH_PATH, "POST", answer=True, data=body, extra_headers={"Content-Type": "application/json", **headers}
        )

    def link_prompts(self, trace_id: str, prompts: Sequence[PromptVersion]) -> ServerReply:
        from mlflow.protos.service_pb2 import LinkPromptsToTrace
        from mlflow.utils.proto_json_utils import message_to_json

        refs = [LinkPromptsToTrace.PromptVersionRef(name=p.name, version=str(p.version)) for p in prompts]
        body = message_to_json(LinkPromptsToTrace(trace_id=trace_id, prompt_versions=refs))
        return self._request(_LINK_PROMPTS_PATH, "POST", json=json.loads(body))


def add_size_stats(trace: Trace) -> None:
    """The ``mlflow.trace.sizeBytes`` / ``sizeStats`` metadata MLflow's exporter adds before ``start_trace``
    (once: a trace sent again after a failure keeps the figures it has)."""
    from mlflow.tracing.constant import TraceMetadataKey

    if TraceMetadataKey.SIZE_BYTES not in trace.info.trace_metadata:
        add_size_stats_to_trace_metadata(trace)


def is_tracking_server(tracking_uri: str) -> bool:
    return tracking_uri.startswith(("http://", "https://"))

