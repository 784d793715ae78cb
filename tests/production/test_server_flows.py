"""Everything else on the server: the course's flows with ``LLMOPS_TRACKING_URI=http://...`` (MLflow's tracking
server on PostgreSQL, artifacts proxied), through the CLI as a user runs them, in this process.

One server for the module. Order matters only within a test (the analysis reads what ``analyze`` wrote).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmops.cli import app

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
EXPERIMENT = "server-flows"
runner = CliRunner()

# MLflow calls pandas in ways pandas 4 will deprecate (dataset digests, signature checks); nothing to act on here.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Starting with pandas version 4.0"),
    pytest.mark.filterwarnings("ignore:Operation with range is deprecated"),
]


def llmops(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def summary_of(*args: str) -> dict:
    code, out = llmops("traces", "summary", "--format", "json", *args)
    assert code == 0, out
    return {row["metric"]: row["value"] for row in json.loads(out)}


@pytest.fixture(scope="module")
def world(server_tracking, tmp_path_factory):
    """The server as the tracking store, with a private knowledge-base index and ticket database."""
    from llmops import tracing

    root = tmp_path_factory.mktemp("server-flows")
    env = {
        "LLMOPS_CHROMA_DIR": str(root / "chroma"),
        "LLMOPS_TICKETS_DB": str(root / "tickets.db"),
        "LLMOPS_PROMPTS_DIR": str(REPO / "prompts"),
        "LLMOPS_DATA_DIR": str(REPO / "data"),
        "LLMOPS_EXPERIMENT": EXPERIMENT,
        "MLFLOW_GENAI_EVAL_MAX_WORKERS": "2",
    }
    saved = {k: os.environ.get(k) for k in (*env, "LLMOPS_BACKEND_STORE_URI")}
    previous_setup = tracing.current()
    os.environ.update(env)
    yield root
    tracing.flush()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    if previous_setup is not None:
        tracing.setup(
            previous_setup.tracking_uri, previous_setup.experiment_name, lossless=previous_setup.lossless,
            redaction=previous_setup.redaction, autolog=previous_setup.autolog,
        )  # fmt: skip


def test_prompts_push_promote_and_show_on_the_server(world):
    from mlflow import MlflowClient

    code, out = llmops("prompts", "push", "comment-analyzer")
    assert code == 0, out
    code, out = llmops("prompts", "promote", "comment-analyzer", "--version", "1", "--to", "production", "--reason", "server test")
    assert code == 0, out
    code, out = llmops("prompts", "show", "comment-analyzer@production")
    assert code == 0, out
    assert "customer-care analyst" in out  # the template, read back from the server's registry
    assert MlflowClient().get_prompt_version_by_alias("comment-analyzer", "production").version == 1


def test_analyze_then_the_traces_summarised_exported_and_imported_through_the_server(world, mlflow_server, monkeypatch):
    out_csv = world / "results.csv"
    code, out = llmops("analyze", str(REPO / "data" / "comments.csv"), "--limit", "4", "--out", str(out_csv), "--concurrency", "2")
    assert code == 0, out
    assert len(out_csv.read_text().strip().splitlines()) == 5  # header + 4 results

    over_rest = summary_of()
    assert over_rest["traces"] == 4
    assert over_rest["llm_calls"] >= 4 and over_rest["input_tokens"] > 0

    # the same traces read straight from the server's PostgreSQL database: the same figures
    monkeypatch.setenv("LLMOPS_BACKEND_STORE_URI", mlflow_server.backend_store_uri)
    assert summary_of() == over_rest
    monkeypatch.delenv("LLMOPS_BACKEND_STORE_URI")

    exported = world / "server.jsonl"
    code, out = llmops("traces", "export", "--out", str(exported))
    assert code == 0, out
    assert len(exported.read_text().splitlines()) == 4
    assert summary_of("--from", str(exported)) == over_rest
    code, out = llmops("traces", "import", str(exported))
    assert code == 0 and "imported 0 trace(s)" in out and "4 already there" in " ".join(out.split()), out

    # a trace file recorded elsewhere (the shipped exam kit) imported into the server reads back the same
    kit = REPO / "traces" / "exam-7" / "traces.jsonl"
    code, out = llmops("traces", "import", str(kit), "--experiment", "exam-on-server")
    assert code == 0, out
    on_server = summary_of("--experiment", "exam-on-server")
    assert on_server == summary_of("--from", str(kit))
    assert on_server["traces"] == 35


def test_eval_runs_a_small_suite_against_the_server(world):
    import mlflow
    import yaml

    rows = [line for line in (REPO / "data" / "eval" / "ci.jsonl").read_text().splitlines()][:3]
    (world / "tiny.jsonl").write_text("\n".join(rows) + "\n")
    config = {
        "defaults": {"judges": False},
        "suites": {"tiny": {"dataset": str(world / "tiny.jsonl"), "thresholds": {"structured_output_validity": 0.6}}},
    }
    (world / "evals.yaml").write_text(yaml.safe_dump(config))
    report = world / "eval-report.md"
    code, out = llmops(
        "eval", "--suite", "tiny", "--config", str(world / "evals.yaml"), "--report", str(report),
        "--junit", str(world / "junit.xml"), "--workers", "2",
    )  # fmt: skip
    assert code == 0, out
    assert "structured_output_validity" in report.read_text()
    runs = mlflow.search_runs(experiment_names=[f"{EXPERIMENT}-eval"])
    assert len(runs) >= 1  # the evaluation run is on the server


def test_churn_pipeline_registers_promotes_and_serves_from_the_server(world, monkeypatch):
    from churn import cli as churn_cli
    from churn.register import aliases

    csv = SHARED_DATA / "telco_churn.csv"
    if not csv.is_file():
        pytest.fail(f"the churn flow reads the real data at {csv} (see ../shared/data/SOURCES.md)")
    monkeypatch.chdir(world)
    monkeypatch.setenv("CHURN_DATA", str(csv))
    monkeypatch.setenv("CHURN_EXPERIMENT", "churn-on-server")
    monkeypatch.setenv("CHURN_MODEL_NAME", "churn-on-server")
    monkeypatch.setattr(churn_cli.console, "width", 200)
    result = CliRunner().invoke(churn_cli.app, ["pipeline"])
    assert result.exit_code == 0, result.output
    assert "promoted v1 to production" in result.stdout
    # the smoke request went to a scoring server loading models:/churn-on-server@production from the server
    assert "same as the registered model" in result.stdout
    assert aliases("churn-on-server") == {"staging": 1, "production": 1}
    assert not (world / "mlruns").exists()  # artifacts went through the server, not to a local folder
