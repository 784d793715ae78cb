"""The pytest plugin as an engineer uses it in their own tests: fixtures from the entry point, a captured
trace, and trace-contract assertions that fail with a readable account of the trace."""

from __future__ import annotations

import pytest

from llmops.testing import assert_trace

from .conftest import REPO


def test_the_plugin_is_loaded_from_its_entry_point(pytestconfig):
    plugin = pytestconfig.pluginmanager.get_plugin("llmops")
    assert plugin is not None and plugin.__name__ == "llmops.testing.pytest_plugin"


@pytest.fixture
def analyzer(eval_ready, llmops_offline_llm, llmops_store, tmp_path):
    from llmops.agent import Analyzer
    from llmops.agent.tickets import TicketStore

    _, _, retriever = eval_ready
    return Analyzer(prompts_dir=REPO / "prompts", retriever=retriever, tickets=TicketStore(tmp_path / "tickets.db"))


def test_an_analysis_keeps_its_trace_contract(analyzer, llmops_offline_llm, capture_trace):
    from llmops.agent import Comment

    comment = Comment(
        "CMT-9001", "Bonjour, je veux changer mon IBAN pour le prélèvement, pouvez-vous m'aider ?", "CUST-0008", "email"
    )
    with capture_trace() as captured:
        result = analyzer.analyze(comment)
    assert captured.trace_id == result.trace_id
    (
        assert_trace(captured.trace)
        .succeeded()
        .retrieved_before_answer()
        .llm_calls_at_most(4)
        .llm_calls_at_least(2)
        .tool_called("lookup_customer", customer_id="CUST-0008")
        .tools_called_in_order("search_knowledge_base")
        .tool_not_called("create_ticket")
        .no_error_spans()
        .tokens_at_most(10_000)
        .cited_only_retrieved(result.analysis.citations)
    )
    # the client the analyzer used is the plugin's offline model
    assert llmops_offline_llm.startswith("http://127.0.0.1:")


def test_a_broken_contract_says_what_the_trace_did(analyzer, capture_trace):
    from llmops.agent import Comment

    with capture_trace() as captured:
        analyzer.analyze(Comment("CMT-9002", "My wifi keeps dropping every evening.", "CUST-0008", "chat"))
    checks = assert_trace(captured.trace)
    with pytest.raises(AssertionError, match=r"expected at most 1 LLM call\(s\), the trace has \d") as failed:
        checks.llm_calls_at_most(1)
    assert "analyze_comment [AGENT]" in str(failed.value) and "[RETRIEVER]" in str(failed.value)
    with pytest.raises(AssertionError, match=r"expected 'lookup_customer' called with \{'customer_id': 'CUST-0042'\}"):
        checks.tool_called("lookup_customer", customer_id="CUST-0042")
    with pytest.raises(AssertionError, match="expected tool 'search_knowledge_base' not to be called"):
        checks.tool_not_called("search_knowledge_base")
    with pytest.raises(AssertionError, match="cited .* which no RETRIEVER span returned"):
        checks.cited_only_retrieved(["kb-not-a-document"])


def test_nothing_captured_is_an_assertion_error(llmops_store, capture_trace):
    with capture_trace() as captured:
        pass
    with pytest.raises(AssertionError, match="the block made no trace"):
        _ = captured.trace
