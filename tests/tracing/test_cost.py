"""Cost per trace from token usage and the price table, written on the trace as llmops.cost_usd."""

from __future__ import annotations

import json

import httpx
import mlflow
import pytest

import llmops.tracing as tracing
from llmops.tracing.cost import COST_METADATA_KEY, UNPRICED_METADATA_KEY, Price, cost_breakdown, price_for


def _model_call(model: str, input_tokens: int, output_tokens: int) -> str:
    @tracing.agent_span
    def agent() -> str:
        with tracing.llm_span("model-call") as span:
            span.set_inputs({"model": model, "prompt": "hi"})
            tracing.record_usage(span, input_tokens=input_tokens, output_tokens=output_tokens, model=model)
            span.set_outputs("hello")
        return "done"

    agent()
    return mlflow.get_last_active_trace_id()


def test_price_lookup_handles_dated_names_offline_models_and_unknown_ones():
    assert price_for("gpt-4o-mini") == Price(0.15, 0.60, 0.075)
    assert price_for("gpt-4o-mini-2024-07-18") == price_for("gpt-4o-mini")  # not gpt-4o's price
    assert price_for("openai:/gpt-4o") == price_for("gpt-4o")
    assert price_for("offline-analyst") == Price(0.0, 0.0)
    assert price_for("mystery-model") is None


def test_cost_is_written_on_the_trace_and_recomputed_from_the_stored_trace(traced):
    trace_id = _model_call("gpt-4o-mini", input_tokens=1000, output_tokens=500)
    trace = mlflow.get_trace(trace_id, flush=True)

    # 1000 x 0.15 / 1M + 500 x 0.60 / 1M
    assert trace.info.trace_metadata[COST_METADATA_KEY] == "0.00045"
    assert tracing.trace_cost(trace) == pytest.approx(0.00045)
    assert trace.info.token_usage == {"input_tokens": 1000, "output_tokens": 500, "total_tokens": 1500}
    found = mlflow.search_traces(
        locations=[traced.experiment_id],
        filter_string=f"metadata.`{COST_METADATA_KEY}` = '0.00045'",
        return_type="list",
    )
    assert [t.info.trace_id for t in found] == [trace_id]


def test_offline_model_costs_zero_and_unknown_models_are_flagged_not_guessed(traced):
    offline = mlflow.get_trace(_model_call("offline-analyst", 5000, 800), flush=True)
    assert offline.info.trace_metadata[COST_METADATA_KEY] == "0"

    unknown = mlflow.get_trace(_model_call("mystery-model", 100, 10), flush=True)
    assert unknown.info.trace_metadata[COST_METADATA_KEY] == "0"
    assert unknown.info.trace_metadata[UNPRICED_METADATA_KEY] == "mystery-model"


def test_prices_can_be_overridden_in_setup(traced, session_store):
    tracing.setup(session_store, traced.experiment_name, autolog=False, prices={"mystery-model": (1.0, 2.0)})
    trace = mlflow.get_trace(_model_call("mystery-model", 1_000_000, 500_000), flush=True)
    assert trace.info.trace_metadata[COST_METADATA_KEY] == "2"
    assert UNPRICED_METADATA_KEY not in trace.info.trace_metadata


def test_nested_spans_reporting_the_same_call_are_counted_once(traced):
    @tracing.chain_span(name="ChatOpenAI")  # LangChain's span reports usage...
    def outer() -> None:
        span = mlflow.get_current_active_span()
        tracing.record_usage(span, input_tokens=2000, output_tokens=1000)
        with tracing.llm_span("Completions") as inner:  # ...and so does the OpenAI call inside it
            tracing.record_usage(inner, input_tokens=2000, output_tokens=1000, model="gpt-4o")

    outer()
    trace = mlflow.get_trace(mlflow.get_last_active_trace_id(), flush=True)
    cost = cost_breakdown(trace)
    assert cost.input_tokens == 2000 and cost.output_tokens == 1000
    assert cost.usd == pytest.approx(2000 * 2.5 / 1e6 + 1000 * 10 / 1e6)
    assert cost.by_model == {"gpt-4o": pytest.approx(0.015)}


def test_openai_autolog_call_gets_a_cost(session_store):
    """A real openai client call, autologged by setup(), answered by an in-process mock transport."""
    import openai

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        return httpx.Response(
            200,
            json={
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"] + "-2024-07-18",
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
                "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500},
            },
        )

    setup = tracing.setup(session_store, "tracing-openai-autolog", autolog=True)
    try:
        client = openai.OpenAI(
            api_key="sk-test-not-a-real-key-000000",
            base_url="http://offline.invalid/v1",
            http_client=httpx.Client(transport=httpx.MockTransport(handler)),
        )
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}])
        trace = mlflow.get_trace(mlflow.get_last_active_trace_id(), flush=True)
        assert trace.info.experiment_id == setup.experiment_id
        assert [s.span_type for s in trace.data.spans] == ["CHAT_MODEL"]
        assert trace.info.trace_metadata[COST_METADATA_KEY] == "0.00045"
    finally:
        tracing.reset()


def test_offline_model_call_through_langchain_and_openai_autologs(session_store, offline_llm):
    """The course's offline model behind the real ChatOpenAI client: one priced call, free, PII masked."""
    from langchain_openai import ChatOpenAI

    setup = tracing.setup(session_store, "tracing-offline-langchain", autolog=True)
    try:
        chat = ChatOpenAI(model="offline-analyst", base_url=offline_llm, api_key="offline", max_retries=0)
        chat.invoke("Mon colis est en retard, écrivez-moi à paul.durand@example.fr")
        trace = mlflow.get_trace(mlflow.get_last_active_trace_id(), flush=True)
    finally:
        tracing.reset()

    assert trace.info.experiment_id == setup.experiment_id
    # one model call, one span: LangChain's, with the usage; the openai client's duplicate is not recorded
    assert [(s.name, s.span_type) for s in trace.data.spans] == [("ChatOpenAI", "CHAT_MODEL")]
    assert trace.data.spans[0].get_attribute("mlflow.chat.tokenUsage")["total_tokens"] > 0
    assert trace.info.token_usage["total_tokens"] > 0
    assert trace.info.trace_metadata[COST_METADATA_KEY] == "0"  # offline models are free
    assert tracing.cost_breakdown(trace).input_tokens == trace.info.token_usage["input_tokens"]  # counted once
    assert "paul.durand@example.fr" not in trace.to_json()
