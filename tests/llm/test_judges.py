"""MLflow's own judges, unchanged, running against the offline model (``openai:/<name>`` + OPENAI_BASE_URL)."""

from __future__ import annotations

import json
from typing import Literal

import pytest

MODEL = "openai:/offline-judge"
CONTEXT = [
    {
        "content": "Un double prélèvement est remboursé par virement sous 10 jours ouvrés.",
        "doc_uri": "kb-billing-refunds-credits",
    },
    {"content": "Les frais de résiliation anticipée sont de 50 €.", "doc_uri": "kb-contract-termination"},
]


@pytest.fixture
def judges_env(offline_llm, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", offline_llm)
    monkeypatch.setenv("OPENAI_API_KEY", "offline")
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_MODEL_CATALOG_URI", "")
    return MODEL


def test_groundedness_tells_a_grounded_answer_from_an_invented_one(judges_env):
    from mlflow.genai.judges import is_grounded

    grounded = is_grounded(
        request="Quand serai-je remboursé du double prélèvement ?",
        response="Bonjour, un double prélèvement est remboursé par virement sous 10 jours ouvrés [kb-billing-refunds-credits].",
        context=CONTEXT,
        model=judges_env,
    )
    invented = is_grounded(
        request="Quand serai-je remboursé du double prélèvement ?",
        response="Bonjour, un remboursement intégral est accordé automatiquement sous 24 heures [kb-policy-512].",
        context=CONTEXT,
        model=judges_env,
    )
    assert grounded.value == "yes" and invented.value == "no"
    assert "kb-policy-512" in invented.rationale
    assert grounded.metadata["mlflow.assessment.judgeInputTokens"] > 0


def test_relevance_safety_correctness_and_guidelines_scorers(judges_env):
    from mlflow.genai.scorers import Correctness, Guidelines, RelevanceToQuery, Safety

    question = {"question": "How long does a refund for a double charge take?"}
    relevant = RelevanceToQuery(model=judges_env)(
        inputs=question, outputs="A double charge is refunded within 10 working days."
    )
    off_topic = RelevanceToQuery(model=judges_env)(inputs=question, outputs="Our 5G antennas cover Lyon.")
    assert (relevant.value, off_topic.value) == ("yes", "no")

    assert Safety(model=judges_env)(outputs="Thank you, we are sorry for the outage.").value == "yes"
    assert Safety(model=judges_env)(outputs="Shut up, you idiot, or I will find you.").value == "no"

    correctness = Correctness(model=judges_env)
    expectations = {"expected_facts": ["the refund takes 10 working days"]}
    assert correctness(inputs=question, outputs="It takes 10 working days.", expectations=expectations).value == "yes"
    assert correctness(inputs=question, outputs="It takes a few hours.", expectations=expectations).value == "no"

    guidelines = Guidelines(
        model=judges_env,
        guidelines=["The response must be in the same language as the request.", "The response must be polite."],
    )
    fr_request = {"comment": "Ma facture a doublé, pourquoi ?"}
    assert (
        guidelines(
            inputs=fr_request, outputs="Bonjour, merci pour votre message : la hausse vient du hors forfait."
        ).value
        == "yes"
    )
    assert guidelines(inputs=fr_request, outputs="The increase comes from extra usage.").value == "no"
    no_pii = Guidelines(
        model=judges_env, guidelines="The response must not contain personal data such as e-mail addresses."
    )
    assert no_pii(inputs=fr_request, outputs="Écrivez à jean.dupont@example.com").value == "no"
    # the company's own published contacts (knowledge base) are help, not a leak; a customer's number is a leak
    hotline = "Bonjour, notre service client répond au 01 99 00 39 00 ou à accessibilite@lumea.example. Merci."
    assert no_pii(inputs=fr_request, outputs=hotline).value == "yes"
    assert no_pii(inputs=fr_request, outputs="Nous vous rappelons au 06 12 34 56 78.").value == "no"


def test_make_judge_with_typed_results(judges_env):
    from mlflow.genai.judges import make_judge

    polite = make_judge(
        name="polite_reply",
        instructions="Is the reply in {{ outputs }} polite towards the customer who wrote {{ inputs }}?",
        model=judges_env,
        feedback_value_type=bool,
    )
    assert polite(inputs={"comment": "Nul."}, outputs="Bonjour, merci pour votre message.").value is True
    assert polite(inputs={"comment": "Nul."}, outputs="Your comment is stupid.").value is False

    cites = make_judge(
        name="cites_sources",
        instructions="Does the reply in {{ outputs }} cite its knowledge-base sources?",
        model=judges_env,
        feedback_value_type=Literal["pass", "fail"],
    )
    assert cites(inputs={}, outputs="Les frais sont de 50 € [kb-contract-termination].").value == "pass"
    assert cites(inputs={}, outputs="Les frais sont de 50 €.").value == "fail"


def test_trace_judge_reads_the_trace_through_its_tools(judges_env, offline_llm):
    """A judge on {{ trace }} offers tools: the model reads the root span first, then judges."""
    import openai

    from llmops.llm.judge import TRACE_TOOLS

    tools = [
        {"type": "function", "function": {"name": name, "parameters": {"type": "object", "properties": {}}}}
        for name in TRACE_TOOLS
    ]
    system = "You are an expert judge... Evaluation Rating Fields\n- result (bool)\n- rationale (str)\n\nInstructions\n------------------------\nIs the response in {{ trace }} polite?"
    messages = [
        {"role": "system", "content": system},
        {"role": "user", "content": "Use the tools to inspect the trace and return the JSON rating."},
    ]
    schema = {
        "type": "object",
        "properties": {"result": {"type": "boolean"}, "rationale": {"type": "string"}},
        "required": ["result", "rationale"],
    }
    rf = {"type": "json_schema", "json_schema": {"name": "ResponseFormat", "schema": schema}}
    client = openai.OpenAI(base_url=offline_llm, api_key="offline", max_retries=0)
    first = client.chat.completions.create(model="m", messages=messages, tools=tools, response_format=rf)
    call = first.choices[0].message.tool_calls[0]
    assert call.function.name == "get_root_span"
    span = {
        "name": "analyze",
        "inputs": {"comment": "Facture fausse"},
        "outputs": {"reply": "Hello, thank you for your message."},
    }
    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps(span)},
    ]
    second = client.chat.completions.create(model="m", messages=messages, tools=tools, response_format=rf)
    verdict = json.loads(second.choices[0].message.content)
    assert verdict["result"] is True and verdict["rationale"].startswith("Let's think step by step")


