"""REST serving as a user meets it: `churn serve` started for real (once for the module) on the random forest in
production, its printed curl example, `dataframe_split` requests, MLflow's 4xx answers, the `churn predict`
client, a port in use, an unknown alias, and Ctrl-C."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from churn import cli as churn_cli
from churn.errors import ChurnError

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "churn" / "examples" / "customer.json"
_names = itertools.count()



class ChurnServe:
    """`churn serve` running in a subprocess; its output is collected line by line."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "churn"), "serve", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.process.poll() is not None:
                self._reader.join(5)
                if text in self.output:
                    return
                pytest.fail(f"`churn serve` exited ({self.process.returncode}) before {text!r}:\n{self.output}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {text!r} from `churn serve` within {timeout} s:\n{self.output}")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def served(evaluations, telco_csv, session_store):
    """The session's random forest registered under a name of its own, promoted, and served by `churn serve`."""
    from churn.register import promote, register
    from churn.serve import free_port

    name = f"churn-classifier-serve-{next(_names)}"
    register(evaluations["rf"], name=name)
    assert promote("production", name=name).promoted
    port = free_port()
    env = dict(os.environ, CHURN_MODEL_NAME=name, CHURN_DATA=str(telco_csv), COLUMNS="200")
    serving = ChurnServe(["--port", str(port)], env)
    serving.wait_for("Ctrl-C stops.")
    yield {"name": name, "port": port, "url": f"http://127.0.0.1:{port}", "serve": serving, "env": env}
    if serving.process.poll() is None:
        serving.process.send_signal(signal.SIGINT)
        serving.process.wait(30)


@pytest.fixture(scope="module")
def customers(telco_csv):
    from churn import loader

    _, test_df = loader.split(loader.load(telco_csv))
    return loader.features(test_df.head(20))


@pytest.fixture
def churn(served, monkeypatch):
    from typer.testing import CliRunner

    monkeypatch.setenv("CHURN_MODEL_NAME", served["name"])
    monkeypatch.setattr(churn_cli.console, "width", 200)
    runner = CliRunner()
    return lambda *args: runner.invoke(churn_cli.app, [str(a) for a in args])


def test_serve_says_where_and_prints_a_curl_that_works(served):
    out = served["serve"].output
    name, url = served["name"], served["url"]
    assert re.search(rf"Serving {name} v1 \(models:/{name}@production\) at {url} \(batching engine, ready in \d+\.\d s\)", out), out
    curl = out[out.index("curl -s") : out.index("\nor: ")]
    assert curl.startswith(f"curl -s {url}/invocations -H 'Content-Type: application/json'")
    answer = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=30)
    assert json.loads(answer.stdout)["predictions"] in ([0], [1])
    assert f"uv run churn predict --url {url} customer.json" in out


def test_dataframe_split_requests_answer_like_the_registered_model(served, customers):
    import mlflow

    from churn.serve import predict

    body = {"dataframe_split": customers.to_dict(orient="split", index=False)}
    response = httpx.post(served["url"] + "/invocations", json=body, timeout=30)
    assert response.status_code == 200
    served_predictions = response.json()["predictions"]
    expected = mlflow.pyfunc.load_model(f"models:/{served['name']}@production").predict(customers)
    assert served_predictions == [int(p) for p in expected]
    assert set(served_predictions) == {0, 1}  # 20 held-out customers: some predicted to churn, some not

    # the client sends records as dataframe_split; a customerID rides along but is not a feature
    records = customers.to_dict(orient="records")
    assert predict(served["url"], records) == served_predictions
    assert predict(served["url"] + "/invocations", {"customerID": "x", **records[0]}) == served_predictions[:1]


