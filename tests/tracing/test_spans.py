"""Span helpers as stored: types, nesting, retriever documents, errors."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import mlflow
import pytest
from mlflow.entities import Document, SpanStatusCode, SpanType, TraceState

import llmops.tracing as tracing


def _stored(trace_id: str):
    assert tracing.flush()
    return mlflow.get_trace(trace_id)


def test_span_types_and_nesting_are_stored(traced):
    @tracing.tool_span(name="lookup_order")
    def lookup(order_id: int) -> dict:
        return {"order_id": order_id, "status": "late"}

    @tracing.agent_span
    def analyze(comment: str) -> str:
        with tracing.retriever_span("kb") as span:
            tracing.record_documents(span, ["Late parcels are refunded."])
        with tracing.llm_span("classify") as span:
            span.set_inputs({"prompt": comment})
            span.set_outputs("complaint")
        lookup(42)
        with tracing.chain_span():
            pass
        return "complaint"

    analyze("my parcel is late")
    trace = _stored(mlflow.get_last_active_trace_id())

    spans = {span.name: span for span in trace.data.spans}
    assert {name: span.span_type for name, span in spans.items()} == {
        "analyze": SpanType.AGENT,
        "kb": SpanType.RETRIEVER,
        "classify": SpanType.LLM,
        "lookup_order": SpanType.TOOL,
        "chain": SpanType.CHAIN,
    }
    root = spans["analyze"]
    assert root.parent_id is None
    assert all(spans[n].parent_id == root.span_id for n in ("kb", "classify", "lookup_order", "chain"))
    assert spans["lookup_order"].inputs == {"order_id": 42}
    assert spans["lookup_order"].outputs == {"order_id": 42, "status": "late"}
    assert trace.info.state == TraceState.OK


def test_decorated_retriever_stores_documents_in_mlflow_shape(traced):
    class LangChainLikeDoc(SimpleNamespace):
        pass

    @tracing.retriever_span(name="search_kb")
    def search(query: str, k: int = 2) -> list:
        return [
            LangChainLikeDoc(page_content="Refunds take 5 days.", metadata={"source": "faq.md"}, id="faq-1"),
            {"content": "Delivery is 48h.", "metadata": {"source": "terms.md"}, "id": 7, "score": 0.8},
        ]

    results = search("refund")
    assert isinstance(results[0], LangChainLikeDoc)  # the caller still gets what the retriever returned
    span = _stored(mlflow.get_last_active_trace_id()).data.spans[0]

    assert span.span_type == SpanType.RETRIEVER
    assert span.outputs == [
        {"page_content": "Refunds take 5 days.", "metadata": {"source": "faq.md"}, "id": "faq-1"},
        {"page_content": "Delivery is 48h.", "metadata": {"source": "terms.md", "score": 0.8}, "id": "7"},
    ]
    assert [Document(**d).page_content for d in span.outputs] == ["Refunds take 5 days.", "Delivery is 48h."]


def test_chroma_query_results_become_documents(traced):
    chroma_result = {
        "ids": [["kb-1", "kb-2"]],
        "documents": [["Refund policy", "Shipping policy"]],
        "metadatas": [[{"topic": "refund"}, {"topic": "shipping"}]],
        "distances": [[0.12, 0.48]],
    }
    with tracing.retriever_span("kb") as span:
        docs = tracing.record_documents(span, chroma_result)
    assert [d.id for d in docs] == ["kb-1", "kb-2"]
    stored = _stored(span.trace_id).data.spans[0]
    assert stored.outputs[1] == {
        "page_content": "Shipping policy",
        "metadata": {"topic": "shipping", "distance": 0.48},
        "id": "kb-2",
    }


def test_error_spans_keep_status_error_and_the_exception_event(traced):
    @tracing.tool_span
    def refund(order_id: int) -> None:
        raise ValueError(f"order {order_id} unknown, ask client@example.com")

    @tracing.agent_span
    def agent() -> None:
        refund(7)

    with pytest.raises(ValueError):
        agent()
    trace = _stored(mlflow.get_last_active_trace_id())

    assert trace.info.state == TraceState.ERROR
    tool = next(s for s in trace.data.spans if s.name == "refund")
    assert tool.status.status_code == SpanStatusCode.ERROR
    (event,) = [e for e in tool.events if e.name == "exception"]
    assert event.attributes["exception.type"] == "ValueError"
    assert event.attributes["exception.message"] == "order 7 unknown, ask [EMAIL]"
    assert "client@example.com" not in event.attributes["exception.stacktrace"]
    assert "[EMAIL]" in tool.status.description
    assert (
        mlflow.search_traces(
            locations=[traced.experiment_id], filter_string="trace.status = 'ERROR'", return_type="list"
        )[0].info.trace_id
        == trace.info.trace_id
    )


def test_helpers_wrap_async_functions_and_shared_specs(traced):
    step = tracing.tool_span("shared-step")  # one spec object, used as a decorator and a context manager

    @step
    async def fetch(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    @tracing.agent_span
    async def run() -> int:
        with step:
            pass
        return await fetch(21)

    assert asyncio.run(run()) == 42
    trace = _stored(mlflow.get_last_active_trace_id())
    assert sorted(s.name for s in trace.data.spans) == ["run", "shared-step", "shared-step"]
    assert next(s for s in trace.data.spans if s.inputs == {"x": 21}).outputs == 42