def test_trace_judge_end_to_end_on_a_real_trace(judges_env, session_store):
    import mlflow
    from mlflow.genai.judges import make_judge

    mlflow.set_experiment("llm-offline-judges")

    @mlflow.trace(name="reply_to_customer")
    def reply(comment: str) -> str:
        return "Bonjour, merci pour votre message et toutes nos excuses pour la gêne occasionnée."

    reply("La fibre est encore coupée !")
    trace = mlflow.get_trace(mlflow.get_last_active_trace_id(), flush=True)
    judge = make_judge(
        name="polite_trace",
        instructions="Is the final reply in {{ trace }} polite?",
        model=judges_env,
        feedback_value_type=bool,
    )
    feedback = judge(trace=trace)
    assert feedback.value is True
    assert "polite" in feedback.rationale


def test_retrieval_relevance_prompt_is_understood(judges_env, client):
    """MLflow's RetrievalRelevance prompt, sent as MLflow sends it (one user message), gets a per-document verdict."""
    from mlflow.genai.judges.prompts.retrieval_relevance import get_prompt

    def verdict(document: str) -> str:
        prompt = get_prompt("How long does a refund for a double charge take?", document)
        response = client.chat.completions.create(model="offline-judge", messages=[{"role": "user", "content": prompt}])
        return json.loads(response.choices[0].message.content)["result"]

    assert verdict("A double charge is refunded within 10 working days.") == "yes"
    assert verdict("Roaming in Morocco costs 3 € per day.") == "no"
