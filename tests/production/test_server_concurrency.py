"""Several writers at once on one tracking server: two ``llmops analyze`` processes and a ``churn train`` run write
to the same server (PostgreSQL behind it) at the same time; every trace and run is stored, nothing is locked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHURN_CSV = REPO.parent / "shared" / "data" / "telco_churn.csv"
ROWS = 6


def test_two_analyzers_and_a_training_run_write_to_one_server_at_once(server_tracking, tmp_path):
    import mlflow
    from mlflow import MlflowClient

    from llmops.prompts import registry

    url = server_tracking.url
    client = MlflowClient(url)
    # what a first run leaves behind: the experiments and the production prompt on the server
    analyses = client.create_experiment("concurrent-analyses")
    training = client.create_experiment("concurrent-training")
    registry.ensure("comment-analyzer", "production", REPO / "prompts")

    bin_dir = Path(sys.executable).parent
    base = {
        **os.environ, "LLMOPS_TRACKING_URI": url, "MLFLOW_TRACKING_URI": url, "LLMOPS_PROMPTS_DIR": str(REPO / "prompts"),
        "LLMOPS_DATA_DIR": str(REPO / "data"), "LLMOPS_EXPERIMENT": "concurrent-analyses",
    }  # fmt: skip
    base.pop("LLMOPS_BACKEND_STORE_URI", None)
    commands = []
    for name in ("a", "b"):
        env = {**base, "LLMOPS_CHROMA_DIR": str(tmp_path / f"chroma-{name}"), "LLMOPS_TICKETS_DB": str(tmp_path / f"tickets-{name}.db")}
        command = [str(bin_dir / "llmops"), "analyze", str(REPO / "data" / "comments.csv"), "--limit", str(ROWS),
                   "--concurrency", "2", "--out", str(tmp_path / f"results-{name}.csv")]  # fmt: skip
        commands.append((command, env))
    churn_env = {**base, "CHURN_EXPERIMENT": "concurrent-training", "CHURN_DATA": str(CHURN_CSV)}
    commands.append(([str(bin_dir / "churn"), "train", "--model", "lr"], churn_env))

    processes = [
        subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for command, env in commands
    ]
    outputs = []
    for process in processes:
        out, _ = process.communicate(timeout=600)
        outputs.append((process.returncode, out))
    for (command, _env), (code, out) in zip(commands, outputs):
        assert code == 0, f"{' '.join(command[:2])} exited {code}:\n{out[-3000:]}"
        assert "database is locked" not in out

    mlflow.flush_trace_async_logging()
    traces = mlflow.search_traces(locations=[analyses], return_type="list", max_results=1000)
    assert len(traces) == 2 * ROWS
    assert all(len(trace.data.spans) >= 3 for trace in traces)  # complete traces, not bare trace rows
    runs = client.search_runs([training])
    assert [run.info.status for run in runs] == ["FINISHED"]
    assert runs[0].data.metrics  # the training run's metrics reached the server
    assert "database is locked" not in server_tracking.log_tail(100_000)
