"""The lossless trace writer through a real ``mlflow server`` on a real PostgreSQL: the same trace as on SQLite,
nothing lost when the server crashes and comes back, a counted and reported loss when it stays down, one clear
line when it cannot be reached at all.

One server for the module; the tests run in file order (the last one leaves the server down).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
PII_COMMENT = (
    "Mon colis est en retard depuis deux semaines, rappelez-moi au 06 12 34 56 78 "
    "ou écrivez à jean.dupont@example.org, sinon je résilie."
)


def _count_traces(server, experiment_id: str) -> int:
    import psycopg

    uri = re.sub(r"^postgresql\+\w+://", "postgresql://", server.backend_store_uri)
    with psycopg.connect(uri) as conn:
        query = "SELECT COUNT(*) FROM trace_info WHERE experiment_id = %s"
        return conn.execute(query, (int(experiment_id),)).fetchone()[0]


def _burst(n: int) -> None:
    import mlflow

    @mlflow.trace(span_type="TOOL")
    def tool(step: int) -> dict:
        return {"step": step}

    @mlflow.trace(span_type="AGENT")
    def agent(i: int) -> str:
        for step in range(7):
            tool(step)
        return f"answer {i}"

    for i in range(n):
        agent(i)


def _burst_through(server, experiment: str, n: int) -> tuple[int, int, int]:
    """``n`` 8-span traces through ``setup(server.url, experiment)``; returns (stored, lost) by the writer's
    counters and the traces counted in the server's database."""
    import llmops.tracing as tracing

    before = tracing.stats()
    try:
        setup = tracing.setup(server.url, experiment, autolog=False)
        _burst(n)
        assert tracing.flush(120)
        after = tracing.stats()
    finally:
        tracing.reset()
    return after.stored - before.stored, after.lost - before.lost, _count_traces(server, setup.experiment_id)


def _analyze_against(monkeypatch, server, experiment: str, chroma: Path, tmp_path: Path, **extra: str) -> None:
    """The environment `llmops analyze` runs in for these tests: ``server``'s experiment, the test's folders."""
    env = {
        "LLMOPS_TRACKING_URI": server.url,
        "LLMOPS_EXPERIMENT": experiment,
        "LLMOPS_CHROMA_DIR": str(chroma),
        "LLMOPS_TICKETS_DB": str(tmp_path / "tickets.db"),
        "LLMOPS_PROMPTS_DIR": str(REPO / "prompts"),
        "LLMOPS_DATA_DIR": str(REPO / "data"),
        **extra,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="module")
def kb_chroma(tmp_path_factory) -> Path:
    from llmops.rag import ingest

    chroma = tmp_path_factory.mktemp("chroma")
    ingest(REPO / "data" / "kb", chroma)
    return chroma


@pytest.fixture
def traced_server(request):
    """``configure(server, **setup_kwargs)``: ``setup()`` pointed at ``server``, undone after the test."""
    import llmops.tracing as tracing

    def configure(server, **kwargs):
        name = "writer-" + re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:60]
        return tracing.setup(server.url, name, autolog=False, **kwargs)

    yield configure
    tracing.flush(30)
    tracing.reset()


# ---------------------------------------------------------------------------------------------------------
# The same analyzer trace, stored on SQLite and through the server
# ---------------------------------------------------------------------------------------------------------


def _analyze_once(tracking_uri: str, chroma: Path, tmp: Path) -> str:
    """One analyzer trace written to ``tracking_uri`` by llmops.tracing; returns its id once stored."""
    import mlflow

    import llmops.tracing as tracing
    from llmops.agent import Analyzer
    from llmops.agent.analyzer import PROMPT_NAME, Comment
    from llmops.agent.customers import CustomerTable
    from llmops.agent.tickets import TicketStore
    from llmops.prompts import registry
    from llmops.rag import Retriever

    tracing.setup(tracking_uri, "writer-both-ways", autolog=True)
    # Earlier tests may have moved the store's production alias (a degraded prompt, another version): point it
    # at prompts/ as checked out, so both stores run the same prompt text (its version number may differ).
    pushed = registry.push_all(REPO / "prompts", PROMPT_NAME)[-1]
    registry.promote(PROMPT_NAME, pushed.version, "production", "writer both-ways test")
    analyzer = Analyzer(
        prompts_dir=REPO / "prompts",
        retriever=Retriever(str(chroma)),
        customers=CustomerTable.load(REPO / "data" / "customers.csv"),
        tickets=TicketStore(tmp / "tickets.db"),
        retry_initial_delay=0.01,
    )
    result = analyzer.analyze(Comment("CMT-9001", PII_COMMENT, customer_id="CUST-0008", channel="email"), "chat-9")
    assert tracing.flush(60)
    # An assessment attached after the fact needs the trace to be in the store already.
    mlflow.log_feedback(trace_id=result.trace_id, name="helpful", value=True, rationale="matches the policy")
    return result.trace_id


