"""The analyzer model outside Spark: registered under its own name with aliases, refused promotion without a
passing suite, and answering a REST request with one comment from `mlflow models serve`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

# Test folders have no __init__.py: conftest's REPO_ROOT is not importable by name.
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_registry_refuses_a_model_named_like_the_prompt_and_registers_ours_to_staging(model_uri):
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from llmops import serving

    with pytest.raises(MlflowException, match="taken by a prompt"):
        MlflowClient().create_registered_model("comment-analyzer")
    version = serving.register(model_uri)
    assert serving.aliases()["staging"] == version
    assert serving.model_uri("production") is None or serving.aliases()["production"] != version


def _suite(tmp_path, threshold: str):

    config = tmp_path / f"evals-{abs(hash(threshold))}.yaml"
    config.write_text(
        "defaults:\n  judges: false\n"
        f"suites:\n  tiny:\n    dataset: {REPO_ROOT / 'data' / 'eval' / 'ci.jsonl'}\n"
        f"    thresholds:\n      {threshold}\n",
        encoding="utf-8",
    )
    return config


def test_promotion_goes_through_the_evaluation_gate(model_uri, tmp_path):
    from llmops import serving

    version = serving.register(model_uri)
    failing = _suite(tmp_path, "latency_p50_ms: 1")
    decision = serving.promote(version, "production", require_eval="tiny", eval_config=failing, eval_limit=2)
    assert not decision.promoted and "latency_p50_ms" in decision.reason
    assert serving.aliases().get("production") != version
    row = next(r for r in serving.versions() if r["version"] == version)
    assert row["decision"] == "refused"

    passing = _suite(tmp_path, "structured_output_validity: 0.5")
    decision = serving.promote(version, "production", require_eval="tiny", eval_config=passing, eval_limit=2)
    assert decision.promoted and serving.aliases()["production"] == version
    row = next(r for r in serving.versions() if r["version"] == version)
    assert row["decision"] == "promoted" and "production" in row["aliases"]
    with pytest.raises(serving.ModelRegistryError, match="no version 999"):
        serving.promote(999, "production")


def test_mlflow_models_serve_answers_one_comment(model_uri, spark_env):
    from churn.serve import free_port

    port = free_port()
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    server = subprocess.Popen(
        [str(bin_dir / "mlflow"), "models", "serve", "-m", model_uri, "--env-manager", "local",
         "-h", "127.0.0.1", "-p", str(port), "--workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, f"mlflow models serve exited: {server.stderr.read()[-3000:]}"
            try:
                if httpx.get(f"{url}/ping", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "mlflow models serve did not answer /ping within 180 s"
            time.sleep(0.5)
        request = {
            "dataframe_split": {
                "columns": ["comment_id", "text", "customer_id"],
                "data": [["REST-1", "Ma facture a doublé ce mois-ci, je veux résilier mon abonnement !", "CUST-0008"]],
            }
        }
        answer = httpx.post(f"{url}/invocations", json=request, timeout=120)
        assert answer.status_code == 200, answer.text
        [prediction] = answer.json()["predictions"]
        assert prediction["comment_id"] == "REST-1" and prediction["status"] == "ok"
        assert prediction["language"] == "fr" and "billing" in prediction["topics"].split("|")
        assert prediction["trace_id"].startswith("tr-")
    finally:
        server.terminate()
        server.wait(30)
