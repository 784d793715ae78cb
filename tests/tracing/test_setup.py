"""setup(): lazy import, idempotence, re-pointing, surviving MLflow's own resets, the default path."""

from __future__ import annotations

import subprocess
import sys

import mlflow

import llmops.tracing as tracing
from llmops.tracing import lifecycle


def _one_trace(text: str = "hello") -> str:
    @tracing.agent_span
    def answer(question: str) -> str:
        return f"answer to {question}"

    answer(text)
    return mlflow.get_last_active_trace_id()


def test_importing_the_package_does_not_import_mlflow():
    code = (
        "import sys, time; t = time.perf_counter(); import llmops.tracing as t_; "
        "from llmops.tracing import redact; assert redact('a@b.fr') == '[EMAIL]'; "
        "print('mlflow' in sys.modules, time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "False"
    assert float(out[1]) < 0.5


def test_setup_twice_changes_nothing(traced, session_store):
    _one_trace()  # builds MLflow's tracer provider
    provider_before = mlflow.tracing.provider.provider.get()
    again = tracing.setup(session_store, traced.experiment_name, autolog=False)

    assert again == traced
    assert mlflow.tracing.provider.provider.get() is provider_before
    hooks = [p for p in mlflow.tracing.config.get_config().span_processors if p is lifecycle._llmops_span_hook]
    assert len(hooks) == 1

    before = tracing.stats().submitted
    trace_id = _one_trace()
    assert tracing.flush()
    assert tracing.stats().submitted == before + 1
    assert mlflow.get_trace(trace_id).info.experiment_id == traced.experiment_id


def test_setup_with_another_store_repoints_the_exporter(tmp_store, session_store, stored_rows):
    # tmp_store (requested first) pointed MLflow at a new file; setup() points it back, then elsewhere.
    try:
        first_setup = tracing.setup(session_store, "tracing-repoint-first", autolog=False)
        first = _one_trace("first")  # still queued when the URI changes below
        second_setup = tracing.setup(tmp_store, "tracing-repoint-second", autolog=False)
        second = _one_trace("second")
        assert tracing.flush()

        assert mlflow.get_tracking_uri() == tmp_store
        assert stored_rows(tmp_store, second_setup.experiment_id) == (1, 1)
        assert mlflow.get_trace(second).info.request_preview == '{"question": "second"}'
        assert stored_rows(session_store, first_setup.experiment_id) == (1, 1)
        mlflow.set_tracking_uri(session_store)
        assert mlflow.get_trace(first).info.request_preview == '{"question": "first"}'
    finally:
        tracing.reset()


def test_redaction_and_lossless_export_survive_mlflow_resets(traced):
    mlflow.tracing.reset()  # what set_tracking_uri() does internally: wipes provider and configure()
    seen = []

    def user_processor(span):
        seen.append(span.name)

    mlflow.tracing.configure(span_processors=[user_processor])  # replaces the processor list
    before = tracing.stats().submitted
    trace_id = _one_trace("write to jane.doe@example.com")
    assert tracing.flush()

    assert tracing.stats().submitted == before + 1  # still the lossless writer
    assert seen == ["answer"]  # the user's processor still runs...
    trace = mlflow.get_trace(trace_id)
    assert "jane.doe@example.com" not in trace.info.request_preview  # ...and so does redaction
    assert trace.data.spans[0].inputs == {"question": "write to [EMAIL]"}


def test_reset_restores_mlflow_defaults(traced):
    original_factory = lifecycle._STATE.original_factory
    tracing.reset()
    assert mlflow.tracing.provider._get_mlflow_span_processor is original_factory
    assert lifecycle._llmops_span_hook not in mlflow.tracing.config.get_config().span_processors
    assert tracing.current() is None


def test_lossless_false_keeps_mlflows_default_export(session_store, request, monkeypatch):
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")  # synchronous: no 2 s flush in the test
    setup = tracing.setup(session_store, "tracing-default-path", autolog=False, lossless=False)
    try:
        before = tracing.stats()
        trace_id = _one_trace("call 06 12 34 56 78")
        trace = mlflow.get_trace(trace_id)
        assert trace.info.experiment_id == setup.experiment_id
        assert trace.data.spans[0].inputs == {"question": "call [PHONE]"}  # redaction is on either way
        assert tracing.stats() == before  # the lossless writer saw nothing
    finally:
        tracing.reset()


def test_setup_without_arguments_reads_the_settings(session_store, monkeypatch):
    monkeypatch.setenv("LLMOPS_TRACKING_URI", session_store)
    monkeypatch.setenv("LLMOPS_EXPERIMENT", "tracing-from-settings")
    try:
        setup = tracing.setup(autolog=False)
        assert (setup.tracking_uri, setup.experiment_name) == (session_store, "tracing-from-settings")
        assert mlflow.get_experiment(setup.experiment_id).name == "tracing-from-settings"
        assert mlflow.get_trace(_one_trace(), flush=True).info.experiment_id == setup.experiment_id
    finally:
        tracing.reset()


def test_autologged_calls_in_two_threads_do_not_end_each_others_session(session_store):
    """`llmops analyze -c 4` runs autologged LangChain calls in parallel threads: one thread finishing its call
    must not end the autologging session of a call still running in another (MLflow keeps one per process, and
    the other call then failed with "'NoneType' object has no attribute 'state'")."""
    import threading

    from mlflow.utils.autologging_utils.safety import _AutologgingSessionManager as sessions

    tracing.setup(session_store, "autolog-threads", autolog=True)
    a_inside, b_inside, a_finished = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first_call():
        with sessions.start_session("langchain"):
            a_inside.set()
            b_inside.wait(10)
        a_finished.set()

    def second_call():
        a_inside.wait(10)
        with sessions.start_session("langchain") as own:
            b_inside.set()
            a_finished.wait(10)  # the first call ends while this one still runs
            seen["active"], seen["own"] = sessions.active_session(), own

    try:
        threads = [threading.Thread(target=first_call), threading.Thread(target=second_call)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
    finally:
        tracing.reset()
    assert seen["active"] is not None and seen["active"] is seen["own"]
    assert seen["active"].state == "running"
    assert sessions.active_session() is None  # nothing left open in this thread
