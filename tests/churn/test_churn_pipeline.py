"""`churn pipeline` as a user runs it: train -> evaluate -> register -> promote -> serve -> smoke request -> stop,
on the real data, in a fresh experiment and a registered model of its own; then a second run (through the library)
that the gate refuses."""

from __future__ import annotations

import re

import pytest

from churn import cli as churn_cli


@pytest.fixture
def name(monkeypatch, experiment) -> str:
    value = f"churn-classifier-{experiment}"
    monkeypatch.setenv("CHURN_MODEL_NAME", value)
    return value


def test_pipeline_runs_the_whole_chain_then_the_gate_refuses_a_rerun(name, experiment, telco_csv, monkeypatch):
    from mlflow.tracking import MlflowClient
    from typer.testing import CliRunner

    from churn.register import aliases, registry_table
    from churn.serve import port_in_use

    monkeypatch.setenv("CHURN_DATA", str(telco_csv))
    monkeypatch.setattr(churn_cli.console, "width", 200)
    result = CliRunner().invoke(churn_cli.app, ["pipeline"])
    assert result.exit_code == 0, result.output
    out = result.stdout

    stages = re.findall(r"^(✓|!) (\w+)\s+\d+\.\d s", out, re.M)
    assert stages == [("✓", s) for s in ("train", "evaluate", "register", "promote", "serve", "smoke")], out
    training = re.search(r"Training_Run ([0-9a-f]{32}) \(logistic_regression\)", out).group(1)
    evaluation, auc = re.search(r"Evaluate_Run ([0-9a-f]{32}), held-out ROC AUC (0\.\d{4})", out).groups()
    assert f"{name} v1 -> staging" in out
    assert f"promoted v1 to production: nothing in production yet: v1 (ROC AUC {auc}) is the first." in out
    port = int(re.search(r"production \(v1\) at http://127\.0\.0\.1:(\d+)", out).group(1))
    assert re.search(r"5 held-out customers -> \[[01](, [01]){4}\] \(same as the registered model\)", out), out
    assert re.search(rf"Pipeline done in \d+\.\d s: {name} v1 promoted, production is v1; server stopped\.", out)

    # what the store says afterwards
    assert aliases(name) == {"staging": 1, "production": 1}
    row = registry_table(name)[0]
    assert (row["training_run_id"], row["evaluation_run_id"], row["decision"]) == (training, evaluation, "promoted")
    assert f"{row['roc_auc']:.4f}" == auc
    assert MlflowClient().get_run(evaluation).data.tags["training_run_id"] == training
    assert not port_in_use(port)  # the server is gone

    # the library, run again: the same model must now beat production by a margin it cannot reach
    from churn.pipeline import pipeline
    from churn.train import TrainParams

    stages = []
    second = pipeline(
        TrainParams(), data=telco_csv, experiment=experiment, name=name, margin=0.05, serve=False,
        on_stage=lambda stage, seconds, details: stages.append(stage),
    )  # fmt: skip
    assert stages == ["train", "evaluate", "register", "promote"]
    assert second.version == 2 and not second.decision.promoted and second.decision.decision == "refused"
    assert f"{second.roc_auc:.4f}" == auc  # same params, same split: the same model
    assert second.decision.reason.endswith("v1 stays in production.")
    assert (second.served_version, second.smoke_predictions) == (None, [])
    assert aliases(name) == {"staging": 2, "production": 1}
