"""Stage 5, serving: the registered model behind MLflow's scoring server, a client, and a Docker build context.

:func:`serve` starts the scoring server for ``models:/churn-classifier@<alias>`` bound to 127.0.0.1 as a child
process (its own process group, the virtual environment's ``bin`` first on ``PATH``), waits until ``/ping``
answers and returns a :class:`Server` handle with ``.url`` and ``.stop()`` (also a context manager). Two engines
(``engine=`` or ``CHURN_SERVE_ENGINE``), same protocol, same answers, same error messages:

- ``batching`` (default): ``uvicorn churn.batching:app``, MLflow's scoring server with concurrent requests
  merged into one inference (:mod:`churn.batching`): p50 16 ms instead of 85 ms with 8 concurrent clients;
- ``mlflow``: ``mlflow models serve -m <model> --env-manager local``, as is (what the Docker image runs).

::

    with serve("production", port=0) as server:     # port 0: any free port
        predict(server.url, [customer])               # -> [0] or [1]

The REST protocol is MLflow's: ``POST /invocations`` with ``{"dataframe_split": {"columns": [...], "data":
[[...]]}}`` (or ``dataframe_records``), answered by ``{"predictions": [...]}`` (1 = likely to churn). MLflow
checks every request against the model's signature: malformed JSON and a wrong type get 400
``BAD_REQUEST``, a missing column 400 ``INVALID_PARAMETER_VALUE``, another content type 415.

The random forest is logged in skops format with ``sklearn.tree._tree.Tree`` as a trusted type; MLflow writes
that list into the model's ``MLmodel`` file and the scoring server reads it back from there, so both model
families serve as logged (nothing to configure).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from churn import batching
from churn.errors import ChurnError
from llmops.server.processes import free_port, port_in_use, signal_group
from llmops.settings import SERVE_ENGINES

HOST = "127.0.0.1"

#: The first customer of IBM's file (7590-VHVEG) as a client sends it: the model's 19 features.
EXAMPLE_CUSTOMER: dict[str, object] = {
    "gender": "Female", "SeniorCitizen": 0, "Partner": "Yes", "Dependents": "No", "tenure": 1,
    "PhoneService": "No", "MultipleLines": "No phone service", "InternetService": "DSL",
    "OnlineSecurity": "No", "OnlineBackup": "Yes", "DeviceProtection": "No", "TechSupport": "No",
    "StreamingTV": "No", "StreamingMovies": "No", "Contract": "Month-to-month", "PaperlessBilling": "Yes",
    "PaymentMethod": "Electronic check", "MonthlyCharges": 29.85, "TotalCharges": 29.85,
}  # fmt: skip

#: Keys a client may send that are not features: shown in the client's table, never sent to the model.
ID_COLUMNS = ("customerID",)
_IGNORED = ("customerID", "Churn")


@dataclass
class Server:
    """A running scoring server started by :func:`serve`; stop it with :meth:`stop` (or use ``with``)."""

    url: str
    model: str
    alias: str
    version: int
    port: int
    process: subprocess.Popen
    log_path: Path
    engine: str = "batching"
    model_dir: Path | None = None  # the batching engine's local copy of the model, removed by stop()
    startup_seconds: float = 0.0
    _stopped: bool = field(default=False, repr=False)

    @property
    def model_uri(self) -> str:
        return f"models:/{self.model}@{self.alias}"

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def last_error(self) -> str:
        """The last line of the server's log that reads like an error (the end of a traceback), else its last line."""
        lines = [line.strip() for line in self.log_tail(200).splitlines() if line.strip()]
        errors = [line for line in lines if re.match(r"^[\w.]*(Error|Exception)\b.*:", line) or "ERROR" in line]
        return (errors or lines or ["(no output)"])[-1]

    def stop(self, timeout: float = 15.0, *, keep_log: bool = False) -> None:
        """Terminate the server's process group (the ``mlflow`` command and its ``uvicorn``), then wait."""
        if self._stopped:
            return
        self._stopped = True
        signal_group(self.process, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            signal_group(self.process, signal.SIGKILL)
            self.process.wait(5)
        # uvicorn may outlive its parent by a moment: make sure nothing is left listening in the group
        signal_group(self.process, signal.SIGKILL)
        if not keep_log:
            self.log_path.unlink(missing_ok=True)
        if self.model_dir is not None:
            import shutil

            shutil.rmtree(self.model_dir, ignore_errors=True)
        atexit.unregister(self.stop)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _venv_bin() -> Path:
    # Not resolved: in a virtual environment sys.executable is a link inside .venv/bin, which is what we want.
    return Path(sys.executable).parent


def serve(
    alias: str = "production",
    port: int | None = None,
    *,
    name: str | None = None,
    workers: int | None = None,
    timeout: float | None = None,
    tracking_uri: str | None = None,
    engine: str | None = None,
) -> Server:
    """Serve ``models:/<name>@<alias>`` on 127.0.0.1:``port`` and return once ``/ping`` answers.

    ``port`` defaults to ``CHURN_SERVE_PORT`` (5001); 0 picks a free port. ``workers`` (``CHURN_SERVE_WORKERS``,
    default 1) is the number of uvicorn worker processes; ``timeout`` (``CHURN_SERVE_TIMEOUT``, 120 s) bounds
    the wait for start-up; ``engine`` (``CHURN_SERVE_ENGINE``) is ``batching`` or ``mlflow``. Errors a user can fix (unknown alias, port in use, a server that dies while
    starting) raise :class:`ChurnError` with the reason.
    """
    import mlflow

    from churn import register
    from llmops.settings import get_settings

    settings = get_settings()
    port = settings.churn_serve_port if port is None else int(port)
    workers = workers or settings.churn_serve_workers
    timeout = timeout or settings.churn_serve_timeout
    engine = engine or settings.churn_serve_engine
    if engine not in SERVE_ENGINES:
        raise ChurnError(f"unknown serving engine {engine!r}; use one of: {', '.join(SERVE_ENGINES)}.")
    if not 0 <= port <= 65535:
        raise ChurnError(f"port must be between 1 and 65535 (or 0 for any free port), not {port}.")
    name = register.model_name(name)
    version = register.version_for_alias(alias, name, tracking_uri=tracking_uri)  # clear error when unknown
    if port == 0:
        port = free_port()
    elif port_in_use(port):
        raise ChurnError(
            f"port {port} on {HOST} is already in use (another `churn serve`?): stop that server or choose "
            "another port with --port."
        )

    env = dict(os.environ)
    if engine == "mlflow":
        command = [
            str(_venv_bin() / "mlflow"), "models", "serve", "-m", f"models:/{name}@{alias}", "--env-manager", "local",
            "--host", HOST, "--port", str(port), "--workers", str(workers),
        ]  # fmt: skip
    else:
        # Downloaded once here, as `mlflow models serve` does, by version: every worker loads the same model
        # even if the alias moves meanwhile.
        model_dir = _download(name, alias, version)
        env[batching.MODEL_URI_ENV] = str(model_dir)
        command = [
            str(_venv_bin() / "uvicorn"), "churn.batching:app", "--host", HOST, "--port", str(port), "--workers", str(workers),
        ]  # fmt: skip
    env["PATH"] = os.pathsep.join([str(_venv_bin()), env.get("PATH", "")])
    env["MLFLOW_TRACKING_URI"] = mlflow.get_tracking_uri()
    env.pop("MLFLOW_RUN_ID", None)
    env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    env.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    log = tempfile.NamedTemporaryFile(prefix=f"churn-serve-{port}-", suffix=".log", delete=False)
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
    )
    log.close()
    server = Server(
        url=f"http://{HOST}:{port}", model=name, alias=alias, version=version, port=port,
        process=process, log_path=Path(log.name), engine=engine,
        model_dir=model_dir if engine == "batching" else None,
    )  # fmt: skip
    atexit.register(server.stop)
    try:
        _wait_until_healthy(server, timeout)
    except ChurnError:
        server.stop(keep_log=True)
        raise
    except BaseException:
        server.stop()
        raise
    server.startup_seconds = time.perf_counter() - started
    return server


