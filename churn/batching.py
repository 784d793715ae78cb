"""MLflow's scoring server with request batching: what ``churn serve`` runs (``--engine batching``, the default).

MLflow's scoring server spends most of a single-customer request building and checking a pandas DataFrame
(about 5 ms of CPU here, whatever the number of rows), and it runs concurrent requests side by side in
threads that fight for the GIL. With 8 concurrent clients on 2 cores that puts the median latency at 35-90 ms.
This app keeps MLflow's model loading, protocol and messages, and changes only how concurrent requests are
scheduled:

- requests that arrive while the model is busy wait in a queue; the next inference takes all of them at once.
  When requests are arriving together (one of the last inferences scored several), the batcher waits
  ``CHURN_SERVE_BATCH_WAIT_MS`` (2 ms) after the first one for the rest of the wave; a lone client is never
  delayed;
- ``dataframe_split`` JSON requests with the same columns are merged into one ``dataframe_split`` and scored by
  one call of MLflow's own ``scoring_server.invocations`` (parsing, schema enforcement, ``predict``), then each
  request gets its rows' predictions back, in MLflow's response format;
- anything else (another content type or format, ``params``), and every request of a merged batch that MLflow
  refuses (a missing column, a wrong type, malformed JSON), is scored on its own by the same ``invocations``,
  so a bad request gets exactly MLflow's 4xx and never fails its neighbours.

``/ping``, ``/health`` and ``/version`` are MLflow's own endpoints (``scoring_server.init``), as is the request
timeout (``MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT``, answered 504). Run by uvicorn, one model per worker::

    CHURN_SERVE_MODEL_URI=models:/churn-classifier/3 uvicorn churn.batching:app --host 127.0.0.1 --port 5001

``benchmarks/serving.py`` measures both engines.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

MODEL_URI_ENV = "CHURN_SERVE_MODEL_URI"
#: At most this many requests go into one inference (more wait for the next round).
MAX_BATCH_REQUESTS = 64
#: Content types merged as they are: with any other parameter MLflow answers the request itself (415).
_MERGEABLE_TYPES = ("application/json", "application/json;charset=utf-8")


@dataclass
class Answer:
    status: int
    body: bytes
    mimetype: str


@dataclass
class _Request:
    body: bytes
    content_type: str
    future: asyncio.Future
    columns: tuple[str, ...] | None = None  # set when the request can be merged
    rows: list = field(default_factory=list)


def _mergeable(request: _Request) -> bool:
    """A plain ``{"dataframe_split": {"columns": [...], "data": [[...], ...]}}`` JSON body, nothing else."""
    if request.content_type.replace(" ", "").lower() not in _MERGEABLE_TYPES:
        return False
    try:
        data = json.loads(request.body)
    except ValueError:
        return False
    split = data.get("dataframe_split") if isinstance(data, dict) and len(data) == 1 else None
    if not isinstance(split, dict) or set(split) != {"columns", "data"}:
        return False
    columns, rows = split["columns"], split["data"]
    if not (isinstance(columns, list) and all(isinstance(c, str) for c in columns)):
        return False
    if not (isinstance(rows, list) and rows and all(isinstance(r, list) and len(r) == len(columns) for r in rows)):
        return False
    request.columns, request.rows = tuple(columns), rows
    return True


class BatchingScorer:
    """Score requests with MLflow's ``invocations``, merging the ones that arrive together."""

    def __init__(self, model, wait_ms: float = 0.0) -> None:
        from mlflow.pyfunc import scoring_server

        self.wait_s = wait_ms / 1000
        self._invocations = scoring_server.invocations
        self._model = model
        self._schema = model.metadata.get_input_schema()
        self._queue: asyncio.Queue[_Request] | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="churn-scoring")

    def _score(self, body: bytes | str, content_type: str) -> Answer:
        """One call of MLflow's ``invocations``, its errors answered as MLflow's app answers them."""
        from mlflow.exceptions import MlflowException

        try:
            result = self._invocations(body, content_type, self._model, self._schema)
        except MlflowException as exc:
            return Answer(exc.get_http_status_code(), exc.serialize_as_json().encode(), "application/json")
        body = result.response.encode() if isinstance(result.response, str) else result.response
        return Answer(result.status, body, result.mimetype)

    def _score_batch(self, batch: list[_Request]) -> list[Answer]:
        """Every request's answer, in order (runs in the scoring thread)."""
        answers: dict[int, Answer] = {}
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, request in enumerate(batch):
            if _mergeable(request):
                groups.setdefault(request.columns, []).append(i)
        for columns, members in groups.items():
            if len(members) < 2:
                continue
            rows = [row for i in members for row in batch[i].rows]
            merged = json.dumps({"dataframe_split": {"columns": list(columns), "data": rows}})
            answer = self._score(merged, "application/json")
            if answer.status != 200:
                continue  # somebody's request is bad: score each one alone below, so each gets its own answer
            predictions = json.loads(answer.body).get("predictions")
            if not isinstance(predictions, list) or len(predictions) != len(rows):
                continue
            start = 0
            for i in members:
                n = len(batch[i].rows)
                body = json.dumps({"predictions": predictions[start : start + n]}).encode()
                answers[i] = Answer(200, body, answer.mimetype)
                start += n
        for i, request in enumerate(batch):
            if i not in answers:
                answers[i] = self._score(request.body, request.content_type)
        return [answers[i] for i in range(len(batch))]

    async def score(self, body: bytes, content_type: str) -> Answer:
        if self._queue is None:
            self._queue = asyncio.Queue()
            asyncio.get_running_loop().create_task(self._run())
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Request(body, content_type, future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        recent = collections.deque(maxlen=8)  # sizes of the last inferences
        while True:
            batch = [await self._queue.get()]
            if self.wait_s and max(recent, default=1) > 1:
                # Requests are arriving together: give the rest of this wave a moment to land in the queue.
                await asyncio.sleep(self.wait_s)
            while not self._queue.empty() and len(batch) < MAX_BATCH_REQUESTS:
                batch.append(self._queue.get_nowait())
            try:
                answers = await loop.run_in_executor(self._executor, self._score_batch, batch)
            except Exception as exc:  # noqa: BLE001 - never leave a client hanging
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(exc)
                continue
            recent.append(len(batch))
            for request, answer in zip(batch, answers):
                if not request.future.done():  # the client may have timed out meanwhile
                    request.future.set_result(answer)


def create_app(model_uri: str):
    """The ASGI app: MLflow's scoring server app with ``POST /invocations`` batched."""
    from mlflow.environment_variables import MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT
    from mlflow.pyfunc import scoring_server

    from llmops.settings import get_settings

    model = scoring_server.load_model_with_mlflow_config(model_uri)
    mlflow_app = scoring_server.init(model)  # /ping, /health, /version (and its own /invocations, unused)
    scorer = BatchingScorer(model, get_settings().churn_serve_batch_wait_ms)
    timeout = MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT.get()

    async def app(scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/invocations" or scope["method"] != "POST":
            await mlflow_app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        content_type = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"content-type"), "")
        try:
            answer = await asyncio.wait_for(scorer.score(b"".join(chunks), content_type), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            answer = Answer(504, b"Request processing time exceeded limit", "application/json")
        except Exception as exc:  # noqa: BLE001 - a bug of ours: answer 500 and say what, keep serving
            message = json.dumps({"error_code": "INTERNAL_ERROR", "message": f"{type(exc).__name__}: {exc}"})
            answer = Answer(500, message.encode(), "application/json")
        headers = [(b"content-type", answer.mimetype.encode()), (b"content-length", str(len(answer.body)).encode())]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    return app


def __getattr__(name: str):
    # `uvicorn churn.batching:app` builds the app on first access, from the environment.
    if name == "app":
        uri = os.environ.get(MODEL_URI_ENV)
        if not uri:
            raise RuntimeError(f"set {MODEL_URI_ENV} to the model to serve (models:/name/version or a local path)")
        globals()["app"] = create_app(uri)
        return globals()["app"]
    raise AttributeError(name)
