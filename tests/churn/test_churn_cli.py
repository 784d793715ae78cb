"""The ``churn`` command as a learner uses it: the course's terminal lesson, the errors, the script entry points."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from churn import cli as churn_cli

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def churn(monkeypatch, telco_csv):
    """``churn(*args)`` runs the command in-process, with the real data and a wide terminal."""
    from typer.testing import CliRunner

    monkeypatch.setenv("CHURN_DATA", str(telco_csv))
    monkeypatch.setattr(churn_cli.console, "width", 180)
    runner = CliRunner()
    return lambda *args: runner.invoke(churn_cli.app, [str(arg) for arg in args])


def test_the_terminal_lesson_train_evaluate_compare(churn, experiment, session_store, tmp_path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(session_store)

    # the course's example: --C does not apply to a random forest, and the learner is told so
    rf = churn("train", "--model", "rf", "--max-depth", 6, "--C", 0.5)
    assert rf.exit_code == 0, rf.output
    assert "note: --C not used by random_forest (not logged)" in rf.stdout
    rf_id = re.search(r"Training_Run ([0-9a-f]{32}) \(random_forest\)", rf.stdout).group(1)
    for name in ("roc_auc", "accuracy", "f1", "precision", "recall", "log_loss"):
        assert re.search(rf"{name}\s+│\s+0\.\d{{4}}", rf.stdout), name
    params = client.get_run(rf_id).data.params
    assert (params["model"], params["max_depth"], "C" in params) == ("rf", "6", False)

    lr = churn("train", "--model", "lr", "--C", 0.5, "--class-weight", "balanced")
    assert lr.exit_code == 0, lr.output
    lr_id = re.search(r"Training_Run ([0-9a-f]{32}) \(logistic_regression\)", lr.stdout).group(1)
    assert client.get_run(lr_id).data.params["class_weight"] == "balanced"

    # evaluate defaults to the latest training run
    evaluated = churn("evaluate")
    assert evaluated.exit_code == 0, evaluated.output
    assert f"of training run {lr_id}" in evaluated.stdout
    charts = "roc_curve.png, pr_curve.png, confusion_matrix.png, calibration.png, feature_importance.png"
    assert f"Artifacts: {charts}" in evaluated.stdout

    # compare: both training runs (not the evaluation), best ROC AUC first, and a chart
    chart = tmp_path / "compare.png"
    compared = churn("compare", "--plot", "--output", chart)
    assert compared.exit_code == 0, compared.output
    rows = [line for line in compared.stdout.splitlines() if lr_id[:8] in line or rf_id[:8] in line]
    assert len(rows) == 2
    aucs = {run_id: client.get_run(run_id).data.metrics["roc_auc"] for run_id in (lr_id, rf_id)}
    best = max(aucs, key=aucs.get)
    assert best[:8] in rows[0] and f"{aucs[best]:.4f}" in rows[0]
    assert "max_depth" in compared.stdout and "balanced" in compared.stdout
    assert f"Chart saved to {chart}" in compared.stdout.replace("\n", "")
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_data_command_summarises_the_file(churn):
    result = churn("data")
    assert result.exit_code == 0, result.output
    for expected in (
        "7,043",
        "1,869 (26.5%)",
        "(IBM's published file)",
        "11 (all tenure 0, not billed yet: set to 0.0)",
        "5,634 train / 1,409 held out",
    ):
        assert expected in result.stdout


def test_data_command_downloads_a_missing_file(churn, http_server, telco_csv, tmp_path, monkeypatch):
    base, folder, hits = http_server
    (folder / "telco.csv").write_bytes(telco_csv.read_bytes())
    cache = tmp_path / "cache" / "telco_churn.csv"
    monkeypatch.setenv("CHURN_DATA", str(cache))
    monkeypatch.setenv("CHURN_DATA_URL", f"{base}/telco.csv")
    result = churn("data")
    assert result.exit_code == 0, result.output
    assert f"Downloading {base}/telco.csv to {cache}" in result.stdout
    assert "(IBM's published file)" in result.stdout
    assert cache.is_file() and hits == ["/telco.csv"]


def test_bad_data_is_one_red_line_and_exit_1(churn, variant, experiment):
    bad = variant(lambda lines: [",".join(line.split(",")[:-2] + line.split(",")[-1:]) for line in lines])
    result = churn("train", "--data", bad)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert f"{bad}: not the Telco Customer Churn schema; missing column(s): TotalCharges." in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--model", "xgb"], "error: unknown model 'xgb'; use one of: lr, rf."),
        (["train", "--class-weight", "auto"], "error: --class-weight must be none or balanced, not 'auto'."),
        (["train", "--data", "missing.csv"], "error: missing.csv: no such file"),
        (["evaluate", "--run-id", "feedbeef"], "error: no run with id 'feedbeef'"),
        (["compare"], "error: no finished training run in this experiment yet: run `churn train` first."),
    ],
    ids=["model", "class-weight", "data", "run-id", "no-runs"],
)
def test_user_errors_end_in_one_line(churn, experiment, args, message):
    result = churn(*args)
    assert result.exit_code == 1
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.output


def test_importing_churn_and_its_command_is_cheap():
    code = (
        "import sys, time; t = time.perf_counter(); import churn, churn.cli, churn.errors; "
        "dt = time.perf_counter() - t; "
        "heavy = [m for m in ('mlflow', 'sklearn', 'pandas', 'matplotlib', 'numpy') if m in sys.modules]; "
        "print(dt, heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(" ", 1)
    assert out[1].strip() == "[]"
    assert float(out[0]) < 2.0


def test_train_py_and_evaluate_py_run_as_scripts(telco_csv):
    """`uv run churn/train.py [options]` is the course's first command: the same options and errors as
    `churn train` (the successful path is the in-process lesson above; a full script run costs ~15 s here)."""
    env = {**os.environ, "CHURN_DATA": str(telco_csv)}
    bad = subprocess.run(
        [sys.executable, "churn/train.py", "--model", "xgb"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert bad.stderr.strip() == "error: unknown model 'xgb'; use one of: lr, rf."
    usage = subprocess.run(
        [sys.executable, "churn/evaluate.py", "--help"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert usage.returncode == 0
    assert "--run-id" in usage.stdout and "--threshold" in usage.stdout
