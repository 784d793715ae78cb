"""The MLproject file: its entry points call commands and options that exist, its defaults are the library's, and
`mlflow run . -e train --env-manager local -P model=rf -P max_depth=6` really trains, linked to MLflow's
project run."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ENTRY_POINTS = ("train", "evaluate", "register", "promote", "serve", "pipeline")
MLFLOW_TYPES = ("string", "float", "int", "path", "uri")


@pytest.fixture(scope="module")
def project() -> dict:
    return yaml.safe_load((REPO / "MLproject").read_text())


def test_entry_points_call_existing_commands_and_options(project):
    import typer.main

    from churn.cli import app

    commands = typer.main.get_command(app).commands
    assert project["name"] == "churn"
    assert tuple(project["entry_points"]) == ENTRY_POINTS
    for entry, spec in project["entry_points"].items():
        words = shlex.split(spec["command"])
        assert words[0] == "churn" and words[1] in commands, spec["command"]
        options = {opt for param in commands[words[1]].params for opt in param.opts}
        flags = [w for w in words[2:] if w.startswith("--")]
        assert set(flags) <= options, f"{entry}: unknown options {set(flags) - options}"
        for name, parameter in spec["parameters"].items():
            assert parameter["type"] in MLFLOW_TYPES and "default" in parameter, (entry, name)
            assert f"{{{name}}}" in spec["command"], f"{entry}: parameter {name} not passed on"


def test_defaults_are_the_librarys(project):
    from churn.train import TrainParams

    defaults = TrainParams()
    for entry in ("train", "pipeline"):
        parameters = project["entry_points"][entry]["parameters"]
        for name, parameter in parameters.items():
            if hasattr(defaults, name) and name != "class_weight":
                assert parameter["default"] == getattr(defaults, name), (entry, name)
        assert parameters["class_weight"]["default"] == "none" and defaults.class_weight is None
    assert project["entry_points"]["pipeline"]["parameters"]["margin"]["default"] == 0.0
    assert project["entry_points"]["serve"]["parameters"]["port"]["default"] == 5001


def test_mlflow_run_train_entry_point(session_store, experiment, telco_csv):
    """`uv run mlflow run . -e train --env-manager local -P model=rf -P max_depth=6`, for real (~20 s)."""
    from mlflow.tracking import MlflowClient

    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, CHURN_DATA=str(telco_csv), CHURN_EXPERIMENT=experiment, COLUMNS="200")
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"  # what `uv run` does
    command = [str(bin_dir / "mlflow"), "run", ".", "-e", "train", "--env-manager", "local",
               "-P", "model=rf", "-P", "max_depth=6"]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "note:" not in output  # the MLproject passes LR's defaults too: nothing to warn about
    training_id = re.search(r"Training_Run ([0-9a-f]{32}) \(random_forest\)", output).group(1)
    project_id = re.search(r"=== Run \(ID '([0-9a-f]{32})'\) succeeded ===", output).group(1)

    client = MlflowClient(session_store)
    training = client.get_run(training_id)
    assert client.get_experiment(training.info.experiment_id).name == experiment  # with the other churn runs
    assert (training.data.params["model"], training.data.params["max_depth"]) == ("rf", "6")
    assert "C" not in training.data.params and training.data.tags["stage"] == "train"
    assert training.data.tags["project_run_id"] == project_id

    project_run = client.get_run(project_id)
    assert project_run.info.status == "FINISHED"
    assert project_run.data.tags["mlflow.project.entryPoint"] == "train"
    assert project_run.data.tags["training_run_id"] == training_id
    assert project_run.data.params["max_depth"] == "6"
    assert project_run.data.metrics["roc_auc"] == training.data.metrics["roc_auc"]
