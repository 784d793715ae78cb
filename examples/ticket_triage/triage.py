"""A tiny LLM app of one's own: route a support e-mail to a desk, with one chat completion.

It is not the comment analyzer: it only needs an OpenAI-compatible endpoint. ``OPENAI_BASE_URL`` and
``OPENAI_API_KEY`` choose the model, as with any ``openai`` client; ``TRIAGE_MODEL`` names it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import openai

SYSTEM = """You triage e-mails sent to a telecom operator's support team.
Answer with a JSON object: {"sentiment": "positive|neutral|negative|mixed", "topics": [...],
"urgency": "low|medium|high", "summary": "one sentence"}.
Topics are among billing, network, support, pricing, contract, equipment, roaming."""

DESKS = {"billing": "billing desk", "pricing": "billing desk", "network": "network desk", "equipment": "network desk"}


@dataclass(frozen=True)
class Ticket:
    desk: str
    priority: str
    summary: str


def triage(text: str, client: openai.OpenAI | None = None, model: str | None = None) -> Ticket:
    """The desk, priority and summary of one e-mail."""
    client = client or openai.OpenAI(max_retries=0)
    response = client.chat.completions.create(
        model=model or os.environ.get("TRIAGE_MODEL", "gpt-4o-mini"),
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": text}],
        response_format={"type": "json_object"},
        temperature=0,
    )
    answer = json.loads(response.choices[0].message.content or "{}")
    topics = answer.get("topics") or []
    desk = next((DESKS[t] for t in topics if t in DESKS), "customer care")
    angry = answer.get("sentiment") == "negative" or answer.get("urgency") == "high"
    return Ticket(desk=desk, priority="high" if angry else "normal", summary=str(answer.get("summary", "")))
