"""MLflow's tracking server on a PostgreSQL backend store, with proxied artifacts, as a child process.

::

    server = start_tracking_server("postgresql://postgres@127.0.0.1:5432/mlflow", artifacts_dir="mlartifacts")
    os.environ["LLMOPS_TRACKING_URI"] = server.url          # http://127.0.0.1:<port>
    ...
    server.kill(); server.start()                           # a crash, then a restart on the same port and database
    server.stop()

It runs ``mlflow server --backend-store-uri <uri> --serve-artifacts --artifacts-destination <dir> --host 127.0.0.1
--port <port> --workers <n> --app-name llmops`` from the running virtual environment (``--app-name llmops`` adds
llmops' trace-batch endpoint, :mod:`llmops.server.app`; ``app=None`` runs MLflow's server as shipped), in its own process group, and waits until
``/health`` answers. Start-up costs ~17 s with one worker and ~30 s with four (``import mlflow`` per worker, then
the schema migrations of a new database): start few servers, reuse them.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from llmops.errors import UserError
from llmops.server.postgres import redact_uri
from llmops.server.processes import LOCALHOST, free_port, last_error, port_in_use, signal_group, stop_group, venv_bin
from llmops.settings import OFFLINE_GUARDS

DEFAULT_STARTUP_TIMEOUT = 300.0  # a fresh virtual environment on a loaded 2-core machine took 106 s


class TrackingServerError(UserError):
    """The tracking server cannot start or did not answer in time; the message names the cause and the log."""


@dataclass
class TrackingServer:
    """``mlflow server`` on ``backend_store_uri``; :meth:`start` (again) reuses the same port and database."""

    backend_store_uri: str
    artifacts_dir: Path
    port: int
    host: str = LOCALHOST
    workers: int = 1
    app: str | None = "llmops"
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    process: subprocess.Popen | None = field(default=None, repr=False)
    log_path: Path | None = None
    startup_seconds: float = 0.0

    @property
    def url(self) -> str:
        host = LOCALHOST if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def command(self) -> list[str]:
        return [
            str(venv_bin() / "mlflow"), "server",
            "--backend-store-uri", self.backend_store_uri,
            "--serve-artifacts", "--artifacts-destination", str(self.artifacts_dir),
            "--host", self.host, "--port", str(self.port), "--workers", str(self.workers),
            *(["--app-name", self.app] if self.app else []),
        ]  # fmt: skip

    def start(self) -> TrackingServer:
        """Start the server and return once ``/health`` answers; a clear error if it exits or times out."""
        if self.running:
            return self
        if port_in_use(self.port, self.host):
            raise TrackingServerError(f"port {self.port} on {self.host} is already in use: choose another port.")
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        for name, value in OFFLINE_GUARDS.items():
            env.setdefault(name, value)
        env["PATH"] = os.pathsep.join([str(venv_bin()), env.get("PATH", "")])  # mlflow server execs uvicorn
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
            env.pop(name, None)
        log = tempfile.NamedTemporaryFile(prefix=f"mlflow-server-{self.port}-", suffix=".log", delete=False)
        self.log_path = Path(log.name)
        started = time.perf_counter()
        self.process = subprocess.Popen(
            self.command(), env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        atexit.register(self.stop)
        try:
            self._wait_until_healthy()
        except BaseException:
            self._end(signal.SIGKILL)
            raise
        self.startup_seconds = time.perf_counter() - started
        return self

    def kill(self) -> None:
        """SIGKILL the server's whole process group at once, as a crash would (no shutdown, no flush)."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 15 s) and remove its log."""
        self._end(signal.SIGTERM)
        if self.log_path is not None:
            self.log_path.unlink(missing_ok=True)

    def _end(self, sig: int) -> None:
        atexit.unregister(self.stop)
        if self.process is None:
            return
        if sig == signal.SIGKILL:
            signal_group(self.process, signal.SIGKILL)
            self.process.wait(10)
        else:
            stop_group(self.process)
        self.process = None
        # The group's last worker lets go of the port a moment after the leader is reaped: wait, so that a
        # start() right after kill() or stop() finds the port free.
        deadline = time.monotonic() + 10
        while port_in_use(self.port, self.host) and time.monotonic() < deadline:
            time.sleep(0.1)

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None:
            return ""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            code = self.process.poll()
            if code is not None:
                raise TrackingServerError(
                    f"the MLflow server on {redact_uri(self.backend_store_uri)} exited (code {code}) before "
                    f"answering on {self.url}: {last_error(self.log_path)} (full log: {self.log_path})"
                )
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise TrackingServerError(
                    f"the MLflow server did not answer {self.url}/health within {self.startup_timeout:.0f} s "
                    f"(a busy machine? raise the timeout); last line of its log: {last_error(self.log_path)} "
                    f"(full log: {self.log_path})"
                )
            time.sleep(0.25)

    def __enter__(self) -> TrackingServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_tracking_server(
    backend_store_uri: str,
    artifacts_dir: str | Path,
    *,
    port: int = 0,
    host: str = LOCALHOST,
    workers: int = 1,
    app: str | None = "llmops",
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
) -> TrackingServer:
    """Start ``mlflow server`` on ``backend_store_uri`` with artifacts proxied to ``artifacts_dir``; wait for it.

    ``port=0`` picks a free port. ``host`` defaults to 127.0.0.1 (``0.0.0.0`` exposes it to the network).
    ``app="llmops"`` adds llmops' trace-batch endpoint; ``app=None`` runs MLflow's server as shipped.
    """
    server = TrackingServer(
        backend_store_uri, Path(artifacts_dir).expanduser().absolute(), port or free_port(),
        host=host, workers=workers, app=app, startup_timeout=startup_timeout,
    )  # fmt: skip
    return server.start()
