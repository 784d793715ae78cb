"""Fixtures of the offline model's tests: real clients pointed at the session's in-process server."""

from __future__ import annotations

import pytest


@pytest.fixture
def client(offline_llm):
    """A real ``openai.OpenAI`` client on the session's offline model, without retries (faults stay visible)."""
    import openai

    return openai.OpenAI(base_url=offline_llm, api_key="offline", max_retries=0, timeout=10)
