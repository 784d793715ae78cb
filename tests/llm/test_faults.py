"""Fault injection, observed the way an application sees it: through the openai client."""

from __future__ import annotations

import json
import time

import openai
import pytest

from llmops.llm import FaultConfig, FaultSpecError, OfflineLLM
from llmops.llm.faults import FaultInjector
from llmops.llm.schema import validate

from .helpers import KB_RESULTS, TICKET_TOOL, TOOLS, comment_message, tool_result

HELLO = [{"role": "user", "content": "Hello"}]


def faulty_client(base_url: str, spec: str | None = None, **kwargs) -> openai.OpenAI:
    headers = {"X-Offline-Faults": spec} if spec else None
    params = {"max_retries": 0, "timeout": 10, **kwargs}
    return openai.OpenAI(base_url=base_url, api_key="offline", default_headers=headers, **params)


def test_spec_language():
    config = FaultConfig.parse('rate_limit=0.2,latency_ms=200,seed=7; server_error,match="CUST-0007",max=2')
    first, second = config.rules
    assert dict(first.probabilities) == {"rate_limit": 0.2} and first.latency_ms == 200 and first.seed == 7
    assert dict(second.probabilities) == {"server_error": 1.0} and second.match == "CUST-0007" and second.max_count == 2
    assert not FaultConfig.parse("") and not FaultConfig.parse(None)


@pytest.mark.parametrize("spec", ["ratelimit=0.5", "rate_limit=2", "latency_ms=fast", "max=3", "rate_limit,on=moon"])
def test_bad_specs_are_one_clear_error_naming_the_valid_faults(spec):
    with pytest.raises(FaultSpecError) as error:
        FaultConfig.parse(spec)
    message = str(error.value)
    assert spec.split(",")[0].split("=")[0] in message or "on=" in message
    assert (
        "rate_limit, server_error, unavailable, timeout, latency_ms, malformed_json, hallucination, wrong_tool_args"
        in message
    )


def test_unknown_fault_in_a_header_is_a_400(offline_llm):
    with pytest.raises(openai.BadRequestError) as error:
        faulty_client(offline_llm, "explode=1").chat.completions.create(model="m", messages=HELLO)
    assert "unknown fault 'explode'" in error.value.message and "rate_limit" in error.value.message


def test_rate_limit_is_a_429_with_retry_after(offline_llm):
    client = faulty_client(offline_llm, "rate_limit,retry_after=2")
    with pytest.raises(openai.RateLimitError) as error:
        client.chat.completions.create(model="m", messages=HELLO)
    assert error.value.status_code == 429
    assert error.value.response.headers["retry-after"] == "2"
    assert error.value.body["code"] == "rate_limit_exceeded"


def test_server_errors(offline_llm):
    with pytest.raises(openai.InternalServerError) as error:
        faulty_client(offline_llm, "server_error").chat.completions.create(model="m", messages=HELLO)
    assert error.value.status_code == 500
    with pytest.raises(openai.InternalServerError) as error:
        faulty_client(offline_llm, "unavailable").embeddings.create(model="m", input="x")
    assert error.value.status_code == 503


def test_added_latency(offline_llm, client):
    start = time.perf_counter()
    client.chat.completions.create(model="m", messages=HELLO)
    fast = time.perf_counter() - start
    start = time.perf_counter()
    faulty_client(offline_llm, "latency_ms=300").chat.completions.create(model="m", messages=HELLO)
    slow = time.perf_counter() - start
    assert slow >= 0.3 > fast


def test_timeout(offline_llm):
    client = faulty_client(offline_llm, "timeout,timeout_s=3", timeout=0.4)
    start = time.perf_counter()
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="m", messages=HELLO)
    assert time.perf_counter() - start < 2


def test_malformed_json_content_and_tool_arguments(offline_llm):
    client = faulty_client(offline_llm, "malformed_json")
    response = client.chat.completions.create(model="m", messages=HELLO, response_format={"type": "json_object"})
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.choices[0].message.content)
    calls = client.chat.completions.create(model="m", messages=[comment_message("Je résilie")], tools=TOOLS)
    with pytest.raises(json.JSONDecodeError):
        json.loads(calls.choices[0].message.tool_calls[0].function.arguments)


