"""llmops' batch endpoint on ``llmops server`` (real HTTP, real PostgreSQL): whole traces stored many per request,
a retried request never stores a trace twice, one bad trace fails alone and is named; a plain ``mlflow server``
has no such endpoint and the writer stores through MLflow's own API instead, losing nothing."""

from __future__ import annotations

import gzip
import logging
import re
import time

import pytest

from tests.production.test_writer_server import _burst, _burst_through, _count_traces


@pytest.fixture(scope="module")
def new_traces(tmp_path_factory):
    """``new_traces(n)``: n finished 8-span traces never handed out before, made by MLflow on a throwaway SQLite
    store and read back from it."""
    import mlflow
    from mlflow.tracing.client import TracingClient

    uri = f"sqlite:///{tmp_path_factory.mktemp('local')}/local.db"
    handed_out: set[str] = set()

    def make(n: int) -> list:
        previous = mlflow.get_tracking_uri()
        mlflow.set_tracking_uri(uri)
        try:
            experiment_id = mlflow.set_experiment("batch-endpoint-local").experiment_id
            _burst(n)
            mlflow.flush_trace_async_logging()
            deadline = time.monotonic() + 30
            while True:
                found = TracingClient(uri).search_traces(locations=[experiment_id], max_results=1000)
                traces = [t for t in found if t.info.trace_id not in handed_out]
                if len(traces) >= n or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        finally:
            mlflow.set_tracking_uri(previous)
        assert len(traces) == n and all(len(t.data.spans) == 8 for t in traces)
        handed_out.update(t.info.trace_id for t in traces)
        return traces

    return make


def _moved(trace, experiment_id: str):
    """The same trace, addressed to ``experiment_id`` (the wire format is MLflow's trace JSON)."""
    from mlflow.entities import Trace

    data = trace.to_dict()
    data["info"]["trace_location"]["mlflow_experiment"]["experiment_id"] = experiment_id
    return Trace.from_dict(data)


def _server_experiment(server, name: str) -> str:
    from mlflow import MlflowClient

    client = MlflowClient(server.url)
    found = client.get_experiment_by_name(name)
    return found.experiment_id if found else client.create_experiment(name)


def test_a_retried_batch_stores_each_trace_once_with_its_spans_tags_and_metadata(mlflow_server, new_traces):
    from mlflow.tracing.client import TracingClient

    from llmops.mlflow_internals.trace_writing import ServerApi

    experiment_id = _server_experiment(mlflow_server, "batch-endpoint-retry")
    local_traces = new_traces(3)
    traces = [_moved(t, experiment_id) for t in local_traces]
    api = ServerApi(mlflow_server.url)

    first = api.write_batch(traces, {})
    # The answer to the first request was lost, say: the client sends the same batch again.
    again = api.write_batch(traces, {})

    ids = sorted(t.info.trace_id for t in traces)
    assert first.ok and sorted(first.data["stored"]) == ids and first.data["failed"] == {}
    assert again.ok and sorted(again.data["stored"]) == ids and again.data["failed"] == {}
    assert _count_traces(mlflow_server, experiment_id) == 3
    # The same ids sent into another experiment: refused, and the stored traces stay where they are.
    elsewhere = _server_experiment(mlflow_server, "batch-endpoint-retry-elsewhere")
    moved = api.write_batch([_moved(t, elsewhere) for t in local_traces], {})
    assert moved.ok and moved.data["stored"] == [] and sorted(moved.data["failed"]) == ids
    assert all("another experiment" in why for why in moved.data["failed"].values())
    assert (_count_traces(mlflow_server, experiment_id), _count_traces(mlflow_server, elsewhere)) == (3, 0)
    for sent in local_traces:
        stored = TracingClient(mlflow_server.url).get_trace(sent.info.trace_id)
        assert [s.name for s in stored.data.spans] == [s.name for s in sent.data.spans]
        assert [s.outputs for s in stored.data.spans] == [s.outputs for s in sent.data.spans]
        assert stored.info.request_preview == sent.info.request_preview
        assert stored.info.tags["mlflow.traceName"] == sent.info.tags["mlflow.traceName"]
        assert stored.info.trace_metadata["mlflow.trace_schema.version"] == "3"


def test_a_trace_for_a_missing_experiment_fails_alone_and_is_named(mlflow_server, new_traces):
    from llmops.mlflow_internals.trace_writing import ServerApi

    experiment_id = _server_experiment(mlflow_server, "batch-endpoint-one-bad")
    good_1, bad, good_2 = new_traces(3)
    batch = [_moved(good_1, experiment_id), _moved(bad, "987654321"), _moved(good_2, experiment_id)]

    reply = ServerApi(mlflow_server.url).write_batch(batch, {})

    assert reply.ok
    assert sorted(reply.data["stored"]) == sorted([good_1.info.trace_id, good_2.info.trace_id])
    assert list(reply.data["failed"]) == [bad.info.trace_id]
    assert "987654321" in reply.data["failed"][bad.info.trace_id]
    assert _count_traces(mlflow_server, experiment_id) == 2


