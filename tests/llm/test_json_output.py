"""JSON answers: ``json_object`` and ``json_schema``, checked by pydantic and by an independent validator."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from .helpers import ANALYST_SYSTEM, comment_message

jsonschema = pytest.importorskip("jsonschema")

COMMENT = "Ma facture a doublé ce mois-ci et personne ne répond au téléphone. Si ça continue je passe chez Free."


class Citation(BaseModel):
    doc_id: str
    quote: str = Field(max_length=300)


class Evidence(BaseModel):
    cues: list[str]
    confidence: float = Field(ge=0, le=1)


class TicketDraft(BaseModel):
    """A nested object with its own enum, the way pydantic puts it under $defs."""

    priority: Literal["P1", "P2", "P3"]
    title: str = Field(min_length=5, max_length=80)


class Analysis(BaseModel):
    language: Literal["fr", "en"]
    sentiment: Literal["positive", "neutral", "negative", "mixed"]
    topics: list[
        Literal["billing", "network", "support", "pricing", "contract", "equipment", "roaming", "data_protection"]
    ] = Field(min_length=1, max_length=3)
    churn_risk: Literal["low", "medium", "high"]
    urgency: Literal["low", "medium", "high"]
    summary: str = Field(max_length=200)
    suggested_reply: str
    citations: list[Citation]
    ticket: TicketDraft | None
    evidence: Evidence
    customer_id: str = Field(pattern=r"^CUST-\d{4}$")
    needs_reply: bool
    unknown_score: int = Field(ge=3, le=9)
    internal_code: str = Field(pattern=r"^[A-Z]{3}-\d{2}$")


def test_json_object_answer_is_the_analysis(client):
    response = client.chat.completions.create(
        model="m",
        messages=[{"role": "system", "content": ANALYST_SYSTEM + " Answer in JSON."}, comment_message(COMMENT)],
        response_format={"type": "json_object"},
    )
    data = json.loads(response.choices[0].message.content)
    assert data["language"] == "fr"
    assert data["sentiment"] == "negative"
    assert data["churn_risk"] == "medium"  # a conditional threat, not an announced departure
    assert "billing" in data["topics"]
    assert data["suggested_reply"].startswith("Bonjour")


def test_json_schema_answer_conforms_to_a_pydantic_schema(client):
    schema = Analysis.model_json_schema()
    response = client.chat.completions.create(
        model="m",
        messages=[
            {"role": "system", "content": ANALYST_SYSTEM},
            comment_message(COMMENT),
            {
                "role": "user",
                "content": "[kb-billing-invoices] Une facture qui double s'explique souvent par un hors forfait.",
            },
        ],
        response_format={"type": "json_schema", "json_schema": {"name": "Analysis", "schema": schema, "strict": True}},
    )
    data = json.loads(response.choices[0].message.content)
    jsonschema.validate(data, schema)
    analysis = Analysis.model_validate(data)
    assert analysis.sentiment == "negative" and analysis.churn_risk == "medium"
    assert analysis.customer_id == "CUST-0042"
    assert [c.doc_id for c in analysis.citations] == ["kb-billing-invoices"]
    assert "[kb-billing-invoices]" in analysis.suggested_reply


def test_hand_written_schema_with_refs_unions_and_constraints(client):
    schema = {
        "type": "object",
        "$defs": {
            "Level": {"type": "string", "enum": ["LOW", "MEDIUM", "HIGH"]},
            "Source": {
                "type": "object",
                "properties": {"id": {"type": "string"}, "score": {"type": "number", "minimum": 0, "maximum": 1}},
                "required": ["id", "score"],
                "additionalProperties": False,
            },
        },
        "properties": {
            "polarity": {"type": "string", "enum": ["Positive", "Negative", "Neutral", "Mixed"]},
            "risk": {"$ref": "#/$defs/Level"},
            "lang": {"type": "string", "enum": ["French", "English"]},
            "sources": {"type": "array", "items": {"$ref": "#/$defs/Source"}, "minItems": 2},
            "flags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
            "note": {"anyOf": [{"type": "string", "maxLength": 10}, {"type": "null"}]},
            "count": {"type": ["integer", "null"], "minimum": 1},
            "when": {"type": "string", "format": "date-time"},
            "mood": {"allOf": [{"type": "string"}, {"minLength": 3}]},
        },
        "required": ["polarity", "risk", "lang", "sources", "flags", "note", "count", "when", "mood"],
        "additionalProperties": False,
    }
    response = client.chat.completions.create(
        model="m",
        messages=[comment_message("I want to cancel, the network is terrible.")],
        response_format={"type": "json_schema", "json_schema": {"name": "custom", "schema": schema}},
    )
    data = json.loads(response.choices[0].message.content)
    jsonschema.validate(data, schema)
    assert data["polarity"] == "Negative"
    assert data["risk"] == "HIGH"
    assert data["lang"] == "English"


def test_langchain_with_structured_output(offline_llm):
    from langchain_openai import ChatOpenAI

    class Verdict(BaseModel):
        sentiment: Literal["positive", "neutral", "negative", "mixed"]
        churn_risk: Literal["low", "medium", "high"]

    model = ChatOpenAI(model="offline-analyst", base_url=offline_llm, api_key="offline")
    for method in ("json_schema", "function_calling"):
        verdict = model.with_structured_output(Verdict, method=method).invoke("I'm switching to Vodafone next month.")
        assert verdict == Verdict(sentiment="negative", churn_risk="high")
