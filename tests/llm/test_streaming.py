"""Streaming (server-sent events) through the openai client and LangChain."""

from __future__ import annotations

import json

from .helpers import TOOLS, comment_message

MESSAGES = [{"role": "user", "content": "La fibre est coupée depuis hier soir, c'est inadmissible."}]


def test_stream_pieces_add_up_to_the_plain_answer_and_end_with_usage(client):
    plain = client.chat.completions.create(model="m", messages=MESSAGES)
    chunks = list(
        client.chat.completions.create(
            model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 3  # really streamed in pieces
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.total_tokens == plain.usage.total_tokens
    assert all(c.id == chunks[0].id for c in chunks)


def test_stream_without_include_usage_has_no_usage_chunk(client):
    chunks = list(client.chat.completions.create(model="m", messages=MESSAGES, stream=True))
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)


def test_streamed_tool_calls_reassemble_into_valid_arguments(client):
    stream = client.chat.completions.create(
        model="m", messages=[comment_message("Je veux résilier mon contrat.")], tools=TOOLS, stream=True
    )
    calls: dict[int, dict[str, str]] = {}
    finish = None
    for chunk in stream:
        for delta in chunk.choices[0].delta.tool_calls or []:
            call = calls.setdefault(delta.index, {"name": "", "arguments": ""})
            if delta.function.name:
                call["name"] = delta.function.name
            call["arguments"] += delta.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert {c["name"] for c in calls.values()} == {"search_knowledge_base", "lookup_customer"}
    assert all(isinstance(json.loads(c["arguments"]), dict) for c in calls.values())


def test_langchain_streams_with_usage(offline_llm):
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model="offline-analyst", base_url=offline_llm, api_key="offline", stream_usage=True)
    pieces = list(model.stream("Thanks, the new router works perfectly!"))
    text = "".join(p.content for p in pieces)
    assert "Sentiment: positive" in text
    usage = sum((p for p in pieces[1:]), pieces[0]).usage_metadata
    assert usage and usage["total_tokens"] > usage["input_tokens"] > 0