def _download(name: str, alias: str, version: int) -> Path:
    """A local copy of ``models:/<name>/<version>`` (a temporary folder); a clear error if it cannot be had."""
    import shutil

    import mlflow
    from mlflow.exceptions import MlflowException

    folder = Path(tempfile.mkdtemp(prefix="churn-serve-model-"))
    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=str(folder)))
        if not (local / "MLmodel").is_file():
            raise MlflowException(f"No such artifact: 'MLmodel' in {local}")
    except (MlflowException, OSError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        message = getattr(exc, "message", None) or str(exc)
        raise ChurnError(
            f"cannot serve models:/{name}@{alias} (v{version}): its model files cannot be loaded ({message}). "
            "Were its artifacts deleted? Register and promote a new version."
        ) from None
    return local


def _wait_until_healthy(server: Server, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while True:
            code = server.process.poll()
            if code is not None:
                raise ChurnError(
                    f"the scoring server for {server.model_uri} (v{server.version}) exited (code {code}) before "
                    f"answering on {server.url}: {server.last_error()} (full log: {server.log_path})"
                )
            try:
                if client.get(server.url + "/ping").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ChurnError(
                    f"the scoring server for {server.model_uri} did not answer {server.url}/ping within "
                    f"{timeout:.0f} s (raise CHURN_SERVE_TIMEOUT on a busy machine); last line of its log: "
                    f"{server.last_error()} (full log: {server.log_path})"
                )
            time.sleep(0.25)


# --- the client ---------------------------------------------------------------------------------------------------


def payload(records) -> dict:
    """The ``dataframe_split`` body for ``records``: a dict (one customer), a list of dicts, a pandas
    DataFrame, or an MLflow payload already (``dataframe_split``, ``dataframe_records``, ``inputs``,
    ``instances``), passed through. ``customerID`` and ``Churn`` are left out: they are not features."""
    if hasattr(records, "to_dict") and hasattr(records, "columns"):  # a DataFrame
        records = records.to_dict(orient="records")
    if isinstance(records, dict):
        if records.keys() & {"dataframe_split", "dataframe_records", "inputs", "instances"}:
            return records
        records = [records]
    if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
        raise ChurnError(
            "expected a customer (a JSON object of feature: value), a list of them, or an MLflow payload "
            "(dataframe_split / dataframe_records)."
        )
    columns = [c for c in records[0] if c not in _IGNORED]
    for record in records[1:]:
        columns += [c for c in record if c not in _IGNORED and c not in columns]
    return {"dataframe_split": {"columns": columns, "data": [[r.get(c) for c in columns] for r in records]}}


def predict(url: str, records, *, timeout: float = 30.0) -> list:
    """Send ``records`` (see :func:`payload`) to a scoring server and return its predictions.

    ``url`` is the server (``http://127.0.0.1:5001``) or its ``/invocations`` endpoint. A 4xx/5xx answer
    raises :class:`ChurnError` with MLflow's own message.
    """
    import httpx

    endpoint = url.rstrip("/")
    if not endpoint.endswith("/invocations"):
        endpoint += "/invocations"
    try:
        response = httpx.post(endpoint, json=payload(records), timeout=timeout)
    except httpx.HTTPError as exc:
        raise ChurnError(
            f"no answer from {endpoint} ({exc.__class__.__name__}: {exc}): is a model server running there? "
            "Start one with `churn serve`."
        ) from None
    if response.status_code != 200:
        raise ChurnError(f"the model server answered {response.status_code}: {error_message(response)}")
    return response.json()["predictions"]


def error_message(response) -> str:
    """MLflow's message from an error response (its JSON ``message``, else the body as text)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()
    if isinstance(body, dict) and body.get("message"):
        message = str(body["message"]).strip()
        # A schema failure repeats the whole request as a DataFrame and the whole signature before its point
        # ("... Error: Model is missing inputs ['Contract']."): keep the point.
        if len(message) > 400 and "Error: " in message:
            message = message.rsplit("Error: ", 1)[1].strip()
        return f"{body.get('error_code', '')}: {message}".strip(": ")
    return response.text.strip()


def curl_example(url: str, record: dict | None = None) -> str:
    """A ready-to-paste curl command that scores one customer."""
    body = json.dumps(payload(record or EXAMPLE_CUSTOMER), separators=(",", ":"))
    return (
        f"curl -s {url}/invocations -H 'Content-Type: application/json' \\\n"
        f"  -d {shlex.quote(body)}"
    )


# --- the Docker build context ----------------------------------------------------------------------------------


def export_model(
    alias: str = "production",
    dest: str | Path = "model",
    *,
    name: str | None = None,
    tracking_uri: str | None = None,
) -> Path:
    """Copy the MLflow model behind ``models:/<name>@<alias>`` into ``dest`` (default ``model/``, what the
    Dockerfile copies) and record which version it is in ``dest/registered_model.json``."""
    import shutil

    import mlflow

    from churn import register

    name = register.model_name(name)
    version = register.version_for_alias(alias, name, tracking_uri=tracking_uri)
    dest = Path(dest)
    if dest.is_file():
        raise ChurnError(f"{dest} is a file: choose a folder for --output.")
    if dest.exists():
        if not (dest / "MLmodel").is_file() and any(dest.iterdir()):
            raise ChurnError(f"{dest} exists and is not an exported model: choose an empty or new --output folder.")
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="churn-export-") as tmp:
        local = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=tmp)
        shutil.copytree(local, dest)
    (dest / "registered_model.json").write_text(
        json.dumps({"name": name, "alias": alias, "version": version, "tracking_uri": mlflow.get_tracking_uri()})
        + "\n"
    )
    return dest
