import subprocess
import sys

import pytest

from llmops.settings import SettingsError, get_settings


def test_defaults_are_the_embedded_ones(monkeypatch):
    for name in ("LLMOPS_TRACKING_URI", "MLFLOW_TRACKING_URI", "LLMOPS_EXPERIMENT", "LLMOPS_CHAT_MODEL"):
        monkeypatch.delenv(name, raising=False)
    s = get_settings()
    assert s.tracking_uri == "sqlite:///mlflow.db"
    assert s.llm_backend == "offline"
    assert s.offline


def test_unknown_backend_is_named(monkeypatch):
    monkeypatch.setenv("LLMOPS_LLM_BACKEND", "claude-local")
    with pytest.raises(SettingsError, match="claude-local.*offline, openai"):
        get_settings()


def test_serving_engine_and_batch_wait_are_checked(monkeypatch):
    monkeypatch.delenv("CHURN_SERVE_ENGINE", raising=False)
    assert get_settings().churn_serve_engine == "batching"
    monkeypatch.setenv("CHURN_SERVE_ENGINE", "triton")
    with pytest.raises(SettingsError, match="CHURN_SERVE_ENGINE='triton'.*batching, mlflow"):
        get_settings()
    monkeypatch.setenv("CHURN_SERVE_ENGINE", "mlflow")
    monkeypatch.setenv("CHURN_SERVE_BATCH_WAIT_MS", "-1")
    with pytest.raises(SettingsError, match="CHURN_SERVE_BATCH_WAIT_MS"):
        get_settings()


def test_openai_backend_without_key_or_url_is_refused(monkeypatch):
    monkeypatch.setenv("LLMOPS_LLM_BACKEND", "openai")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("LLMOPS_LLM_BASE_URL", raising=False)
    with pytest.raises(SettingsError, match="OPENAI_API_KEY"):
        get_settings()


def test_api_key_never_appears_in_repr(monkeypatch):
    monkeypatch.setenv("LLMOPS_LLM_BACKEND", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET123456")
    s = get_settings()
    assert s.llm_api_key == "sk-test-SECRET123456"
    assert "SECRET" not in repr(s)


def test_offline_backend_sets_mlflow_guards(monkeypatch):
    monkeypatch.delenv("MLFLOW_DISABLE_TELEMETRY", raising=False)
    monkeypatch.delenv("MLFLOW_MODEL_CATALOG_URI", raising=False)
    get_settings()
    import os

    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert os.environ["MLFLOW_MODEL_CATALOG_URI"] == ""


def test_import_llmops_is_cheap_and_side_effect_free():
    code = (
        "import sys, time; t=time.perf_counter(); import llmops, llmops.settings, llmops.taxonomy; "
        "dt=time.perf_counter()-t; heavy=[m for m in ('mlflow','langchain','chromadb','openai') if m in sys.modules]; "
        "print(dt, heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(" ", 1)
    assert float(out[0]) < 0.5
    assert out[1].strip() == "[]"
