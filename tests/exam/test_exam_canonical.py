"""Canonical traces: ids from the seed, times from the simulated clock, nothing random or machine-specific."""

from __future__ import annotations

import json

from llmops.exam.canonical import EPOCH_MS, _Scrubber, canonicalise, dumps
from llmops.exam.scenario import KitComment, Scenario


def _scenario(seed: int = 7) -> Scenario:
    comment = KitComment("CMT-1", "CUST-0001", "email", "text", (), "s-a")
    return Scenario(
        seed=seed, sessions=["s-a"], comments=[comment], baseline_session="s-a", canary_session="s-x",
        rate_limited_session="s-a", timeout_customer="CUST-0001", hallucination_comment="CMT-1",
        injection_comment="CMT-1", redaction_off_comment="CMT-1", missing_doc="kb-x", missing_doc_comment="CMT-1",
        retry_after_s=3.0, tool_timeout_s=10.0,
    )  # fmt: skip


def _span(span_id, parent, name, kind, start, end, status="STATUS_CODE_OK", message="", events=(), **attrs):
    attributes = {"mlflow.spanType": json.dumps(kind), "mlflow.traceRequestId": json.dumps("tr-live")}
    attributes.update({k.replace("_", "."): json.dumps(v) for k, v in attrs.items()})
    return {
        "trace_id": "live==", "span_id": span_id, "parent_span_id": parent, "name": name,
        "start_time_unix_nano": start, "end_time_unix_nano": end, "events": list(events),
        "status": {"code": status, "message": message}, "attributes": attributes, "links": [],
    }  # fmt: skip


def _recorded(order: str) -> dict:
    timeout = {"name": "exception", "time_unix_nano": 999, "attributes": {"exception.type": "TimeoutError",
               "exception.stacktrace": 'File "/home/me/.venv/lib/python3.11/site-packages/langchain/x.py", line 1'}}  # fmt: skip
    tools = [
        # two tasks of one LangGraph step: parallel tool calls
        _span("t1", "root", "search_knowledge_base", "TOOL", 500, 600,
              metadata={"langgraph_node": "search_knowledge_base", "langgraph_step": 2}),
        _span("t2", "root", "lookup_customer", "TOOL", 510, 590, "STATUS_CODE_ERROR", "timeout", [timeout],
              metadata={"langgraph_node": "lookup_customer", "langgraph_step": 2}),
    ]
    if order == "reversed":  # the other thread won the race this time, and they did not even overlap
        tools[0]["start_time_unix_nano"], tools[0]["end_time_unix_nano"] = 700, 800
    spans = [
        _span("root", None, "analyze_comment", "AGENT", 0, 1000),
        _span("c1", "root", "ChatOpenAI", "CHAT_MODEL", 10, 20, "STATUS_CODE_ERROR", "Error code: 429 - Rate limit"),
        _span("c2", "root", "ChatOpenAI", "CHAT_MODEL", 30, 400, mlflow_chat_tokenUsage={"input_tokens": 1000, "output_tokens": 10}),
        *tools,
    ]  # fmt: skip
    info = {"trace_id": "tr-live", "request_time": "2026-11-29T22:00:00Z", "state": "OK", "assessments": [],
            "trace_metadata": {"mlflow.source.name": "/tmp/x.py", "mlflow.user": "root", "mlflow.trace.session": "s-a"},
            "tags": {"mlflow.artifactLocation": "/work/mlruns/1"}}  # fmt: skip
    return {"info": info, "data": {"spans": spans}}


def test_a_trace_is_rewritten_the_same_whatever_the_thread_timing():
    a = canonicalise([_recorded("recorded")], _scenario(), {})
    b = canonicalise([_recorded("reversed")], _scenario(), {})
    assert dumps(a[0]) == dumps(b[0])
    other_seed = canonicalise([_recorded("recorded")], _scenario(8), {})
    assert other_seed[0]["info"]["trace_id"] != a[0]["info"]["trace_id"]


def test_planted_latencies_are_simulated_on_the_clock():
    trace = canonicalise([_recorded("recorded")], _scenario(), {})[0]
    spans = {s["name"] + str(i): s for i, s in enumerate(trace["data"]["spans"])}
    by_name = {}
    for s in trace["data"]["spans"]:
        by_name.setdefault(s["name"], []).append(s)
    failed_call, ok_call = by_name["ChatOpenAI"]
    # the client waits Retry-After (3 s) after the 429 before the next attempt
    assert ok_call["start_time_unix_nano"] - failed_call["end_time_unix_nano"] >= 3_000 * 10**6
    lookup = by_name["lookup_customer"][0]
    assert lookup["end_time_unix_nano"] - lookup["start_time_unix_nano"] == 10_000 * 10**6
    # parallel tool calls start together; the exception is recorded when the span ends
    assert lookup["start_time_unix_nano"] == by_name["search_knowledge_base"][0]["start_time_unix_nano"]
    assert lookup["events"][0]["time_unix_nano"] == lookup["end_time_unix_nano"]
    root = by_name["analyze_comment"][0]
    assert root["start_time_unix_nano"] == EPOCH_MS * 10**6
    assert trace["info"]["execution_duration_ms"] > 13_000
    assert len(spans) == 5


def test_nothing_machine_specific_survives():
    text = dumps(canonicalise([_recorded("recorded")], _scenario(), {})[0])
    for leak in ("/tmp/", "/home/me", "mlflow.user", "mlflow.source", "artifactLocation", "tr-live"):
        assert leak not in text
    assert "langchain/x.py" in text


def test_random_ids_are_zeroed_even_when_the_redactor_masked_some_of_their_digits():
    scrub = _Scrubber({})
    zero = "00000000-0000-0000-0000-000000000000"
    assert scrub.text("lc_run--2e387626-1111-4ec0-9120-242a957bbbbb-0") == f"lc_run--{zero}"
    assert scrub.text("lc_run--2e387626-[PHONE]ec-9120242a957b-0") == f"lc_run--{zero}"
    assert scrub.text("tools:[PHONE]f8-55ff-68f44b215bcc") == f"tools:{zero}"
    assert scrub.text("call me on [PHONE] - thanks, [EMAIL].") == "call me on [PHONE] - thanks, [EMAIL]."