def test_bad_requests_get_a_4xx_with_mlflows_message(served, customers):
    from churn.serve import predict

    url = served["url"] + "/invocations"
    record = customers.to_dict(orient="records")[0]

    malformed = httpx.post(url, content=b'{"dataframe_split": {', headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert "Invalid input. Ensure that input is a valid JSON formatted string" in malformed.json()["message"]

    without_contract = {k: v for k, v in record.items() if k != "Contract"}
    missing = httpx.post(url, json={"dataframe_records": [without_contract]})
    assert missing.status_code == 400
    assert missing.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "Model is missing inputs ['Contract']" in missing.json()["message"]

    wrong_type = httpx.post(url, json={"dataframe_records": [{**record, "tenure": "ten"}]})
    assert wrong_type.status_code == 400
    assert "Failed to convert column tenure to type 'float64'" in wrong_type.json()["message"]

    not_json = httpx.post(url, content=b"tenure=1", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 415
    assert "This predictor only supports the following content types" in not_json.text

    # the client turns them into one line with MLflow's point
    with pytest.raises(ChurnError) as caught:
        predict(served["url"], without_contract)
    expected = "the model server answered 400: INVALID_PARAMETER_VALUE: Model is missing inputs ['Contract']."
    assert str(caught.value) == expected
    with pytest.raises(ChurnError, match="answered 400: BAD_REQUEST: Invalid input. .*Failed to convert column tenure"):
        predict(served["url"], {**record, "tenure": "ten"})


def _bad_and_good_requests(customers) -> list[tuple[str, bytes, str]]:
    """(what, body, content type): single customers, a batch, and every kind of bad request."""
    record = customers.to_dict(orient="records")[0]
    split = lambda frame: json.dumps({"dataframe_split": frame.to_dict(orient="split", index=False)}).encode()  # noqa: E731
    requests = [(f"customer {i}", split(customers.iloc[[i]]), "application/json") for i in range(len(customers))]
    requests += [
        ("a batch of 20", split(customers), "application/json"),
        ("records", json.dumps({"dataframe_records": [record]}).encode(), "application/json; charset=utf-8"),
        ("split, utf-8", split(customers.iloc[[2]]), "application/json; charset=utf-8"),
        ("split, latin-1", split(customers.iloc[[3]]), "application/json; charset=latin-1"),
        ("malformed", b'{"dataframe_split": {', "application/json"),
        ("missing column", split(customers.iloc[[0]].drop(columns=["Contract"])), "application/json"),
        ("wrong type", split(customers.iloc[[1]].astype({"tenure": str}).replace({"tenure": {"1.0": "ten"}})), "application/json"),
        ("wrong type in a split", json.dumps({"dataframe_split": {"columns": list(record), "data": [[*list(record.values())[:-1], "a lot"]]}}).encode(), "application/json"),
        ("csv", customers.head(2).to_csv(index=False).encode(), "text/csv"),
        ("text", b"tenure=1", "text/plain"),
    ]  # fmt: skip
    return requests


def _answers(url: str, requests, clients: int) -> dict[str, tuple[int, object]]:
    """Send every request ``clients`` at a time (so that the batching engine merges them); status and body."""
    from concurrent.futures import ThreadPoolExecutor

    def send(request):
        what, body, content_type = request
        response = httpx.post(url + "/invocations", content=body, headers={"Content-Type": content_type}, timeout=60)
        try:
            answer = response.json()
            if "predictions" not in answer:
                # MLflow's message starts with the request as a DataFrame, printed as wide as the server's
                # terminal (COLUMNS): compare what it says about it.
                answer = (answer.get("error_code"), answer.get("message", "").rsplit("Error: ", 1)[-1])
        except ValueError:
            answer = response.text
        return what, (response.status_code, answer)

    with ThreadPoolExecutor(clients) as pool:
        return dict(pool.map(send, requests * 3))  # three rounds: the same answers every time, or the dict differs


def test_both_engines_give_the_same_answers_and_errors_under_concurrency(served, customers):
    """The batching engine merges concurrent requests; each must still get exactly what `mlflow models serve`
    answers it alone: its own predictions, or MLflow's own 4xx, never its neighbour's."""
    import mlflow

    from churn.serve import serve

    requests = _bad_and_good_requests(customers)
    batching = _answers(served["url"], requests, clients=8)
    with serve("production", 0, name=served["name"], engine="mlflow") as stock:
        assert stock.engine == "mlflow"
        reference = _answers(stock.url, requests, clients=1)
    assert batching == reference
    expected = [int(p) for p in mlflow.pyfunc.load_model(f"models:/{served['name']}@production").predict(customers)]
    assert [batching[f"customer {i}"][1]["predictions"][0] for i in range(len(customers))] == expected
    assert batching["a batch of 20"] == (200, {"predictions": expected})
    statuses = {what: status for what, (status, _) in batching.items()}
    assert statuses["malformed"] == statuses["missing column"] == statuses["wrong type in a split"] == 400
    assert statuses["text"] == statuses["split, latin-1"] == 415 and statuses["csv"] == statuses["split, utf-8"] == 200


def test_a_batch_answers_each_request_as_mlflow_answers_it_alone(served, customers):
    """The batching engine's core, in-process and deterministic: one batch of every kind of request, merged where
    it can be, must give each request exactly what MLflow's ``invocations`` gives it alone."""
    import asyncio

    import mlflow

    from churn.batching import BatchingScorer, _Request

    model = mlflow.pyfunc.load_model(f"models:/{served['name']}@production")
    scorer = BatchingScorer(model)
    everything = _bad_and_good_requests(customers)
    # every kind at once (a bad request makes the merge fail), and splits only (the merge succeeds)
    for requests in (everything, [r for r in everything if r[0].startswith(("customer", "split"))]):
        loop = asyncio.new_event_loop()
        try:
            batch = [_Request(body, content_type, loop.create_future()) for _, body, content_type in requests]
            together = scorer._score_batch(batch)
        finally:
            loop.close()
        alone = [scorer._score(body, content_type) for _, body, content_type in requests]
        for (what, _, _), got, expected in zip(requests, together, alone):
            assert (got.status, got.mimetype) == (expected.status, expected.mimetype), what
            if got.status == 200:
                assert json.loads(got.body) == json.loads(expected.body), what
            else:
                assert got.body.split(b"Error: ")[-1] == expected.body.split(b"Error: ")[-1], what


def test_predict_command(churn, served, tmp_path):
    result = churn("predict", "--url", served["url"], EXAMPLE)
    assert result.exit_code == 0, result.output
    assert f"2 prediction(s) from {served['url']}" in result.stdout
    for customer in ("7590-VHVEG", "5575-GNVDE"):
        assert re.search(rf"{customer}\s+│\s+[01] \(likely to (churn|stay)\)", result.stdout), result.stdout

    broken = tmp_path / "broken.json"
    broken.write_text('{"gender": "Female",')
    result = churn("predict", "--url", served["url"], broken)
    assert result.exit_code == 1 and f"{broken} is not valid JSON" in result.stderr

    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({**json.loads(EXAMPLE.read_text())[0], "MonthlyCharges": "a lot"}))
    result = churn("predict", "--url", served["url"], wrong)
    assert result.exit_code == 1
    assert "the model server answered 400: BAD_REQUEST" in result.stderr
    assert "Failed to convert column MonthlyCharges" in result.stderr
    assert "Traceback" not in result.output


def test_port_in_use_unknown_alias_and_no_server(churn, served):
    from churn.serve import free_port, predict, serve

    port = served["port"]
    result = churn("serve", "--port", port)
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr and "--port" in result.stderr
    with pytest.raises(ChurnError, match=f"port {port} on 127.0.0.1 is already in use"):
        serve("production", port, name=served["name"])

    result = churn("serve", "--alias", "canary", "--port", 0)
    assert result.exit_code == 1
    assert f"{served['name']} has no alias 'canary'; its aliases: production -> v1, staging -> v1" in result.stderr

    nobody = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChurnError, match=f"no answer from {nobody}/invocations .*Start one with `churn serve`"):
        predict(nobody, {"tenure": 1})


