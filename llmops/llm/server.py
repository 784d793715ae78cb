"""The offline model over HTTP: ``/v1/chat/completions``, ``/v1/embeddings``, ``/v1/models``.

The standard library's ``ThreadingHTTPServer`` with HTTP/1.1 keep-alive is enough: a completion is
computed in well under a millisecond, so the cost is the transport. Two details keep it fast: each
response is written in one ``send`` (headers and body together) and Nagle's algorithm is off, otherwise
a keep-alive client waits ~40 ms for delayed ACKs on every request.

In-process use::

    with OfflineLLM() as llm:          # or: with serve_in_thread() as base_url:
        client = openai.OpenAI(base_url=llm.base_url, api_key="offline")

As a server: ``llmops llm serve --port 8765`` (127.0.0.1 only).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections import Counter
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

from llmops.llm.faults import HEADER, FaultConfig, FaultDecision, FaultInjector, FaultSpecError
from llmops.llm.model import OfflineModel, request_key
from llmops.llm.protocol import APIError, parse_json_body
from llmops.llm.replay import Cassette, ReplayModel

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
MAX_BODY = 32 * 1024 * 1024
_HTTP_FAULT_ERRORS = {
    "rate_limit": (
        429,
        "Rate limit reached for requests (offline model fault injection). Please try again later.",
        "requests",
        "rate_limit_exceeded",
    ),
    "server_error": (
        500,
        "The server had an error while processing your request. Sorry about that! (offline model fault injection)",
        "server_error",
        "internal_error",
    ),
    "unavailable": (
        503,
        "The engine is currently overloaded, please try again later. (offline model fault injection)",
        "server_error",
        "service_unavailable",
    ),
    "timeout": (504, "The request timed out (offline model fault injection).", "timeout", "timeout"),
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # keep-alive connections must not hold up shutdown
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], model: OfflineModel | ReplayModel, faults: FaultConfig) -> None:
        super().__init__(address, _Handler)
        self.model = model
        self.injector = FaultInjector(faults)
        self.header_injectors: dict[str, FaultInjector] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.stats: Counter[str] = Counter()
        self.connections: set[socket.socket] = set()

    def close_connections(self) -> None:
        """Close kept-alive connections too: a stopped server must not answer on a pooled socket."""
        with self.lock:
            connections = list(self.connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def injector_for_header(self, spec: str) -> FaultInjector:
        # One injector per distinct header value, so ``max=N`` counts across the requests that carry it.
        with self.lock:
            injector = self.header_injectors.get(spec)
            if injector is None:
                injector = self.header_injectors[spec] = FaultInjector(FaultConfig.parse(spec))
            return injector


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120  # an idle keep-alive connection is closed after two minutes
    server_version = "llmops-offline/1"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.lock:
            self.server.connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        log.debug("%s - %s", self.address_string(), format % args)

    # --- plumbing -----------------------------------------------------------------------------------------

    def _send(
        self, status: int, payload: bytes, content_type: str = "application/json", headers: dict[str, str] | None = None
    ) -> None:
        lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
        lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(payload)}")
        lines.append(f"Server: {self.server_version}")
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        close = self.close_connection or self.headers.get("Connection", "").lower() == "close"
        lines.append("Connection: close" if close else "Connection: keep-alive")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.wfile.write(head + payload)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True
        self.server.stats[str(status)] += 1
        self.server.stats["requests"] += 1
        if close:
            self.close_connection = True

    def _json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json", headers)

    def _error(self, error: APIError) -> None:
        self._json(error.status, error.body(), error.headers)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
                if len(data) > MAX_BODY:
                    raise APIError(413, "Request body too large.", code="request_too_large")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            raise APIError(413, "Request body too large.", code="request_too_large")
        return self.rfile.read(length) if length else b""

    def _route(self) -> str:
        path = self.path.split("?", 1)[0].rstrip("/")
        return path[3:] if path.startswith("/v1/") or path == "/v1" else path

    def _not_found(self) -> None:
        self._error(
            APIError(
                404,
                f"Unknown request URL: {self.command} {self.path.split('?', 1)[0]}. "
                "Please check the URL for typos, or see the docs at https://platform.openai.com/docs/api-reference/.",
                code="unknown_url",
            )
        )

    # --- methods ------------------------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        route = self._route()
        if route == "/models":
            self._json(200, self.server.model.models())
        elif route.startswith("/models/") and len(route) > len("/models/"):
            self._json(200, self.server.model.model(route[len("/models/") :]))
        elif route in {"/health", "/healthz", ""}:
            self._json(200, {"status": "ok"})
        elif route in {"/chat/completions", "/embeddings"}:
            self._error(
                APIError(405, f"Method GET is not allowed for {self.path}; use POST.", code="method_not_allowed")
            )
        else:
            self._not_found()

    def do_POST(self) -> None:  # noqa: N802
        route = self._route()
        try:
            raw = self._read_body()
        except APIError as error:
            self._error(error)
            return
        except (ValueError, OSError):
            self.close_connection = True
            self._error(APIError(400, "Malformed request body.", code="invalid_body"))
            return
        if route not in {"/chat/completions", "/embeddings"}:
            self._not_found()
            return
        try:
            body = parse_json_body(raw)
            endpoint = "chat" if route == "/chat/completions" else "embeddings"
            decision = self._faults(endpoint, body)
            if decision.latency_s:
                self._sleep(decision.latency_s)
            if decision.http_fault:
                self._http_fault(decision)
                return
            if endpoint == "embeddings":
                decision.settle(set())
                headers = {"X-Offline-Faults-Applied": ",".join(decision.applied)} if decision.applied else {}
                self._json(200, self.server.model.embeddings(body), headers)
                return
            result = self.server.model.chat(body, decision)
            decision.settle(result.faults_used)
            headers = {"X-Offline-Faults-Applied": ",".join(decision.applied)} if decision.applied else {}
            headers["X-Request-Id"] = "req_" + result.response["id"][-24:]
            if body.get("stream"):
                events = (
                    "".join(f"data: {json.dumps(c, ensure_ascii=False)}\n\n" for c in result.chunks)
                    + "data: [DONE]\n\n"
                )
                headers["Cache-Control"] = "no-cache"
                self._send(200, events.encode("utf-8"), "text/event-stream; charset=utf-8", headers)
            else:
                self._json(200, result.response, headers)
        except APIError as error:
            self._error(error)
        except FaultSpecError as error:
            self._error(APIError(400, str(error), code="invalid_fault_spec", param=HEADER))
        except Exception:  # a bug of ours: say so in OpenAI's shape instead of dropping the connection
            log.exception("offline model failed on %s", route)
            self._error(
                APIError(
                    500,
                    "The offline model failed on this request (a bug: see the server log).",
                    "server_error",
                    "internal_error",
                )
            )

    def do_PUT(self) -> None:  # noqa: N802
        self._not_found()

    def do_DELETE(self) -> None:  # noqa: N802
        self._not_found()

    def do_PATCH(self) -> None:  # noqa: N802
        self._not_found()

    # --- faults -------------------------------------------------------------------------------------------

    def _faults(self, endpoint: str, body: dict[str, Any]) -> FaultDecision:
        injectors = [self.server.injector] if self.server.injector.config else []
        spec = self.headers.get(HEADER)
        if spec and spec.strip():
            injectors.append(self.server.injector_for_header(spec.strip()))
        decision = FaultDecision()
        if not injectors:
            return decision
        text = _request_text(body)
        key = request_key(body)
        for injector in injectors:
            injector.decide(endpoint, text, key, into=decision)
        return decision

    def _sleep(self, seconds: float) -> None:
        # Sleep in slices so stopping the server is not held up by a long injected delay.
        deadline = time.monotonic() + seconds
        while not self.server.stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.05))

    def _http_fault(self, decision: FaultDecision) -> None:
        fault = decision.http_fault or "server_error"
        if fault == "timeout":
            self._sleep(decision.timeout_s)
        status, message, type_, code = _HTTP_FAULT_ERRORS[fault]
        headers = {"X-Offline-Faults-Applied": ",".join(decision.applied)}
        if fault == "rate_limit":
            retry = decision.retry_after
            headers["Retry-After"] = str(int(retry)) if float(retry).is_integer() else f"{retry:g}"
            headers["Retry-After-Ms"] = str(int(retry * 1000))
        self._error(APIError(status, message, type_, code, headers=headers))


def _request_text(body: dict[str, Any]) -> str:
    from llmops.llm.conversation import content_text

    parts: list[str] = []
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            parts.append(content_text(message.get("content")))
    value = body.get("input")
    if isinstance(value, str):
        parts.append(value)
    elif isinstance(value, list):
        parts.extend(v for v in value if isinstance(v, str))
    return "\n".join(parts)


class OfflineLLM:
    """The offline model served on 127.0.0.1 from a background thread; a context manager.

    ``faults``: a :class:`FaultConfig`, a spec string, or None to read ``LLMOPS_OFFLINE_FAULTS``.
    ``replay``: a trace file (or :class:`Cassette`) whose recorded answers are sent back instead of the offline
    model's (:mod:`llmops.llm.replay`); ``replay_mode`` ``strict`` refuses unrecorded requests, ``fallback``
    sends them to the offline model.
    """

    def __init__(
        self,
        faults: FaultConfig | str | None = None,
        port: int = 0,
        replay: Cassette | Path | str | None = None,
        replay_mode: str = "strict",
    ) -> None:
        if faults is None:
            from llmops.settings import get_settings

            faults = get_settings().offline_faults
        self._faults = FaultConfig.coerce(faults)
        self._port = port
        #: The replaying model when ``replay`` is given (its ``counts`` and ``misses``), else None.
        self.replay: ReplayModel | None = ReplayModel(replay, replay_mode) if replay is not None else None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the offline model is not running; use `with OfflineLLM() as llm:`")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """The base URL an OpenAI client wants: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.url}/v1"

    @property
    def faults(self) -> FaultConfig:
        return self._faults

    @faults.setter
    def faults(self, value: FaultConfig | str | None) -> None:
        """Replace the fault rules of a running server (their counters start again)."""
        self._faults = FaultConfig.coerce(value)
        if self._server is not None:
            self._server.injector = FaultInjector(self._faults)

    @property
    def stats(self) -> dict[str, int]:
        """Requests answered so far, in total and per HTTP status."""
        return dict(self._server.stats) if self._server else {}

    def start(self) -> "OfflineLLM":
        if self._thread is not None:
            return self
        self.bind()
        assert self._server is not None
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"offline-llm-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def bind(self) -> "OfflineLLM":
        """Open the listening socket without serving yet (so the port is known before ``serve_forever``)."""
        if self._server is None:
            self._server = _Server((HOST, self._port), self.replay or OfflineModel(), self._faults)
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the ``llmops llm serve`` command)."""
        self.bind()
        assert self._server is not None
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "OfflineLLM":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def serve_in_thread(
    faults: FaultConfig | str | None = None,
    port: int = 0,
    replay: Cassette | Path | str | None = None,
    replay_mode: str = "strict",
) -> Iterator[str]:
    """Run the offline model (or a replay of a cassette) for the duration of a ``with`` block; yields its base URL."""
    with OfflineLLM(faults=faults, port=port, replay=replay, replay_mode=replay_mode) as llm:
        yield llm.base_url
