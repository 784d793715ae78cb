"""The triage app in CI: its model calls replayed from the cassette recorded with the real model.

No model runs here: ``llmops_replay`` (the pytest plugin that comes with llmops) answers each request with the
recorded answer, and fails the test if the app sends a request that was never recorded (a changed prompt, say).
"""

from __future__ import annotations

from pathlib import Path

import openai
import pytest
from triage import triage

CASSETTE = Path(__file__).with_name("cassette.jsonl")


@pytest.fixture
def client(llmops_replay):
    llm = llmops_replay(CASSETTE)
    return openai.OpenAI(base_url=llm.base_url, api_key="unused", max_retries=0)


def test_a_billing_complaint_goes_to_the_billing_desk_with_high_priority(client):
    ticket = triage("My bill doubled this month and nobody explains why. Refund the extra charge!", client)
    assert (ticket.desk, ticket.priority) == ("billing desk", "high")


def test_outages_go_to_the_network_desk(client):
    ticket = triage("The internet has been dropping every evening for a week, I work from home.", client)
    assert ticket.desk == "network desk"


def test_a_plain_question_is_not_urgent(client):
    ticket = triage("Hello, how do I change the name on my contract?", client)
    assert ticket.priority == "normal" and ticket.summary
