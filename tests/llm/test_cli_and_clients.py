"""The client factory and the ``llmops llm`` commands, as a user runs them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
from typer.testing import CliRunner

from llmops.cli import app

runner = CliRunner()


def test_llm_chat_prints_the_answer_model_and_tokens(offline_llm, monkeypatch):
    monkeypatch.setenv("LLMOPS_LLM_BASE_URL", offline_llm)
    result = runner.invoke(app, ["llm", "chat", "Ma facture a doublé ce mois-ci, je veux résilier !"])
    assert result.exit_code == 0, result.output
    assert "Churn risk: high" in result.output
    assert "offline-analyst" in result.output and "tokens" in result.output


def test_llm_chat_json_and_system_prompt(offline_llm, monkeypatch):
    monkeypatch.setenv("LLMOPS_LLM_BASE_URL", offline_llm)
    result = runner.invoke(app, ["llm", "chat", "--json", "--system", "Return JSON.", "Great, another outage."])
    assert result.exit_code == 0, result.output
    assert '"sentiment": "negative"' in result.output


def test_unreachable_endpoint_is_one_clear_message(monkeypatch):
    monkeypatch.setenv("LLMOPS_LLM_BACKEND", "openai")
    monkeypatch.setenv("LLMOPS_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-never-printed")
    result = runner.invoke(app, ["llm", "chat", "hi"])
    assert result.exit_code == 1
    assert "http://127.0.0.1:9/v1" in result.output and "unreachable" in result.output
    assert "Traceback" not in result.output and "SECRET" not in result.output


def test_unknown_backend_is_named(monkeypatch):
    monkeypatch.setenv("LLMOPS_LLM_BACKEND", "claude-local")
    result = runner.invoke(app, ["llm", "chat", "hi"])
    assert result.exit_code == 1
    assert "claude-local" in result.output and "offline, openai" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_llm_serve_runs_a_server_on_localhost():
    port = _free_port()
    env = {**os.environ, "LLMOPS_OFFLINE_FAULTS": ""}
    process = subprocess.Popen(
        [sys.executable, "-c", "from llmops.cli import app; app()", "llm", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert response.status_code == 200 and response.json()["data"]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_llm_serve_with_a_bad_fault_spec_fails_cleanly():
    result = runner.invoke(app, ["llm", "serve", "--port", "0", "--faults", "ratelimit=1"])
    assert result.exit_code == 1
    assert "unknown fault 'ratelimit'" in result.output and "Traceback" not in result.output


def _unset(monkeypatch, *names: str) -> None:
    """Unset variables and have monkeypatch restore them, even those the code under test sets later."""
    for name in names:
        monkeypatch.setenv(name, "placeholder")
        monkeypatch.delenv(name)


def test_client_factory_offline_defaults(monkeypatch):
    from langchain_openai import ChatOpenAI

    from llmops.llm import (
        chat_model,
        configure_judges,
        embedding_function,
        judge_model_uri,
        llm_base_url,
        openai_client,
    )

    _unset(monkeypatch, "LLMOPS_LLM_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENAI_API_BASE")
    url = llm_base_url()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    assert llm_base_url() == url  # one process-wide offline model
    client = openai_client()
    assert str(client.base_url).rstrip("/") == url
    assert client.chat.completions.create(model="x", messages=[{"role": "user", "content": "Bonjour"}]).choices
    model = chat_model()
    assert isinstance(model, ChatOpenAI) and model.model_name == "offline-analyst"
    assert model.invoke("Thanks, all good!").content
    assert type(embedding_function()).__name__ == "OfflineEmbeddingFunction"
    assert configure_judges() == judge_model_uri() == "openai:/offline-analyst"
    assert os.environ["OPENAI_BASE_URL"] == url and os.environ["OPENAI_API_KEY"]


def test_client_factory_openai_backend(monkeypatch):
    from llmops.llm import configure_judges, openai_client

    monkeypatch.setenv("LLMOPS_LLM_BACKEND", "openai")
    monkeypatch.setenv("LLMOPS_LLM_BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    monkeypatch.setenv("LLMOPS_JUDGE_MODEL", "gpt-4.1-mini")
    _unset(monkeypatch, "OPENAI_BASE_URL", "OPENAI_API_BASE")
    client = openai_client()
    assert str(client.base_url).rstrip("/") == "http://127.0.0.1:8000/v1"
    assert client.api_key == "sk-test-key"
    assert configure_judges() == "openai:/gpt-4.1-mini"
    assert os.environ["OPENAI_BASE_URL"] == "http://127.0.0.1:8000/v1"


def test_import_llmops_llm_stays_light():
    code = (
        "import sys, llmops.llm; "
        "heavy = [m for m in ('openai', 'langchain_openai', 'mlflow', 'llmops.llm.server') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