def test_hallucinated_citation(offline_llm):
    messages = [
        comment_message("Ma facture est fausse, je veux être remboursé."),
        {"role": "system", "content": "\n".join(f"[{d['doc_id']}] {d['content']}" for d in KB_RESULTS)},
    ]
    honest = faulty_client(offline_llm).chat.completions.create(
        model="m", messages=messages, response_format={"type": "json_object"}
    )
    lying = faulty_client(offline_llm, "hallucination").chat.completions.create(
        model="m", messages=messages, response_format={"type": "json_object"}
    )
    given = {d["doc_id"] for d in KB_RESULTS}
    assert set(json.loads(honest.choices[0].message.content)["citations"]) <= given
    cited = json.loads(lying.choices[0].message.content)["citations"]
    invented = [c for c in cited if c not in given]
    assert invented and f"[{invented[0]}]" in json.loads(lying.choices[0].message.content)["suggested_reply"]


def test_wrong_tool_arguments_break_the_schema(offline_llm):
    messages = [
        comment_message("Je résilie, plus de réseau depuis une semaine !"),
        {"role": "tool", "tool_call_id": "c1", "content": json.dumps(KB_RESULTS)},
    ]
    body = {"model": "m", "messages": messages, "tools": [TICKET_TOOL]}
    good = faulty_client(offline_llm).chat.completions.create(**body)
    bad = faulty_client(offline_llm, "wrong_tool_args").chat.completions.create(**body)
    schema = TICKET_TOOL["function"]["parameters"]
    assert validate(json.loads(good.choices[0].message.tool_calls[0].function.arguments), schema) == []
    assert validate(json.loads(bad.choices[0].message.tool_calls[0].function.arguments), schema) != []


def test_match_scopes_a_fault_and_max_limits_it():
    with OfflineLLM(faults="server_error,match=CUST-0007,max=2") as llm:
        client = faulty_client(llm.base_url)
        client.chat.completions.create(model="m", messages=[comment_message("Bonjour", customer_id="CUST-0008")])
        for _ in range(2):
            with pytest.raises(openai.InternalServerError):
                client.chat.completions.create(
                    model="m", messages=[comment_message("Bonjour", customer_id="CUST-0007")]
                )
        client.chat.completions.create(model="m", messages=[comment_message("Bonjour", customer_id="CUST-0007")])
        # A client that retries (as the openai client does by default) rides through a bounded fault.
        llm.faults = "unavailable,max=1"
        retrying = faulty_client(llm.base_url, max_retries=2)
        assert retrying.chat.completions.create(model="m", messages=HELLO).choices[0].message.content
        assert llm.stats["503"] == 1


def test_draws_are_seeded_and_repeatable():
    bodies = [f"request {i}" for i in range(200)]

    def pattern(seed: int) -> list[bool]:
        injector = FaultInjector(f"rate_limit=0.3,seed={seed}")
        return [injector.decide("chat", b, b).http_fault is not None for b in bodies]

    first, again, other = pattern(7), pattern(7), pattern(8)
    assert first == again and first != other
    assert 40 <= sum(first) <= 80  # about 30 %


def test_faults_come_from_the_environment_by_default(monkeypatch):
    monkeypatch.setenv("LLMOPS_OFFLINE_FAULTS", "unavailable")
    with OfflineLLM() as llm:
        with pytest.raises(openai.InternalServerError):
            faulty_client(llm.base_url).chat.completions.create(model="m", messages=HELLO)
    monkeypatch.setenv("LLMOPS_OFFLINE_FAULTS", "nonsense=1")
    with pytest.raises(FaultSpecError, match="unknown fault 'nonsense'"):
        OfflineLLM()


def test_a_bounded_content_fault_waits_for_an_answer_it_can_spoil():
    """``hallucination,max=1``: the tool-call turn carries no reply, so the fault spoils the final answer."""
    with OfflineLLM(faults="hallucination,max=1") as llm:
        client = faulty_client(llm.base_url)
        messages = [comment_message("Ma facture est fausse.")]
        first = client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
        assert first.choices[0].message.tool_calls
        messages.append(first.choices[0].message.model_dump(exclude_none=True))
        for call in first.choices[0].message.tool_calls:
            arguments = json.loads(call.function.arguments)
            messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": tool_result(call.function.name, arguments)}
            )
        final = client.chat.completions.with_raw_response.create(model="m", messages=messages)
        assert final.headers["x-offline-faults-applied"] == "hallucination"
        assert "[kb-policy-" in final.parse().choices[0].message.content
        again = client.chat.completions.create(model="m", messages=messages)
        assert "[kb-policy-" not in again.choices[0].message.content  # max=1 is used up
