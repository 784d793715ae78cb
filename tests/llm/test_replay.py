"""Record/replay mechanics: calls recorded by MLflow's autologging of the ``openai`` client (through
``llmops.tracing``), exported as a trace file, then replayed over HTTP strictly, with fallback, streamed, trimmed,
from the CLI and from the pytest fixture."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import openai
import pytest

SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search_knowledge_base",
        "description": "Search the operator's knowledge base.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
}
ASK = [{"role": "system", "content": "You answer customers of a telecom operator."},
       {"role": "user", "content": "Why did my bill go up by 10 dollars? Mail me at jane.doe@example.com"}]  # fmt: skip
JSON_ASK = [{"role": "user", "content": "Classify: the network is down again, third time this week."}]


def _client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="x", max_retries=0, timeout=10)


@pytest.fixture
def cassette(llmops_store, tmp_path, offline_llm) -> Path:
    """Four calls recorded through llmops.tracing against the offline model: prose, tool call, JSON, embeddings."""
    from llmops import tracing
    from llmops.analysis.io import export_traces

    client = _client(offline_llm)
    client.chat.completions.create(model="gpt-4o-mini", messages=ASK)
    client.chat.completions.create(model="gpt-4o-mini", messages=ASK, tools=[SEARCH_TOOL])
    client.chat.completions.create(model="gpt-4o-mini", messages=JSON_ASK, response_format={"type": "json_object"})
    client.embeddings.create(model="text-embedding-3-small", input=["bill went up", "network down"])
    tracing.flush()
    path = tmp_path / "recorded.jsonl"
    export_traces(path, experiment=tracing.current().experiment_name)
    return path


def test_recorded_calls_replay_byte_for_byte_and_live_calls_differ_only_where_recorded(cassette, offline_llm):
    from llmops.llm.server import OfflineLLM

    live = _client(offline_llm)
    with OfflineLLM(faults="", replay=cassette) as replay:
        client = _client(replay.base_url)
        prose = client.chat.completions.create(model="gpt-4o-mini", messages=ASK, temperature=0.7)
        tools = client.chat.completions.create(model="gpt-4o-mini", messages=ASK, tools=[SEARCH_TOOL])
        as_json = client.chat.completions.create(
            model="gpt-4o-mini", messages=JSON_ASK, response_format={"type": "json_object"}
        )
        vectors = client.embeddings.create(model="text-embedding-3-small", input=["bill went up", "network down"])
        assert replay.replay is not None and replay.replay.counts["replayed"] == 4 and not replay.replay.misses

    expected = live.chat.completions.create(model="gpt-4o-mini", messages=ASK)
    assert prose.choices[0].message.content == expected.choices[0].message.content
    assert prose.usage.total_tokens == expected.usage.total_tokens
    call = tools.choices[0].message.tool_calls[0]
    assert call.function.name == "search_knowledge_base" and tools.choices[0].finish_reason == "tool_calls"
    assert json.loads(as_json.choices[0].message.content)["topics"]
    live_vectors = live.embeddings.create(model="text-embedding-3-small", input=["bill went up", "network down"])
    assert [d.embedding for d in vectors.data] == [d.embedding for d in live_vectors.data]


def test_streaming_replays_content_and_tool_calls(cassette):
    from llmops.llm.server import OfflineLLM

    with OfflineLLM(faults="", replay=cassette) as replay:
        client = _client(replay.base_url)
        whole = client.chat.completions.create(model="gpt-4o-mini", messages=ASK)
        streamed = "".join(
            c.choices[0].delta.content or ""
            for c in client.chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True)
            if c.choices
        )
        recorded_call = client.chat.completions.create(model="gpt-4o-mini", messages=ASK, tools=[SEARCH_TOOL])
        pieces: dict[int, dict[str, str]] = {}
        for chunk in client.chat.completions.create(model="gpt-4o-mini", messages=ASK, tools=[SEARCH_TOOL], stream=True):
            for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                entry = pieces.setdefault(delta.index, {"name": "", "arguments": ""})
                entry["name"] += delta.function.name or ""
                entry["arguments"] += delta.function.arguments or ""
    assert streamed == whole.choices[0].message.content and len(streamed) > 20
    first = recorded_call.choices[0].message.tool_calls[0].function
    assert pieces[0] == {"name": first.name, "arguments": first.arguments}


def test_strict_replay_refuses_an_unrecorded_request_naming_the_closest_and_fallback_counts_it(cassette):
    from llmops.llm.server import OfflineLLM

    changed = [ASK[0], {"role": "user", "content": ASK[1]["content"].replace("10 dollars", "12 dollars")}]
    with OfflineLLM(faults="", replay=cassette) as replay:
        with pytest.raises(openai.BadRequestError) as caught:
            _client(replay.base_url).chat.completions.create(model="gpt-4o-mini", messages=changed)
        with pytest.raises(openai.BadRequestError) as other_model:
            _client(replay.base_url).chat.completions.create(model="gpt-4o", messages=ASK)
    message = caught.value.body["message"]
    assert caught.value.body["code"] == "replay_no_match"
    assert "messages[1] (user) content differs" in message and "10 dollars" in message and "12 dollars" in message
    assert "model: recorded 'gpt-4o-mini', request 'gpt-4o'" in other_model.value.body["message"]
    assert replay.replay is not None and replay.replay.counts["refused"] == 2

    with OfflineLLM(faults="", replay=cassette, replay_mode="fallback") as fallback:
        answer = _client(fallback.base_url).chat.completions.create(model="gpt-4o-mini", messages=changed)
        _client(fallback.base_url).chat.completions.create(model="gpt-4o-mini", messages=ASK)
        assert fallback.replay is not None
        assert (fallback.replay.counts["fallback"], fallback.replay.counts["replayed"]) == (1, 1)
    assert "12" in answer.choices[0].message.content or answer.choices[0].message.content


def test_a_trimmed_cassette_keeps_only_model_calls_and_still_replays(cassette, tmp_path):
    from typer.testing import CliRunner

    from llmops.cli import app
    from llmops.llm.replay import Cassette

    trimmed = tmp_path / "trimmed.jsonl"
    result = CliRunner().invoke(app, ["llm", "trim", str(cassette), "--out", str(trimmed)])
    assert result.exit_code == 0, result.output
    assert "kept 4 model call span(s)" in result.output
    spans = [s for line in trimmed.read_text().splitlines() for s in json.loads(line)["data"]["spans"]]
    kinds = {json.loads(s["attributes"]["mlflow.spanType"]) for s in spans}
    assert kinds == {"CHAT_MODEL", "EMBEDDING"} and len(spans) == 4
    assert trimmed.stat().st_size < cassette.stat().st_size
    full, small = Cassette.load(cassette), Cassette.load(trimmed)
    assert [r.response for r in small.recordings] == [r.response for r in full.recordings]

    missing = CliRunner().invoke(app, ["llm", "trim", str(tmp_path / "nope.jsonl"), "--out", str(trimmed)])
    assert missing.exit_code != 0 and "nope.jsonl does not exist" in missing.output


def test_a_trace_file_without_model_calls_is_refused_with_its_name(tmp_path):
    from llmops.analysis.errors import TraceFileError
    from llmops.llm.server import OfflineLLM

    path = tmp_path / "no-calls.jsonl"
    trace = {"info": {"trace_id": "tr-1"}, "data": {"spans": [{"name": "root", "attributes": {}}]}}
    path.write_text(json.dumps(trace) + "\n")
    with pytest.raises(TraceFileError, match="no-calls.jsonl holds no recorded model call"):
        OfflineLLM(faults="", replay=path)


def test_serve_replay_from_the_command_line_reports_refusals_and_exits_1(cassette):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "llmops.cli", "llm", "serve", "--port", "0", "--replay", str(cassette)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines = []
        while not any("Replaying" in line for line in lines):
            line = proc.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        url = next(line for line in lines if "listening on" in line).split("listening on")[1].split()[0]
        client = _client(url)
        assert client.chat.completions.create(model="gpt-4o-mini", messages=ASK).choices[0].message.content
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model="gpt-4o-mini", messages=JSON_ASK)
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    assert "Replaying 4 recorded calls" in "".join(lines)
    assert "replayed 1, fallback 0, refused 1" in out and proc.returncode == 1


def test_the_pytest_fixture_fails_a_test_whose_request_was_never_recorded(tmp_path, cassette):
    test_file = tmp_path / "test_app.py"
    test_file.write_text(
        f"""
import openai

def test_app(llmops_replay):
    llm = llmops_replay({str(cassette)!r})
    client = openai.OpenAI(base_url=llm.base_url, api_key="x", max_retries=0)
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": "new"}}])
    except openai.BadRequestError:
        pass  # an app that swallows the error still fails the test
"""
    )
    # Only the llmops plugin (the one under test): autoloading every installed plugin costs seconds.
    cmd = [sys.executable, "-m", "pytest", str(test_file), "-q", "-p", "no:cacheprovider", "-p", "llmops.testing.pytest_plugin"]
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=120, env=env)
    assert result.returncode == 1, result.stdout
    assert "1 passed, 1 error" in result.stdout
    assert "strict replay: 1 request(s) had no recording" in result.stdout and "Closest recording" in result.stdout
