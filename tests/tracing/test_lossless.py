"""Lossless export: a burst fully stored, back-pressure, loud drops, traces as complete as MLflow's own."""

from __future__ import annotations

import logging
import threading
import time

import mlflow
import pytest
from mlflow.entities import TraceState

import llmops.tracing as tracing
from llmops.tracing import lifecycle


def _burst(n: int) -> None:
    """n traces of 8 spans: an agent calling a retriever, a model and 6 tools."""

    @tracing.tool_span
    def tool(step: int) -> dict:
        return {"step": step}

    @tracing.retriever_span
    def retrieve(query: str) -> list[str]:
        return ["Refund policy", "Shipping policy"]

    @tracing.llm_span
    def call_model(prompt: str) -> str:
        return "complaint"

    @tracing.agent_span
    def analyze(i: int) -> str:
        retrieve(f"comment {i}")
        for step in range(5):
            tool(step)
        return call_model(f"classify comment {i}")

    for i in range(n):
        analyze(i)


def test_a_burst_of_1000_traces_is_stored_completely(traced, stored_rows):
    before = tracing.stats()
    start = time.perf_counter()
    _burst(1000)
    assert tracing.flush(timeout=120)
    elapsed = time.perf_counter() - start

    assert stored_rows(traced.tracking_uri, traced.experiment_id) == (1000, 8000)
    after = tracing.stats()
    assert (after.dropped, after.failed, after.pending) == (before.dropped, before.failed, 0)
    assert after.stored - before.stored == 1000
    found = mlflow.search_traces(locations=[traced.experiment_id], max_results=2000, include_spans=False)
    assert len(found) == 1000 and set(found["state"]) == {"OK"}
    print(f"1000 traces x 8 spans stored in {elapsed:.1f} s ({1000 / elapsed:.0f} traces/s)")


@pytest.fixture
def slow_writer(monkeypatch):
    """Hold the writer thread until the test releases it, to fill the queue on purpose."""
    writer = lifecycle._writer()
    gate = threading.Event()
    original = writer._write

    def gated(batch):
        gate.wait(30)
        return original(batch)

    monkeypatch.setattr(writer, "_write", gated)
    yield gate
    gate.set()


def test_a_full_queue_makes_callers_wait_instead_of_dropping(traced, session_store, slow_writer, stored_rows):
    tracing.setup(session_store, traced.experiment_name, autolog=False, max_queue=5, batch_size=2)
    before = tracing.stats()
    threading.Timer(0.5, slow_writer.set).start()  # the writer comes back half a second later
    _burst(40)
    assert tracing.flush(30)

    after = tracing.stats()
    assert after.blocked > before.blocked  # callers were held back...
    assert after.dropped == before.dropped  # ...and nothing was lost
    assert stored_rows(session_store, traced.experiment_id) == (40, 320)


def test_a_drop_is_counted_and_logged_loudly(traced, session_store, slow_writer, caplog):
    tracing.setup(session_store, traced.experiment_name, autolog=False, max_queue=1, block_timeout=0.05)
    before = tracing.stats()
    with caplog.at_level(logging.ERROR, logger="llmops.tracing.exporter"):
        _burst(5)
    slow_writer.set()
    assert tracing.flush(30)

    after = tracing.stats()
    assert after.dropped > before.dropped
    assert after.stored - before.stored + after.dropped - before.dropped == 5
    assert "LOST TRACES" in caplog.text


def test_after_reset_a_default_setup_drops_nothing_again(traced, session_store, slow_writer):
    """reset() must not leave a previous setup's queue limits behind (max_queue=1 dropped later tests' traces)."""
    tracing.setup(session_store, traced.experiment_name, autolog=False, max_queue=1, block_timeout=0.05)
    tracing.reset()
    tracing.setup(session_store, traced.experiment_name, autolog=False)
    before = tracing.stats()
    timer = threading.Timer(0.3, slow_writer.set)
    timer.start()
    _burst(5)  # with max_queue=1 and a 50 ms patience, most of these would be dropped while the writer is held
    timer.join()
    assert tracing.flush(30)
    after = tracing.stats()
    assert (after.dropped - before.dropped, after.stored - before.stored) == (0, 5)