def _comparable(trace) -> dict:
    """What a user reads of a trace, without what differs by nature between two stores or two runs."""
    info = trace.info
    ids = {trace.info.trace_id: "<trace>"}
    volatile_metadata = {"mlflow.trace.sizeBytes", "mlflow.trace.sizeStats", "mlflow.sourceRun"}

    def clean(value):
        text = str(value)
        for raw, stable in ids.items():
            text = text.replace(raw, stable)
        text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>", text)
        text = re.sub(r"\b(chatcmpl|call|run|tkt|TCK)[-_][0-9A-Za-z-]+", r"\1-<id>", text)
        # The same prompt text holds a different version number in each store's registry.
        return re.sub(r"(comment-analyzer[\"']?, [\"']?version[\"']?: [\"']?|comment-analyzer/)\d+", r"\1<v>", text)

    by_id = {span.span_id: span for span in trace.data.spans}

    def path(span) -> str:
        names = []
        while span is not None:
            names.append(span.name)
            span = by_id.get(span.parent_id)
        return "/".join(reversed(names))

    spans = sorted(
        (
            path(span),
            span.span_type,
            span.status.status_code,
            clean(span.inputs),
            clean(span.outputs),
            # Tools called in parallel finish in any order: the analyzer's list of them is a set.
            clean(sorted(
                (k, sorted(v) if k == "llmops.actions_taken" else v)
                for k, v in span.attributes.items()
                if k != "mlflow.traceRequestId"
            )),  # fmt: skip
        )
        for span in trace.data.spans
    )
    return {
        "state": info.state,
        "tags": {k: clean(v) for k, v in info.tags.items() if k != "mlflow.artifactLocation"},
        "metadata": {k: clean(v) for k, v in info.trace_metadata.items() if k not in volatile_metadata},
        "request_preview": clean(info.request_preview),
        "response_preview": clean(info.response_preview),
        "token_usage": info.token_usage,
        "assessments": sorted((a.name, str(a.value), a.rationale, a.source.source_type) for a in info.assessments),
        "spans": spans,
    }


@pytest.mark.parametrize("server_fixture", ["mlflow_server", "plain_mlflow_server"], ids=["llmops-server", "plain-mlflow-server"])
def test_an_analyzer_trace_reads_back_the_same_from_sqlite_and_through_the_server(
    server_fixture, request, kb_chroma, session_store, tmp_path
):
    from mlflow.tracing.client import TracingClient

    import llmops.tracing as tracing

    # llmops server takes the trace through its batch endpoint; a plain mlflow server through MLflow's own API.
    mlflow_server = request.getfixturevalue(server_fixture)
    chroma = kb_chroma
    sqlite_uri = session_store  # the session's SQLite store (already migrated when other tests ran first)
    try:
        on_sqlite = _analyze_once(sqlite_uri, chroma, tmp_path)
        on_server = _analyze_once(mlflow_server.url, chroma, tmp_path)
    finally:
        tracing.flush(30)
        tracing.reset()

    local = TracingClient(sqlite_uri).get_trace(on_sqlite)
    remote = TracingClient(mlflow_server.url).get_trace(on_server)
    assert len(remote.data.spans) > 5
    assert remote.info.tags.get("mlflow.linkedPrompts"), "the prompt link went with the trace"
    assert remote.info.trace_metadata.get("mlflow.trace.session") == "chat-9"
    assert remote.info.trace_metadata.get("llmops.cost_usd")
    stored_text = remote.to_json()
    assert "06 12 34 56 78" not in stored_text and "jean.dupont@example.org" not in stored_text  # redacted
    assert _comparable(remote) == _comparable(local)


