"""Each diagnostic on the planted trace set answers the question it exists for."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from llmops import analysis


def _row(frame: pd.DataFrame, **match) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for key, value in match.items():
        mask &= frame[key] == value
    rows = frame[mask]
    assert len(rows) == 1, f"{match}: {len(rows)} rows in\n{frame}"
    return rows.iloc[0]


def test_error_taxonomy_counts_each_planted_problem_where_it_started(planted, planted_set):
    table = analysis.error_taxonomy(planted_set)
    http500 = _row(table, category="http_error", detail="HTTP 500")
    assert (http500["occurrences"], http500["traces"], http500["failed_traces"]) == (4, 1, 1)
    assert http500["example_trace_id"] == planted.id("http500")
    rate = _row(table, category="http_error", detail="HTTP 429")
    # one model call, one span: the 429 is recorded by LangChain's ChatOpenAI span, as langchain-openai's
    # subclass of openai.RateLimitError
    assert (rate["occurrences"], rate["failed_traces"], rate["error_types"]) == (1, 0, "OpenAIRateLimitError")
    timeout = _row(table, category="timeout")
    assert (timeout["occurrences"], timeout["failed_traces"], timeout["detail"]) == (1, 0, "offline-analyst")
    tool = _row(table, category="tool_exception")
    assert (tool["detail"], tool["error_types"], tool["example_trace_id"]) == (
        "lookup_customer",
        "ConnectionError",
        planted.id("toolfail"),
    )
    invalid = _row(table, category="invalid_structured_output")
    assert (invalid["occurrences"], invalid["failed_traces"], invalid["example_trace_id"]) == (
        4,
        1,
        planted.id("badjson"),
    )
    empty = _row(table, category="empty_retrieval")
    assert (empty["detail"], empty["occurrences"]) == ("retrieve_knowledge_base", 1)
    assert len(table) == 6
    assert table["occurrences"].tolist() == sorted(table["occurrences"], reverse=True)
    assert math.isclose(table["share"].sum(), 1.0, abs_tol=1e-3)


def test_which_prompt_version_produced_the_invalid_outputs(planted, planted_set):
    table = analysis.error_taxonomy(planted_set, by="prompt_version")
    invalid = table[table["category"] == "invalid_structured_output"]
    assert invalid["prompt_version"].tolist() == [planted.v2]
    assert not (table["prompt_version"] == planted.v1).any(), "the v1 analyses had no problem"


def test_failed_traces_name_their_cause(planted, planted_set):
    table = analysis.failed_traces(planted_set).set_index("trace_id")
    assert table.loc[planted.id("http500"), ["category", "detail"]].tolist() == ["http_error", "HTTP 500"]
    assert table.loc[planted.id("badjson"), ["category", "detail"]].tolist() == [
        "invalid_structured_output",
        "ChatOpenAI",
    ]
    assert len(table) == 2


def test_which_tool_fails_most_often_and_with_which_error(planted_set):
    table = analysis.tool_usage(planted_set)
    first = table.iloc[0]
    assert first["tool"] == "lookup_customer"
    assert (first["errors"], first["top_error"], first["top_error_count"]) == (
        1,
        "ConnectionError: customer database unreachable",
        1,
    )
    assert first["failure_rate"] == round(1 / first["calls"], 4)
    search = _row(table, tool="search_knowledge_base")
    assert search["errors"] == 0 and search["calls"] == search["traces"]


def test_latency_breakdown_shares_add_up_and_the_root_row_is_the_trace_latency(planted_set):
    table = analysis.latency_breakdown(planted_set)
    # self times add up to the trace time, plus the overlap of what ran in parallel (the two tool calls)
    assert 0.99 <= table["time_share"].sum() <= 1.15
    root = _row(table, span_type="AGENT", name="analyze_comment")
    assert root["count"] == 17
    durations = planted_set.spans.loc[planted_set.spans["parent_id"].isna(), "duration_ms"]
    assert math.isclose(root["p50_ms"], round(durations.median(), 2), abs_tol=0.01)
    assert table["self_ms"].tolist() == sorted(table["self_ms"], reverse=True)
    by_type = analysis.latency_breakdown(planted_set, by="span_type")
    assert set(by_type["span_type"]) == {"AGENT", "CHAIN", "CHAT_MODEL", "TOOL", "RETRIEVER"}


def test_slowest_trace_and_its_critical_path(planted, planted_set):
    slowest = analysis.slowest_traces(planted_set, 3)
    top = slowest.iloc[0]
    assert top["trace_id"] == planted.id("slow")
    assert top["dominant_step"] == "ChatOpenAI" and top["dominant_ms"] >= 1000
    path_text = top["critical_path"]
    assert path_text.startswith("ChatOpenAI") and (
        "search_knowledge_base" in path_text or "lookup_customer" in path_text
    )
    path = analysis.critical_path(planted_set, planted.id("slow"))
    calls = path[path["name"] == "ChatOpenAI"]
    assert len(calls) == 2 and (calls["duration_ms"] >= 1000).all()
    assert path["offset_ms"].is_monotonic_increasing
    assert calls["share"].sum() > 0.8, "the two slowed LLM calls are most of the trace"
    with pytest.raises(analysis.TraceNotFoundError):
        analysis.critical_path(planted_set, "tr-nope")


def test_slowest_session_and_why(planted, planted_set):
    table = analysis.sessions(planted_set)
    assert table["session_id"].tolist()[0] == "s-faults"
    faults = table.iloc[0]
    assert (faults["traces"], faults["failed"], faults["slowest_trace_id"]) == (7, 2, planted.id("slow"))
    assert faults["dominant_span"] == "ChatOpenAI"
    assert set(table["session_id"]) == {"s-v1", "s-v2", "s-faults"}
    assert table.set_index("session_id").loc["s-v1", "traces"] == 4


def test_how_many_llm_calls_a_successful_analysis_makes(planted, planted_set):
    table = analysis.llm_calls(planted_set).set_index("status")
    assert table.loc["OK", "traces"] == 15
    assert table.loc["OK", "most_common"] == 2 == table.loc["OK", "median"]
    assert table.loc["OK", "max"] == 3, "a retried call (429, timeout) adds one"
    assert table.loc["ERROR", "min"] == 4
    assert table.loc["all", "calls"] == planted_set.spans["is_llm_call"].sum()


def test_token_usage_by_model_prompt_version_and_session(planted, planted_set):
    by_model = analysis.token_usage(planted_set)
    assert by_model["model"].tolist() == ["offline-analyst"]
    assert by_model.iloc[0]["total_tokens"] == planted_set.traces["total_tokens"].sum()
    assert by_model.iloc[0]["cost_usd"] == 0.0, "the offline model is free"
    by_version = analysis.token_usage(planted_set, by=["prompt_name", "prompt_version"]).set_index("prompt_version")
    assert by_version.loc[planted.v1, "traces"] == 4
    v1_tokens = sum(r.tokens for label, r in planted.results.items() if label.startswith("v1"))
    assert by_version.loc[planted.v1, "total_tokens"] == v1_tokens
    by_session = analysis.token_usage(planted_set, by="session_id")
    assert set(by_session["session_id"]) == {"s-v1", "s-v2", "s-faults"}
    with pytest.raises(KeyError, match="no trace column 'colour'"):
        analysis.token_usage(planted_set, by="colour")


def test_retrieval_statistics_and_the_document_that_should_have_been_retrieved(planted, planted_set):
    stats = analysis.retrieval_stats(planted_set).iloc[0]
    assert (stats["retriever"], stats["empty"]) == ("retrieve_knowledge_base", 1)
    assert stats["calls"] == (planted_set.spans["span_type"] == "RETRIEVER").sum()
    frequency = analysis.document_frequency(planted_set)
    assert frequency["retrievals"].tolist() == sorted(frequency["retrievals"], reverse=True)
    expected = analysis.expected_documents(planted_set).iloc[0]
    assert expected["trace_id"] == planted.id("v2-1")
    assert expected["missing"] == ("kb-accessibility",) and expected["recall"] == 0.0


def test_summary_figures(planted, planted_set):
    figures = dict(zip(*analysis.summary(planted_set).T.values))
    assert (figures["traces"], figures["ok_traces"], figures["failed_traces"]) == (17, 15, 2)
    assert figures["sessions"] == 3 and figures["users"] == 17
    assert figures["llm_calls"] == planted_set.traces["llm_calls"].sum()
    assert figures["tool_errors"] == 1 and figures["empty_retrievals"] == 1
    assert figures["top_problem"] in ("http_error / HTTP 500 (4)", "invalid_structured_output / ChatOpenAI (4)")
    assert figures["prompt_versions"] == f"comment-analyzer v{planted.v1} (4), comment-analyzer v{planted.v2} (13)"
    assert figures["skipped_lines"] == 0


def test_results_are_deterministic(planted_set, planted):
    from llmops.analysis import load_file

    again = load_file(planted.path)
    for name in (
        "summary",
        "error_taxonomy",
        "latency_breakdown",
        "slowest_traces",
        "sessions",
        "tool_usage",
        "token_usage",
    ):
        pd.testing.assert_frame_equal(getattr(analysis, name)(planted_set), getattr(analysis, name)(again), obj=name)


def test_an_empty_set_gives_empty_tables_with_the_documented_columns(planted_set):
    empty = planted_set.subset([])
    for name in ("issues", "failed_traces", "error_taxonomy", "latency_breakdown", "slowest_traces", "tool_usage",
                 "retrieval_stats", "document_frequency", "sessions", "llm_calls", "token_usage", "expected_documents"):  # fmt: skip
        table = getattr(analysis, name)(empty)
        assert table.empty and len(table.columns) > 1, name
    assert dict(zip(*analysis.summary(empty).T.values))["traces"] == 0
    with pytest.raises(analysis.EmptyTraceSetError):
        empty.require()


def test_compare_v1_and_v2(planted, planted_set):
    parts = planted_set.split("prompt_version")
    table = analysis.compare(parts[planted.v1], parts[planted.v2])
    rows = table.set_index(["metric", "kind"])
    assert rows.loc[("traces", "count"), ["a", "b"]].tolist() == [4.0, 13.0]
    failed = rows.loc[("failed_traces", "rate")]
    assert (failed["a"], round(failed["b"], 4), failed["test"]) == (0.0, round(2 / 13, 4), "fisher")
    assert not failed["significant"], "2 failures in 13 against 0 in 4 is no evidence"
    assert ("tool_failure_rate:lookup_customer", "rate") in rows.index
    assert ("latency_ms:ChatOpenAI", "median") in rows.index
    significant = table[table["significant"]]
    assert (significant["p_value"] < 0.05).all()
    assert table["significant"].tolist() == sorted(table["significant"], reverse=True), "significant rows first"


def test_compare_flags_a_real_difference(planted, planted_set):
    faults = planted_set.where(planted_set.traces["session_id"] == "s-faults")
    normal = planted_set.where(planted_set.traces["session_id"] != "s-faults")
    rows = analysis.compare(normal, faults).set_index(["metric", "kind"])
    calls = rows.loc[("llm_calls_per_trace", "mean")]
    assert calls["b"] > calls["a"] and calls["significant"], calls


def test_the_statistical_tests_match_reference_values():
    from llmops.analysis.comparison import fisher_exact, mann_whitney_u, proportion_test

    # reference values from scipy.stats (mannwhitneyu asymptotic, fisher_exact)
    assert math.isclose(fisher_exact(1, 10, 7, 12), 0.030959752321981428, rel_tol=1e-9)
    assert math.isclose(fisher_exact(0, 4, 4, 4), 0.028571428571428567, rel_tol=1e-9)
    assert math.isclose(mann_whitney_u([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]), 0.012185780355344813, rel_tol=1e-6)
    assert mann_whitney_u([1, 1, 1], [1, 1, 1]) == 1.0 and mann_whitney_u([], [1.0]) == 1.0
    assert proportion_test(30, 100, 50, 100)[0] == "z"
    assert math.isclose(proportion_test(30, 100, 50, 100)[1], 0.003892417122778627, rel_tol=1e-9)