def test_flush_is_cheap_when_nothing_is_pending(traced):
    _burst(1)
    assert tracing.flush()
    start = time.perf_counter()
    for _ in range(100):
        assert tracing.flush()
    assert (time.perf_counter() - start) / 100 < 0.001


def test_mlflows_own_flush_and_read_back_apis_wait_for_the_writer(traced, slow_writer):
    _burst(1)
    trace_id = mlflow.get_last_active_trace_id()  # set as soon as the root span ends
    assert tracing.stats().pending == 1
    threading.Timer(0.2, slow_writer.set).start()
    trace = mlflow.get_trace(trace_id, flush=True)  # drives our writer's flush
    assert trace is not None and len(trace.data.spans) == 8

    _burst(1)
    mlflow.flush_trace_async_logging()
    assert tracing.stats().pending == 0


def _comparable(trace) -> dict:
    info = trace.info
    volatile = {"mlflow.trace.sizeBytes", "mlflow.trace.sizeStats"}
    return {
        "state": info.state,
        "request_preview": info.request_preview,
        "response_preview": info.response_preview,
        "tags": {k: v for k, v in info.tags.items() if k != "mlflow.artifactLocation"},
        "metadata": {k: v for k, v in info.trace_metadata.items() if k not in volatile},
        "metadata_keys": set(info.trace_metadata),
        "token_usage": info.token_usage,
        "spans": [
            (
                s.name,
                s.span_type,
                s.status.status_code,
                s.inputs,
                s.outputs,
                sorted(s.attributes),
                [e.name for e in s.events],
            )
            for s in sorted(trace.data.spans, key=lambda s: s.start_time_ns)
        ],
        "parents": sum(s.parent_id is None for s in trace.data.spans),
    }


def _rich_trace(fail: bool) -> str:
    @tracing.tool_span
    def tool(x: int) -> int:
        if fail:
            raise KeyError("no such order")
        return x

    @tracing.agent_span
    def agent(question: str) -> str:
        mlflow.update_current_trace(tags={"release": "v1"}, metadata={"git": "abc"})
        with tracing.llm_span("model") as span:
            span.set_inputs({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]})
            tracing.record_usage(span, input_tokens=120, output_tokens=30, model="gpt-4o-mini")
            span.set_outputs("ok")
        tool(3)
        return "answer"

    with tracing.session(user_id="u-1", session_id="s-1"):
        try:
            agent("where is my parcel?")
        except KeyError:
            pass
    return mlflow.get_last_active_trace_id()


@pytest.mark.parametrize("fail", [False, True], ids=["ok", "error"])
def test_traces_written_in_batches_look_like_mlflows_own(session_store, monkeypatch, fail):
    """The same trace through MLflow's default export and through the batch writer reads back the same."""
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")  # default path, synchronous
    try:
        tracing.setup(session_store, f"tracing-parity-default-{fail}", autolog=False, lossless=False)
        reference = mlflow.get_trace(_rich_trace(fail))
        setup = tracing.setup(session_store, f"tracing-parity-batched-{fail}", autolog=False, lossless=True)
        batched = mlflow.get_trace(_rich_trace(fail), flush=True)
    finally:
        tracing.reset()

    assert _comparable(batched) == _comparable(reference)
    assert batched.info.state == (TraceState.ERROR if fail else TraceState.OK)
    assert batched.info.trace_metadata["mlflow.trace.session"] == "s-1"
    row = mlflow.search_traces(
        locations=[setup.experiment_id], filter_string="metadata.`mlflow.trace.session` = 's-1'", return_type="list"
    )
    assert [t.info.trace_id for t in row] == [batched.info.trace_id]


def test_linked_prompts_are_stored_with_the_trace(traced):
    prompt = mlflow.genai.register_prompt(name="tracing-test-prompt", template="Classify: {{comment}}")

    @tracing.agent_span
    def classify(comment: str) -> str:
        template = mlflow.genai.load_prompt(f"prompts:/tracing-test-prompt/{prompt.version}")
        return template.format(comment=comment)

    classify("late parcel")
    trace = mlflow.get_trace(mlflow.get_last_active_trace_id(), flush=True)
    assert '"name": "tracing-test-prompt"' in trace.info.tags["mlflow.linkedPrompts"]


