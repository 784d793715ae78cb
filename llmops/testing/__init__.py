"""Testing helpers for LLM apps traced with MLflow: trace-contract assertions, and a pytest plugin.

The plugin is registered as a pytest entry point (``llmops = llmops.testing.pytest_plugin``), so installing
llmops gives any test suite these fixtures:

- ``llmops_offline_llm``: the deterministic offline model on 127.0.0.1, and the environment pointing every
  client built by ``llmops.llm.clients`` (and MLflow's judges) at it; yields its base URL;
- ``llmops_store``: a temporary SQLite tracking store for the test session, with ``llmops.tracing.setup()``
  on it (lossless export, redaction, autolog) and a fresh experiment per test; yields the tracking URI;
- ``capture_trace``: a context manager capturing the trace made inside a block;
- ``llmops_replay``: ``llmops_replay("cassette.jsonl")`` answers every model request with the answer recorded
  in a trace file (strict: an unrecorded request fails the test); see ``llmops.llm.replay``.

::

    def test_reply_is_grounded(llmops_offline_llm, llmops_store, capture_trace):
        with capture_trace() as captured:
            my_app.answer("Où est ma commande ?")
        assert_trace(captured.trace).retrieved_before_answer().llm_calls_at_most(3).no_error_spans()
"""

from llmops.testing.assertions import CapturedTrace, TraceAssertions, assert_trace, capture_trace, describe

__all__ = ["CapturedTrace", "TraceAssertions", "assert_trace", "capture_trace", "describe"]
