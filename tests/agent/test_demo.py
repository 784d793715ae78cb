"""README's main command, as a newcomer runs it: `llmops demo`, twice, in an empty folder."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from llmops.cli import app

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_twice_and_says_where_the_traces_are(tmp_path, monkeypatch, session_store):
    import mlflow

    from llmops import tracing

    monkeypatch.chdir(tmp_path)
    for name in ("LLMOPS_TRACKING_URI", "MLFLOW_TRACKING_URI", "LLMOPS_CHROMA_DIR", "LLMOPS_TICKETS_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LLMOPS_DATA_DIR", str(REPO_ROOT / "data"))
    monkeypatch.setenv("LLMOPS_PROMPTS_DIR", str(REPO_ROOT / "prompts"))
    monkeypatch.setenv("LLMOPS_EXPERIMENT", "comment-analyzer")
    runner = CliRunner()
    try:
        first = runner.invoke(app, ["demo", "--limit", "4"])
        assert first.exit_code == 0, first.output
        assert "4 (4 analysed, 0 errors)" in first.output
        assert "uv run mlflow ui --backend-store-uri sqlite:///mlflow.db" in first.output
        assert (tmp_path / "mlflow.db").exists() and (tmp_path / ".chroma").is_dir()

        second = runner.invoke(app, ["demo", "--limit", "4"])
        assert second.exit_code == 0, second.output
        assert "32 unchanged" in second.output  # the knowledge base is not re-indexed
        assert "comment-analyzer v2: unchanged" in second.output

        with (tmp_path / "results.csv").open(encoding="utf-8", newline="") as fh:
            assert len(list(csv.DictReader(fh))) == 4
        tracing.flush()
        experiment = mlflow.get_experiment_by_name("comment-analyzer")
        traces = mlflow.search_traces(locations=[experiment.experiment_id], include_spans=False, return_type="list")
        assert len(traces) == 8  # two runs of four comments, every trace stored
    finally:
        tracing.setup(tracking_uri=session_store)
