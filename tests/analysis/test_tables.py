"""Traces as tables: the same rows from the file, the SQLite store and MLflow's API, and what each holds."""

from __future__ import annotations

import pandas as pd
import pytest

from llmops.analysis import SPAN_COLUMNS, TRACE_COLUMNS, TraceFilterError, load_store


def test_file_store_and_mlflow_api_give_the_same_tables(planted, planted_set):
    for method in ("sql", "mlflow"):
        stored = load_store(planted.experiment, method=method)
        pd.testing.assert_frame_equal(stored.spans, planted_set.spans)
        pd.testing.assert_frame_equal(stored.traces, planted_set.traces)
        pd.testing.assert_frame_equal(stored.assessments, planted_set.assessments)


def test_columns_are_the_documented_ones(planted_set):
    assert tuple(planted_set.spans.columns) == SPAN_COLUMNS
    assert tuple(planted_set.traces.columns) == TRACE_COLUMNS
    assert len(planted_set) == 17
    assert planted_set.traces["trace_id"].is_unique


def test_an_llm_call_is_the_outermost_model_span_and_carries_the_tokens(planted, planted_set):
    spans, traces = planted_set.spans, planted_set.traces.set_index("trace_id")
    calls = spans[spans["is_llm_call"]]
    assert set(calls["name"]) == {"ChatOpenAI"}
    # tracing.setup() keeps the openai client's span out of LangChain's: one model call, one span
    assert spans[(spans["span_type"] == "CHAT_MODEL") & ~spans["is_llm_call"]].empty
    for label, result in planted.results.items():
        trace = traces.loc[result.trace_id]
        # the analyzer counts the answers it used; the trace also shows the attempt that failed and was retried
        retried = 1 if label in ("rate429", "timeout") else 0
        assert trace["llm_calls"] == result.llm_calls + retried, label
        assert trace["total_tokens"] == result.tokens, label
        assert trace["prompt_version"] == (planted.v1 if label.startswith("v1") else planted.v2)
        assert trace["session_id"] == next(s for s, labels in planted.sessions.items() if label in labels)
        assert trace["user_id"] == result.customer_id
        assert trace["retrieved_doc_ids"] == tuple(result.retrieved_doc_ids)
        assert trace["actions_taken"] == tuple(result.actions_taken)


def test_spans_carry_errors_where_they_happened(planted, planted_set):
    spans = planted_set.spans
    http = spans[(spans["trace_id"] == planted.id("http500")) & spans["is_llm_call"] & (spans["status"] == "ERROR")]
    # langchain-openai re-raises openai.InternalServerError as its OpenAIAPIError; the status stays in the message
    assert list(http["http_status"]) == [500] * 4 and set(http["error_type"]) == {"OpenAIAPIError"}
    tool = spans[(spans["trace_id"] == planted.id("toolfail")) & (spans["tool_name"] == "lookup_customer")].iloc[0]
    assert (tool["status"], tool["error_type"], tool["error_message"]) == (
        "ERROR",
        "ConnectionError",
        "customer database unreachable",
    )
    broken = spans[(spans["trace_id"] == planted.id("badjson")) & spans["is_llm_call"]]
    assert broken["invalid_output"].all() and len(broken) == 4
    empty = spans[(spans["trace_id"] == planted.id("empty")) & (spans["span_type"] == "RETRIEVER")].iloc[0]
    assert (empty["retrieved_count"], empty["retrieved_doc_ids"]) == (0, ())
    failed = planted_set.traces.set_index("trace_id").loc[planted.id("http500")]
    assert (failed["status"], failed["error_cause"]) == ("ERROR", "http_500")
    assert "Error code: 500" in failed["error_message"]


def test_times_nest_and_self_time_never_exceeds_duration(planted_set):
    spans = planted_set.spans
    assert (spans["self_ms"] <= spans["duration_ms"] + 1e-9).all()
    roots = spans[spans["parent_id"].isna()]
    assert len(roots) == 17 and (roots["depth"] == 0).all() and (roots["offset_ms"] == 0).all()
    traces = planted_set.traces.set_index("trace_id")
    # the root span lasts as long as MLflow's execution duration (rounded to the millisecond)
    assert ((roots.set_index("trace_id")["duration_ms"] - traces["duration_ms"]).abs() <= 1.0).all()


def test_assessments_table(planted, planted_set):
    a = planted_set.assessments.set_index("name")
    assert a.loc["correct", "kind"] == "feedback" and a.loc["correct", "value"] is False
    assert a.loc["correct", "rationale"] == "cites the wrong plan"
    assert a.loc["expected_doc_ids", "kind"] == "expectation"
    assert a.loc["expected_doc_ids", "trace_id"] == planted.id("v2-1")


def test_a_filter_selects_in_the_store_and_a_rejected_one_quotes_mlflow(planted):
    failed = load_store(planted.experiment, "trace.status = 'ERROR'")
    assert set(failed.traces["trace_id"]) == {planted.id("http500"), planted.id("badjson")}
    tools = load_store(planted.experiment, "span.name = 'lookup_customer' AND span.status = 'ERROR'")
    assert list(tools.traces["trace_id"]) == [planted.id("toolfail")]
    with pytest.raises(
        TraceFilterError, match=r"MLflow rejected the filter .trace.color = 'red'.: Invalid attribute key 'color'"
    ):
        load_store(planted.experiment, "trace.color = 'red'")
    with pytest.raises(TraceFilterError, match="Invalid clause"):
        load_store(planted.experiment, "trace.status = 'OK' OR trace.status = 'ERROR'")


def test_subset_split_and_lookup(planted, planted_set):
    parts = planted_set.split("prompt_version")
    assert list(parts) == [planted.v1, planted.v2]
    assert len(parts[planted.v1]) == 4 and len(parts[planted.v2]) == 13
    assert set(parts[planted.v1].spans["trace_id"]) == set(parts[planted.v1].traces["trace_id"])
    assert planted_set.trace(planted.id("slow"))["session_id"] == "s-faults"
    from llmops.analysis import TraceNotFoundError

    with pytest.raises(TraceNotFoundError, match="trace tr-nope is not in .*planted.jsonl \\(17 traces\\)"):
        planted_set.trace("tr-nope")