def test_genai_evaluate_reads_traces_and_attaches_assessments(traced, monkeypatch):
    from mlflow.genai.scorers import scorer

    monkeypatch.setenv("MLFLOW_GENAI_EVAL_MAX_WORKERS", "1")
    monkeypatch.setenv("MLFLOW_GENAI_EVAL_PREDICT_RATE_LIMIT", "0")

    @tracing.agent_span
    def predict(comment: str) -> str:
        with tracing.tool_span("lookup"):
            pass
        return "complaint" if "late" in comment else "praise"

    @scorer
    def is_complaint(outputs) -> bool:
        return outputs == "complaint"

    data = [{"inputs": {"comment": c}} for c in ("late parcel", "great service", "late again")]
    result = mlflow.genai.evaluate(data=data, predict_fn=predict, scorers=[is_complaint])

    assert len(result.result_df) == 3
    assert result.metrics["is_complaint/mean"] == pytest.approx(2 / 3)
    traces = mlflow.search_traces(run_id=result.run_id, return_type="list")
    assert len(traces) == 3
    assert all(len(t.data.spans) == 2 for t in traces)
    assert {a.name for t in traces for a in t.info.assessments} >= {"is_complaint"}


def test_span_translation_shortcut_matches_mlflows_translation(traced, slow_writer):
    """The writer skips MLflow's OTel-dialect translators on MLflow-native spans: same result required."""
    from mlflow.tracing.otel.translation import translate_span_when_storing

    from llmops.mlflow_internals.trace_writing import translate_for_storage

    @tracing.llm_span
    def model_call(model: str, prompt: str) -> dict:
        span = mlflow.get_current_active_span()
        tracing.record_usage(span, input_tokens=10, output_tokens=5)  # model only in the inputs
        return {"model": model, "text": "ok"}

    @tracing.agent_span
    def agent() -> None:
        model_call("gpt-4o-mini", "hi")
        with tracing.tool_span("double-encoded") as span:
            span.set_attribute("mlflow.custom", '{"already": "json"}')
            span.set_outputs('["a", "b"]')
        with tracing.retriever_span("kb") as span:
            tracing.record_documents(span, ["doc"])

    agent()
    (pending,) = list(lifecycle._writer()._queue)  # the trace as handed to the writer, not yet stored
    spans = pending.trace.data.spans
    assert next(s for s in spans if s.name == "model_call").get_attribute("mlflow.llm.model") is None
    for span in spans:
        assert translate_for_storage(span) == translate_span_when_storing(span), span.name
    slow_writer.set()
    stored = mlflow.get_trace(pending.trace.info.trace_id, flush=True)
    llm = next(s for s in stored.data.spans if s.name == "model_call")
    assert llm.get_attribute("mlflow.llm.model") == "gpt-4o-mini"
    assert llm.get_attribute("mlflow.llm.cost")["total_cost"] > 0


def test_traces_still_queued_at_exit_are_written_before_the_process_ends(session_store, stored_rows):
    """A script that never calls flush() and ends with its traces still queued: the exit hook drains them."""
    import subprocess
    import sys
    import textwrap

    uri = session_store  # already migrated: saves the child ~3 s of schema creation
    script = textwrap.dedent(
        f"""
        import atexit, threading
        import llmops.tracing as tracing
        from llmops.tracing import lifecycle

        setup = tracing.setup({uri!r}, "tracing-exit-flush", autolog=False)
        writer = lifecycle._writer()
        gate, write = threading.Event(), writer._write
        writer._write = lambda batch: (gate.wait(), write(batch))[1]  # hold the writer...
        atexit.register(gate.set)  # ...until exit (runs before llmops' own exit hook: atexit is LIFO)

        @tracing.agent_span
        def work(i):
            return i

        for i in range(50):
            work(i)
        print("pending", tracing.stats().pending, "experiment", setup.experiment_id)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, timeout=120)
    words = done.stdout.split()
    assert words[:2] == ["pending", "50"]
    assert stored_rows(uri, words[3]) == (50, 50)
