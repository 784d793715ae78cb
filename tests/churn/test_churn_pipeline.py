"""`churn pipeline` as a user runs it: train -> evaluate -> register -> promote -> serve -> smoke request -> stop,
on the real data, in a fresh experiment and a registered model of its own; then a second run the gate refuses."""

from __future__ import annotations

import re

import pytest

from churn import cli as churn_cli


@pytest.fixture
def name(monkeypatch, experiment) -> str:
    value = f"churn-classifier-{experiment}"
    monkeypatch.setenv("CHURN_MODEL_NAME", value)
    return value


def test_pipeline_command_runs_the_whole_chain(name, experiment, telco_csv, monkeypatch):
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


def test_pipeline_library_reports_a_refusal_and_keeps_production(name, experiment, telco_csv):
    from churn.pipeline import pipeline
    from churn.register import aliases, promote, register
    from churn.train import TrainParams

    stages = []
    first = pipeline(
        TrainParams(model="lr", C=0.05), data=telco_csv, experiment=experiment, name=name, serve=False,
        on_stage=lambda stage, seconds, details: stages.append(stage),
    )  # fmt: skip
    assert stages == ["train", "evaluate", "register", "promote"]
    assert first.decision.promoted and first.version == 1 and first.served_version is None

    # the same model again must beat production by a margin it cannot reach: refused, production stays v1
    second = pipeline(TrainParams(model="lr", C=0.05), data=telco_csv, experiment=experiment, name=name,
                      margin=0.05, serve=False)  # fmt: skip
    assert second.version == 2 and not second.decision.promoted
    assert second.decision.reason.endswith("v1 stays in production.")
    assert second.roc_auc == pytest.approx(first.roc_auc)  # same params, same split: same model
    assert aliases(name) == {"staging": 2, "production": 1}

    # register/promote by hand from the same runs behave the same way
    assert register(second.evaluation_run_id, name=name) == 3
    assert promote(margin=0.0, name=name).promoted  # equal ROC AUC passes "at least as good"
