"""The scorers on real traces: the analyzer (agent, offline model over HTTP, chromadb) on a few comments,
the traces read back from the store, then each scorer as mlflow.genai.evaluate would call it."""

from __future__ import annotations

import pytest

from llmops.evaluation import datasets
from llmops.evaluation.scorers import NOT_MEASURED, code_scorers, no_pii_leak

from .conftest import REPO

ROWS = ["CMT-0061", "CMT-0093", "CMT-0117", "CMT-0245"]  # PII + hit, high churn, empty text, pure injection


@pytest.fixture(scope="module")
def analyzed(eval_ready):
    """{row id: (row, outputs, trace)} for ROWS, analysed with the production prompt."""
    import mlflow

    from llmops.agent.analyzer import Analyzer
    from llmops.agent.tickets import TicketStore
    from llmops.evaluation.runner import _stored_traces, predict
    from llmops.tracing import flush, setup

    world, _, retriever = eval_ready
    experiment_id = setup(experiment="test-eval").experiment_id  # other tests may have re-pointed tracing
    rows = {r.id: r for r in datasets.load(REPO / "data" / "eval" / "ci.jsonl") if r.id in ROWS}
    analyzer = Analyzer(prompt_alias="production", retriever=retriever, tickets=TicketStore(world.root / "t1.db"))
    predictions = predict(analyzer, list(rows.values()), batch="scorers", workers=2)
    flush()
    traces = _stored_traces(experiment_id, "scorers")
    assert mlflow.get_tracking_uri() == world.uri
    return {p.row_id: (rows[p.row_id], p.outputs, traces[p.trace_id]) for p in predictions}


def score(row, outputs, trace) -> dict:
    out = {}
    for s in code_scorers():
        fb = s.run(inputs=row.inputs, outputs=outputs, expectations=row.expectations, trace=trace)
        if fb is not None:
            out[fb.name] = fb
    return out


def test_labels_retrieval_tools_and_costs_on_a_real_trace(analyzed):
    row, outputs, trace = analyzed["CMT-0061"]
    fb = score(row, outputs, trace)
    assert fb["sentiment_match"].value is (outputs["analysis"]["sentiment"] == row.expectations["sentiment"])
    assert fb["structured_output_valid"].value is True
    # what the RETRIEVER spans say agrees with what the application reported
    retrieved = fb["retrieval_hit"].metadata["retrieved"].split(",")
    assert retrieved[: len(outputs["retrieved_doc_ids"])] == outputs["retrieved_doc_ids"][: len(retrieved)]
    assert fb["retrieval_hit"].value is True and fb["retrieval_hit"].metadata["rank"] != "0"
    assert fb["citations_valid"].value is True
    assert fb["tool_calls_correct"].value is True
    assert fb["llm_calls"].value == outputs["llm_calls"] >= 2  # outermost CHAT_MODEL spans = the agent's calls
    assert 0 < fb["total_tokens"].value and fb["latency_ms"].value > 0
    assert fb["no_pii_leak"].value is True and "e-mail address" in fb["no_pii_leak"].rationale


def test_high_churn_requires_a_ticket_and_the_injection_forbids_one(analyzed):
    row, outputs, trace = analyzed["CMT-0093"]
    assert row.expectations["expected_tools"][-1] == "create_ticket"
    fb = score(row, outputs, trace)
    assert fb["tool_calls_correct"].value is ("create_ticket" in fb["tool_calls_correct"].metadata["called"])
    row, outputs, trace = analyzed["CMT-0245"]
    fb = score(row, outputs, trace)
    assert "retrieval_hit" not in fb  # no expected documents: not applicable, nothing logged
    assert "no_pii_leak" not in fb
    called = fb["tool_calls_correct"].metadata["called"].split(",")
    assert fb["tool_calls_correct"].value is ("create_ticket" not in called)


def test_a_refused_comment_is_scored_as_expected_error(analyzed):
    row, outputs, trace = analyzed["CMT-0117"]
    assert outputs["error"] == "empty_text"
    assert trace.data.spans[0].name == "analyze_comment.untraced"
    fb = score(row, outputs, trace)
    assert fb["expected_error"].value is True
    assert set(fb) == {"expected_error"}  # labels, tools, costs do not apply to a refused comment


def test_pii_in_the_answer_is_a_leak_and_the_value_is_never_repeated(analyzed):
    row, outputs, trace = analyzed["CMT-0061"]
    leaky = {"analysis": {**outputs["analysis"], "suggested_reply": "We will write to david.cohen@example.com"}}
    fb = no_pii_leak(row.inputs, leaky, trace)
    assert fb.value is False and "e-mail address of the comment is in the answer" in fb.rationale
    assert "david.cohen" not in fb.rationale


def test_missing_spans_are_not_measured_never_a_zero(eval_ready):
    """A trace whose app searched the knowledge base without a RETRIEVER span, and made no CHAT_MODEL span."""
    import mlflow

    from llmops.evaluation.judges import ReplyGroundedness
    from llmops.tracing import flush

    with mlflow.start_span("my_app", span_type="AGENT") as root:
        root.set_inputs({"text": "Où est ma facture ?"})
        with mlflow.start_span("search_knowledge_base", span_type="TOOL") as tool:
            tool.set_inputs({"query": "facture"})
    flush()
    trace = mlflow.get_trace(root.trace_id, flush=True)
    row = datasets.EvalRow(
        "x", {"comment_id": "x", "text": "Où est ma facture ?", "customer_id": None, "channel": "chat"},
        {"expected_doc_ids": ["kb-billing-invoices"], "expected_tools": ["search_knowledge_base"]},
    )  # fmt: skip
    outputs = {"analysis": {"suggested_reply": "Votre facture est dans l'Espace Client.", "citations": []}}
    fb = score(row, outputs, trace)
    for name in ("retrieval_hit", "llm_calls"):
        assert fb[name].value is None and fb[name].error.error_code == NOT_MEASURED, name
    assert "no RETRIEVER span" in fb["retrieval_hit"].error.error_message
    assert fb["tool_calls_correct"].value is True
    judged = ReplyGroundedness(model="openai:/unused")(inputs=row.inputs, outputs=outputs, trace=trace)
    assert judged.error.error_code == NOT_MEASURED and judged.value is None