def test_an_unreadable_batch_gets_http_400_naming_the_trace(mlflow_server, new_traces):
    import requests

    from llmops.mlflow_internals.trace_writing.batch import BATCH_PATH

    body = {"format": 1, "traces": [new_traces(1)[0].to_dict(), {"data": {"spans": []}}], "prompts": {}}
    answer = requests.post(mlflow_server.url + BATCH_PATH, json=body, timeout=30)
    assert answer.status_code == 400
    assert "trace #1" in answer.json()["message"]

    answer = requests.post(mlflow_server.url + BATCH_PATH, data=b"not json", timeout=30)
    assert answer.status_code == 400 and "not JSON" in answer.json()["message"]

    gzipped = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    answer = requests.post(mlflow_server.url + BATCH_PATH, data=b"not gzip", headers=gzipped, timeout=30)
    assert answer.status_code == 400 and "not valid gzip" in answer.json()["message"]
    # 100 MB of zeros in ~100 kB: refused without inflating it past the server's 64 MB limit.
    bomb = gzip.compress(b"0" * 100_000_000, compresslevel=9)
    answer = requests.post(mlflow_server.url + BATCH_PATH, data=bomb, headers=gzipped, timeout=60)
    assert answer.status_code == 413 and "send smaller batches" in answer.json()["message"]
    assert requests.get(mlflow_server.url + "/health", timeout=30).status_code == 200


def test_a_plain_mlflow_server_gets_every_trace_through_mlflows_own_api(plain_mlflow_server, caplog):
    caplog.set_level(logging.INFO, logger="llmops.tracing.http_writer")
    assert _burst_through(plain_mlflow_server, "writer-plain-server", 40) == (40, 0, 40)  # stored, lost, in the DB
    messages = [r.getMessage() for r in caplog.records]
    assert any(re.search(r"has no llmops batch endpoint .*HTTP 404", m) for m in messages), messages


@pytest.mark.parametrize("server_fixture", ["mlflow_server", "plain_mlflow_server"], ids=["llmops-server", "plain-mlflow-server"])
def test_a_script_that_exits_without_flushing_still_stores_every_trace(server_fixture, request):
    import subprocess
    import sys
    import textwrap

    server = request.getfixturevalue(server_fixture)
    script = textwrap.dedent(f"""
        import mlflow
        import llmops.tracing as tracing

        setup = tracing.setup({server.url!r}, "writer-exit-{server_fixture}", autolog=False)
        print(setup.experiment_id, flush=True)

        @mlflow.trace
        def step(i):
            return i

        for i in range(60):
            step(i)
        # no flush(): the exit hook stores what is queued
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "LOST" not in done.stderr and "cannot schedule" not in done.stderr, done.stderr[-2000:]
    experiment_id = done.stdout.split()[0]
    assert _count_traces(server, experiment_id) == 60


def test_a_server_or_proxy_refusing_large_bodies_gets_smaller_batches_and_every_trace(
    mlflow_server_factory, monkeypatch, caplog
):
    # A body limit like a reverse proxy's (nginx's client_max_body_size): 100 kB, far under the writer's batches.
    monkeypatch.setenv("LLMOPS_SERVER_MAX_BATCH_BYTES", "100000")
    server = mlflow_server_factory()
    caplog.set_level(logging.WARNING, logger="llmops.tracing.http_writer")
    assert _burst_through(server, "writer-body-limit", 150) == (150, 0, 150)  # stored, lost, in the DB
    limits = [int(m.group(1)) for r in caplog.records if (m := re.search(r"at most (\d+) bytes per request", r.getMessage()))]
    assert limits and limits[-1] <= 100_000, [r.getMessage() for r in caplog.records]


def test_behind_basic_auth_the_endpoint_stores_a_trace_only_where_its_user_may_write(
    mlflow_server_factory, basic_auth, new_traces, monkeypatch, caplog
):
    """`llmops server --basic-auth`: MLflow's users and permissions, and the batch endpoint applies the check
    MLflow makes for StartTraceV3 (update on the experiment): a READ-only user's traces are refused, named."""
    from mlflow import MlflowClient
    from mlflow.server import get_app_client

    from llmops.mlflow_internals.trace_writing import ServerApi

    server = mlflow_server_factory(app="llmops-basic-auth")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", basic_auth)
    experiment_id = MlflowClient(server.url).create_experiment("batch-endpoint-auth")
    users = get_app_client("basic-auth", tracking_uri=server.url)
    for name in ("writer", "reader"):
        users.create_user(name, f"{name}-Passw0rd-long-enough")
    users.grant_user_permission("writer", "experiment", experiment_id, "EDIT")  # "reader" keeps the default: READ

    def send_as(name: str, traces):
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", name)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", f"{name}-Passw0rd-long-enough")
        return ServerApi(server.url).write_batch([_moved(t, experiment_id) for t in traces], {})

    refused = new_traces(2)
    reply = send_as("reader", refused)
    assert reply.ok and reply.data["stored"] == []
    assert sorted(reply.data["failed"]) == sorted(t.info.trace_id for t in refused)
    assert all("'reader' may not write traces in experiment" in why for why in reply.data["failed"].values())

    accepted = new_traces(2)
    reply = send_as("writer", accepted)
    assert reply.ok and sorted(reply.data["stored"]) == sorted(t.info.trace_id for t in accepted)
    assert _count_traces(server, experiment_id) == 2

    # The admin's app traces through the endpoint (not MLflow's per-trace API).
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", basic_auth)
    caplog.set_level(logging.INFO, logger="llmops.tracing.http_writer")
    assert _burst_through(server, "writer-auth-admin", 30) == (30, 0, 30)
    assert not any("no llmops batch endpoint" in r.getMessage() for r in caplog.records)
