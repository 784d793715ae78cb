"""Chat completions through the real openai client: answers, determinism, usage, models, protocol errors."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from .helpers import ANALYST_SYSTEM, comment_message


def test_plain_chat_answers_with_an_analysis_of_the_message(client):
    response = client.chat.completions.create(
        model="offline-analyst",
        messages=[{"role": "user", "content": "Ma facture a doublé ce mois-ci, je veux résilier !"}],
    )
    answer = response.choices[0].message.content
    assert response.choices[0].finish_reason == "stop"
    assert "Churn risk: high" in answer
    assert "Sentiment: negative" in answer
    assert "billing" in answer
    # The suggested reply is in the customer's language.
    assert "Bonjour" in answer


def test_any_model_name_is_accepted_and_echoed(client):
    response = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}])
    assert response.model == "gpt-4o-mini"


def test_same_request_gives_the_same_bytes_and_a_different_request_does_not(client):
    messages = [{"role": "system", "content": ANALYST_SYSTEM}, comment_message("Great, another outage.")]
    first = client.chat.completions.with_raw_response.create(model="m", messages=messages)
    second = client.chat.completions.with_raw_response.create(model="m", messages=messages)
    assert first.http_response.content == second.http_response.content
    other = client.chat.completions.with_raw_response.create(
        model="m", messages=messages[:1] + [comment_message("Merci !")]
    )
    assert json.loads(other.http_response.content)["id"] != json.loads(first.http_response.content)["id"]


def test_usage_counts_tokens_and_grows_with_the_text(client):
    short = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Slow internet."}])
    long = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Slow internet. " * 40 + "Please help me understand why."}]
    )
    assert short.usage.prompt_tokens < long.usage.prompt_tokens
    assert short.usage.total_tokens == short.usage.prompt_tokens + short.usage.completion_tokens
    assert short.usage.completion_tokens > 0


def test_max_tokens_cuts_the_answer_and_says_so(client):
    full = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "The fibre is down again."}])
    cut = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "The fibre is down again."}], max_tokens=5
    )
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage.completion_tokens <= 5
    assert full.choices[0].message.content.startswith(cut.choices[0].message.content)


def test_system_prompt_asking_for_one_label_gets_only_the_label(client):
    response = client.chat.completions.create(
        model="m",
        messages=[
            {"role": "system", "content": "Answer with one word: the sentiment of the comment."},
            comment_message("Le réseau est excellent, merci !"),
        ],
    )
    assert response.choices[0].message.content == "positive"


def test_models_are_listed(client):
    ids = [m.id for m in client.models.list().data]
    assert "offline-analyst" in ids and "offline-embed" in ids
    assert client.models.retrieve("any-name").id == "any-name"


def test_malformed_requests_get_openai_400s_not_500s(client, offline_llm):
    with pytest.raises(openai.BadRequestError) as missing:
        client.chat.completions.create(model="m", messages=[])
    assert missing.value.status_code == 400
    assert "messages" in missing.value.message
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="m", messages=[{"role": "robot", "content": "hi"}])
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": 42}])
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}], response_format={"type": "yaml"}
        )

    raw = httpx.post(
        f"{offline_llm}/chat/completions", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert raw.status_code == 400
    error = raw.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"] and "code" in error
    no_messages = httpx.post(f"{offline_llm}/chat/completions", json={"model": "m"})
    assert no_messages.status_code == 400 and no_messages.json()["error"]["param"] == "messages"
    not_an_object = httpx.post(f"{offline_llm}/chat/completions", json=["model", "m"])
    assert not_an_object.status_code == 400
    bad_tools = httpx.post(
        f"{offline_llm}/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]},
    )
    assert bad_tools.status_code == 400


def test_unknown_paths_are_404_in_openai_shape(offline_llm):
    response = httpx.post(f"{offline_llm}/completions/legacy", json={})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_url"
    assert httpx.get(f"{offline_llm}/nothing-here").status_code == 404


def test_keep_alive_connection_serves_many_requests(offline_llm):
    with httpx.Client() as http:
        for _ in range(5):
            response = http.get(f"{offline_llm}/models")
            assert response.status_code == 200
        assert response.headers["connection"] == "keep-alive"


def test_serve_in_thread_starts_and_stops_a_server():
    from llmops.llm import serve_in_thread

    with serve_in_thread(faults="") as url:
        assert httpx.get(f"{url}/models").status_code == 200
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/models", timeout=1)


def test_answers_do_not_depend_on_the_process_or_its_hash_seed():
    import os
    import subprocess
    import sys

    code = (
        "import hashlib, json; from llmops.llm.model import OfflineModel; "
        "body = {'model': 'm', 'messages': [{'role': 'user', 'content': 'Le réseau est top mais la facture est fausse.'}],"
        " 'response_format': {'type': 'json_object'}}; "
        "print(hashlib.sha256(json.dumps(OfflineModel().chat(body).response).encode()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1


def test_a_stopped_server_does_not_answer_on_a_kept_alive_connection():
    from llmops.llm import OfflineLLM

    with httpx.Client() as http:
        with OfflineLLM(faults="") as llm:
            url = llm.base_url
            assert http.get(f"{url}/models").status_code == 200
        with pytest.raises(httpx.TransportError):
            http.get(f"{url}/models", timeout=1)