# ---------------------------------------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("server_fixture", ["mlflow_server", "plain_mlflow_server"], ids=["llmops-server", "plain-mlflow-server"])
def test_a_server_killed_mid_burst_and_restarted_10s_later_loses_no_trace(server_fixture, request, traced_server, caplog):
    import llmops.tracing as tracing

    # llmops server: batches through its endpoint; a plain mlflow server: StartTraceV3 + OTLP, retried step by step.
    mlflow_server = request.getfixturevalue(server_fixture)
    setup = traced_server(mlflow_server, server_wait=180, batch_size=20)
    before = tracing.stats()
    caplog.set_level(logging.WARNING, logger="llmops.tracing.http_writer")

    # The app traces at a steady pace until the server has stored some of it, then the server is SIGKILLed and
    # a burst comes while it is down: those traces can only wait in the writer.
    made, deadline = 0, time.monotonic() + 60
    while tracing.stats().stored - before.stored < 10:
        assert time.monotonic() < deadline, "nothing reached the server in 60 s"
        _burst(5)
        made += 5
        time.sleep(0.05)
    mlflow_server.kill()
    killed_at = time.monotonic()
    _burst(100)
    made += 100
    assert tracing.stats().pending >= 90, "the traces made while the server is down wait in the writer"
    time.sleep(max(0.0, killed_at + 10 - time.monotonic()))
    mlflow_server.start()

    assert tracing.flush(120)
    after = tracing.stats()
    assert (after.stored - before.stored, after.lost - before.lost) == (made, 0)
    assert _count_traces(mlflow_server, setup.experiment_id) == made
    waited = [r.getMessage() for r in caplog.records if "answered again after" in r.getMessage()]
    assert waited, "the writer says it waited for the server"
    held = int(re.search(r"; (\d+) trace\(s\) waited", waited[-1]).group(1))
    assert held >= 90  # the batch in hand and the queue behind it


def test_a_server_down_past_the_limit_fails_llmops_analyze_naming_the_lost_traces(
    mlflow_server, kb_chroma, caplog, tmp_path, monkeypatch
):
    import llmops.tracing as tracing
    from llmops.cli import app

    _analyze_against(monkeypatch, mlflow_server, "writer-outage", kb_chroma, tmp_path, LLMOPS_TRACE_SERVER_WAIT="2")
    comments = tmp_path / "comments.csv"
    comments.write_text(
        "comment_id,customer_id,channel,text\n"
        + "".join(f"C{i},CUST-0008,email,Ma facture de {i} euros est fausse\n" for i in range(6))
    )
    before = tracing.stats()

    def kill_after_first_trace() -> None:
        deadline = time.monotonic() + 120
        while tracing.stats().stored == before.stored and time.monotonic() < deadline:
            time.sleep(0.02)
        mlflow_server.kill()

    killer = threading.Thread(target=kill_after_first_trace)
    killer.start()
    caplog.set_level(logging.ERROR)
    started = time.monotonic()
    try:
        result = CliRunner().invoke(app, ["analyze", str(comments), "--out", str(tmp_path / "out.csv"), "-c", "1"])
    finally:
        killer.join()
        tracing.reset()
    assert time.monotonic() - started < 90  # no hang
    assert result.exit_code != 0
    after = tracing.stats()
    lost = after.lost - before.lost
    assert 1 <= lost <= 5 and after.stored - before.stored == 6 - lost
    assert f"{lost} of 6 trace(s) were not stored in {mlflow_server.url}" in result.output
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("not stored" in m and "did not answer for" in m for m in errors), errors

    # Started against the dead server: one clear line, a non-zero exit, no traceback.
    result = CliRunner().invoke(app, ["analyze", str(comments), "--out", str(tmp_path / "out2.csv")])
    assert result.exit_code != 0
    assert f"tracking server {mlflow_server.url} is unreachable (connection refused)" in result.output
    assert "Traceback" not in result.output


def test_a_server_refusing_the_credentials_is_one_clear_line_and_the_right_ones_store_every_trace(
    mlflow_server_factory, basic_auth, kb_chroma, tmp_path, monkeypatch, caplog
):
    import llmops.tracing as tracing
    from llmops.cli import app

    password = basic_auth
    server = mlflow_server_factory(app="basic-auth")  # MLflow's own authentication app, no llmops endpoint

    _analyze_against(
        monkeypatch, server, "writer-auth", kb_chroma, tmp_path,
        MLFLOW_TRACKING_USERNAME="admin", MLFLOW_TRACKING_PASSWORD="not-the-password",
    )  # fmt: skip
    comments = tmp_path / "comments.csv"
    comments.write_text("comment_id,customer_id,channel,text\nC1,CUST-0008,email,Ma facture est fausse\n")
    try:
        result = CliRunner().invoke(app, ["analyze", str(comments), "--out", str(tmp_path / "out.csv")])
    finally:
        tracing.reset()
    assert result.exit_code != 0
    assert f"tracking server {server.url} refused the credentials (HTTP 401)" in result.output
    assert "Traceback" not in result.output and "not-the-password" not in result.output

    # The right credentials: every trace stored (this server has no llmops endpoint: MLflow's own API).
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
    caplog.set_level(logging.DEBUG)
    assert _burst_through(server, "writer-auth-burst", 20) == (20, 0, 20)
    assert not any(password in r.getMessage() for r in caplog.records), "the password reached a log line"
