"""session(): user and session metadata on every trace inside, visible to search_traces."""

from __future__ import annotations

import mlflow

import llmops.tracing as tracing


@tracing.agent_span
def reply(message: str) -> str:
    return f"ok: {message}"


def test_every_trace_in_a_session_is_found_by_session_and_user(traced):
    with tracing.session(user_id="u-42", session_id="chat-1"):
        reply("bonjour")
        reply("ma commande ?")
    with tracing.session(user_id="u-7", session_id="chat-2") as s:
        reply("merci")
    reply("outside any session")
    assert s.session_id == "chat-2"
    assert tracing.flush()

    def search(filter_string: str) -> list:
        return mlflow.search_traces(locations=[traced.experiment_id], filter_string=filter_string, return_type="list")

    chat1 = search("metadata.`mlflow.trace.session` = 'chat-1'")
    assert len(chat1) == 2
    assert {t.info.trace_metadata["mlflow.trace.user"] for t in chat1} == {"u-42"}
    assert len(search("metadata.`mlflow.trace.user` = 'u-7'")) == 1
    everything = search("")
    assert len(everything) == 4
    assert sum("mlflow.trace.session" not in t.info.trace_metadata for t in everything) == 1


def test_session_entered_inside_a_running_trace_tags_it(traced):
    @tracing.agent_span
    def handle(request: dict) -> str:
        with tracing.session(user_id=request["user"], session_id=request["conversation"], tags={"channel": "web"}):
            return reply(request["text"])

    handle({"user": "u-9", "conversation": "conv-9", "text": "hello"})
    trace = mlflow.get_trace(mlflow.get_last_active_trace_id(), flush=True)
    assert trace.info.trace_metadata["mlflow.trace.session"] == "conv-9"
    assert trace.info.trace_metadata["mlflow.trace.user"] == "u-9"
    assert trace.info.tags["channel"] == "web"


def test_email_user_ids_are_stored_as_stable_pseudonyms(traced):
    with tracing.session(user_id="alice@example.com"):
        reply("one")
        reply("two")
    assert tracing.flush()
    traces = mlflow.search_traces(locations=[traced.experiment_id], return_type="list")
    users = {t.info.trace_metadata["mlflow.trace.user"] for t in traces}
    assert len(users) == 1
    (user,) = users
    assert user.startswith("anon-") and "alice" not in user
    assert user == tracing.pseudonymize("alice@example.com")
    # a generated session id groups the two calls
    assert len({t.info.trace_metadata["mlflow.trace.session"] for t in traces}) == 1