def test_ctrl_c_stops_the_server(served):
    from churn.serve import port_in_use

    serving = served["serve"]
    serving.process.send_signal(signal.SIGINT)
    assert serving.process.wait(30) == 0
    serving.wait_for("Stopping the server")
    assert not port_in_use(served["port"])
    with pytest.raises(httpx.ConnectError):
        httpx.get(served["url"] + "/ping", timeout=2)


def test_a_server_that_cannot_start_says_why(session_store, tmp_path):
    from mlflow.tracking import MlflowClient

    from churn.serve import serve

    name = f"churn-classifier-broken-{next(_names)}"
    client = MlflowClient()
    client.create_registered_model(name)
    client.create_model_version(name, source=str(tmp_path / "gone"))  # its artifacts were deleted
    client.set_registered_model_alias(name, "production", "1")
    with pytest.raises(ChurnError) as caught:
        serve("production", 0, name=name)  # the batching engine fetches the model before starting the server
    assert str(caught.value).startswith(f"cannot serve models:/{name}@production (v1): its model files cannot be loaded")
    assert "No such artifact" in str(caught.value) and "Traceback" not in str(caught.value)

    with pytest.raises(ChurnError) as caught:
        serve("production", 0, name=name, engine="mlflow")  # `mlflow models serve` fetches it itself
    message = str(caught.value)
    assert message.startswith(f"the scoring server for models:/{name}@production (v1) exited (code 1) before answering")
    assert "No such artifact: 'MLmodel'" in message and "Traceback" not in message
    log = Path(re.search(r"full log: (\S+)\)$", message).group(1))
    assert "Traceback" in log.read_text()  # the details stay available
    log.unlink()
