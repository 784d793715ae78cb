"""Trace-contract assertions: what an engineer's test can demand of one trace of their LLM app.

::

    from llmops.testing import assert_trace, capture_trace

    with capture_trace() as captured:
        analyzer.analyze(comment)

    (assert_trace(captured.trace)
        .retrieved_before_answer()
        .llm_calls_at_most(4)
        .tool_called("lookup_customer", customer_id="CUST-0008")
        .tool_not_called("create_ticket")
        .no_error_spans()
        .tokens_at_most(10_000))

Each check raises ``AssertionError`` with a readable account of the trace (spans in order, types, status),
so a failing CI job says what the app did, not just that it differed. The checks read spans the same way
the evaluation scorers do (:mod:`llmops.evaluation.spans`): an LLM call is an outermost ``CHAT_MODEL`` span,
a tool call a ``TOOL`` span, retrieval the ``RETRIEVER`` spans.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any
from collections.abc import Iterator

from llmops.evaluation.spans import CHAT_MODEL, facts


def describe(trace: Any, limit: int = 40) -> str:
    """The spans of a trace, one per line in start order: name, type, status, duration."""
    spans = sorted(trace.data.spans, key=lambda s: s.start_time_ns or 0)
    by_id = {s.span_id: s for s in spans}

    def depth(span: Any) -> int:
        d, parent = 0, by_id.get(span.parent_id)
        while parent is not None:
            d, parent = d + 1, by_id.get(parent.parent_id)
        return d

    lines = []
    for s in spans[:limit]:
        status = getattr(getattr(s.status, "status_code", None), "value", s.status)
        duration = ((s.end_time_ns or s.start_time_ns) - s.start_time_ns) / 1e6 if s.start_time_ns else 0.0
        lines.append(f"{'  ' * depth(s)}{s.name} [{s.span_type}] {status} {duration:.0f} ms")
    if len(spans) > limit:
        lines.append(f"... {len(spans) - limit} more span(s)")
    return f"trace {trace.info.trace_id}:\n" + "\n".join(lines)


class TraceAssertions:
    """Chainable checks over one ``mlflow.entities.Trace``."""

    def __init__(self, trace: Any) -> None:
        if trace is None:
            raise AssertionError("no trace to check (was tracing on? did the block make a trace?)")
        self.trace = trace
        self.facts = facts(trace)

    def _fail(self, message: str) -> None:
        raise AssertionError(f"{message}\n{describe(self.trace)}")

    # --- LLM calls -----------------------------------------------------------------------------------

    def llm_calls_at_most(self, n: int) -> TraceAssertions:
        if self.facts.llm_calls > n:
            self._fail(f"expected at most {n} LLM call(s), the trace has {self.facts.llm_calls}")
        return self

    def llm_calls_at_least(self, n: int) -> TraceAssertions:
        if self.facts.llm_calls < n:
            self._fail(f"expected at least {n} LLM call(s), the trace has {self.facts.llm_calls}")
        return self

    def tokens_at_most(self, n: int) -> TraceAssertions:
        if self.facts.tokens is None:
            self._fail("no token usage recorded on the trace (is LLM autologging on?)")
        if self.facts.tokens > n:
            self._fail(f"expected at most {n} tokens, the trace used {self.facts.tokens}")
        return self

    def latency_at_most(self, ms: float) -> TraceAssertions:
        if self.facts.latency_ms is None or self.facts.latency_ms > ms:
            self._fail(f"expected the trace to take at most {ms:.0f} ms, it took {self.facts.latency_ms} ms")
        return self

    # --- retrieval -----------------------------------------------------------------------------------

    def retrieved_before_answer(self) -> TraceAssertions:
        """A RETRIEVER span started before the last LLM call (the one that wrote the answer)."""
        f = self.facts
        if f.first_retrieval_ns is None:
            self._fail("expected a retrieval before the answer, the trace has no RETRIEVER span")
        if not f.llm_call_starts_ns:
            self._fail("expected an answer written by an LLM call, the trace has no CHAT_MODEL span")
        if f.first_retrieval_ns > max(f.llm_call_starts_ns):
            self._fail("the retrieval started after the last LLM call: the answer could not use it")
        return self

    def retrieved(self, *doc_ids: str, k: int | None = None) -> TraceAssertions:
        """Every ``doc_id`` is among the retrieved documents (the first ``k`` when given)."""
        pool = self.facts.retrieved[:k] if k else self.facts.retrieved
        missing = [d for d in doc_ids if d not in pool]
        if missing:
            self._fail(f"expected {missing} among the retrieved documents, got {pool}")
        return self

    def cited_only_retrieved(self, citations: list[str] | None = None) -> TraceAssertions:
        """Every citation (default: the root span's ``citations`` output) was retrieved."""
        if citations is None:
            root = next((s for s in self.trace.data.spans if s.parent_id is None), None)
            outputs = root.outputs if root is not None else None
            citations = list((outputs or {}).get("citations") or []) if isinstance(outputs, dict) else []
        invented = [c for c in citations if c not in self.facts.retrieved]
        if invented:
            self._fail(f"cited {invented} which no RETRIEVER span returned (retrieved {self.facts.retrieved})")
        return self

    # --- tools ---------------------------------------------------------------------------------------

    def tool_called(self, name: str, /, **arguments: Any) -> TraceAssertions:
        """A TOOL span ``name`` ran, with at least these arguments (compared as equal)."""
        calls = [t for t in self.facts.tool_calls if t.name == name]
        if not calls:
            self._fail(f"expected tool {name!r} to be called; tools called: {self.facts.tools_called() or 'none'}")
        if arguments and not any(all(c.inputs.get(k) == v for k, v in arguments.items()) for c in calls):
            seen = "; ".join(str(c.inputs) for c in calls)
            self._fail(f"expected {name!r} called with {arguments}; it was called with: {seen}")
        return self

    def tool_not_called(self, name: str) -> TraceAssertions:
        if name in self.facts.tools_called():
            self._fail(f"expected tool {name!r} not to be called")
        return self

    def tools_called_in_order(self, *names: str) -> TraceAssertions:
        """The named tools were each called, in this order (other calls may come in between)."""
        called = self.facts.tools_called()
        position = 0
        for name in names:
            try:
                position = called.index(name, position) + 1
            except ValueError:
                self._fail(f"expected tools in the order {list(names)}, the calls were {called}")
        return self

    # --- errors --------------------------------------------------------------------------------------

    def no_error_spans(self) -> TraceAssertions:
        if self.facts.error_spans:
            self._fail(f"expected no span in error, found {self.facts.error_spans}")
        return self

    def succeeded(self) -> TraceAssertions:
        if not self.facts.root_ok:
            self._fail(
                f"expected the trace to succeed, its root span is in error ({self.facts.error_cause or 'no cause'})"
            )
        return self

    def no_text_in_spans(self, *values: str) -> TraceAssertions:
        """None of ``values`` (e.g. the e-mail address of the input) appears anywhere in the stored spans."""
        stored = self.trace.to_json()
        found = [v for v in values if v and v in stored]
        if found:
            self._fail(f"{len(found)} value(s) that must not be stored were found in the spans")
        return self


def assert_trace(trace: Any) -> TraceAssertions:
    """Start a chain of checks on ``trace`` (an ``mlflow.entities.Trace``)."""
    return TraceAssertions(trace)


@dataclass
class CapturedTrace:
    trace_id: str | None = None
    _trace: Any = None

    @property
    def trace(self) -> Any:
        if self._trace is None:
            raise AssertionError("the block made no trace (is tracing enabled? did the code under test run?)")
        return self._trace


@contextlib.contextmanager
def capture_trace() -> Iterator[CapturedTrace]:
    """Capture the last trace made in this thread inside the block, read back from the store once written."""
    import mlflow

    captured = CapturedTrace()
    before = mlflow.get_last_active_trace_id(thread_local=True)
    yield captured
    trace_id = mlflow.get_last_active_trace_id(thread_local=True)
    if trace_id is None or trace_id == before:
        return
    try:
        from llmops.tracing import flush

        flush()
    except Exception:
        pass
    captured.trace_id = trace_id
    captured._trace = mlflow.get_trace(trace_id, flush=True)


__all__ = ["CHAT_MODEL", "CapturedTrace", "TraceAssertions", "assert_trace", "capture_trace", "describe"]
