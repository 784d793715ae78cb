"""Model and tracking: what a training run on the real data leaves in the MLflow store, and how good it is."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest

from churn import loader
from churn.errors import ChurnError
from churn.train import TrainParams
from llmops.settings import TELCO_CHURN_SHA256

METRICS = {"accuracy", "roc_auc", "f1", "precision", "recall", "log_loss"}


@pytest.fixture(scope="module")
def client(session_store):
    from mlflow.tracking import MlflowClient

    return MlflowClient(session_store)


def test_quality_on_the_held_out_split(trained, client):
    """Published results for this data set are about 0.84 ROC AUC."""
    lr = client.get_run(trained["lr"]).data.metrics
    rf = client.get_run(trained["rf"]).data.metrics
    assert lr["roc_auc"] >= 0.83, lr
    assert rf["roc_auc"] >= 0.82, rf
    for metrics in (lr, rf):
        assert 0.78 <= metrics["accuracy"] <= 0.85
        assert metrics["log_loss"] < 0.45
        assert metrics["train_roc_auc"] - metrics["roc_auc"] < 0.08  # no heavy over-fitting (unlimited depth: 0.18)


def test_run_is_named_and_tagged(trained, client):
    run = client.get_run(trained["lr"])
    assert run.info.run_name == "Training_Run"
    assert client.get_experiment(run.info.experiment_id).name == trained["experiment"]
    assert run.data.tags["model_family"] == "logistic_regression"
    assert client.get_run(trained["rf"]).data.tags["model_family"] == "random_forest"
    assert run.data.tags["stage"] == "train"
    checkout = Path(loader.__file__).parent
    if subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, cwd=checkout).returncode == 0:
        commit = run.data.tags["mlflow.source.git.commit"]
        # the commit the code ran from: HEAD then, so HEAD or one of its ancestors now (others commit meanwhile)
        ancestor = subprocess.run(["git", "merge-base", "--is-ancestor", commit, "HEAD"], cwd=checkout)
        assert len(commit) == 40 and ancestor.returncode == 0


def test_params_under_plain_names_only_where_they_apply(trained, client):
    lr = client.get_run(trained["lr"]).data.params
    rf = client.get_run(trained["rf"]).data.params
    shared = {"class_weight": "None", "test_size": "0.2", "split_seed": "42", "data_rows": "7043",
              "data_sha256": TELCO_CHURN_SHA256, "blank_total_charges_set_to_0": "11"}  # fmt: skip
    assert lr == {"model": "lr", "C": "1.0", "max_iter": "1000", **shared}
    assert rf == {
        "model": "rf", "n_estimators": "100", "max_depth": "8", "min_samples_leaf": "5", "random_state": "42",
        **shared,
    }  # fmt: skip


def test_metrics_are_logged_and_linked_to_the_model_and_held_out_data(trained, client):
    import mlflow

    run = client.get_run(trained["lr"])
    assert METRICS | {"train_roc_auc"} == set(run.data.metrics)
    (output,) = run.outputs.model_outputs
    model = mlflow.get_logged_model(output.model_id)
    linked = {m.key: m for m in model.metrics}
    assert set(linked) >= METRICS | {"train_roc_auc"}  # evaluations of this model add theirs
    assert linked["roc_auc"].value == run.data.metrics["roc_auc"]
    assert {linked[name].dataset_name for name in METRICS} == {"telco_churn-test"}
    assert linked["train_roc_auc"].dataset_name == "telco_churn-train"


def test_datasets_are_run_inputs(trained, client, telco_csv):
    inputs = client.get_run(trained["lr"]).inputs.dataset_inputs
    by_context = {i.tags[0].value: i.dataset for i in inputs if i.tags}
    assert set(by_context) == {"training", "evaluation"}
    train, test = by_context["training"], by_context["evaluation"]
    assert (train.name, test.name) == ("telco_churn-train", "telco_churn-test")
    assert '"num_rows": 5634' in train.profile and '"num_rows": 1409' in test.profile
    assert str(telco_csv.resolve()) in train.source
    assert '"name": "Churn"' in train.schema


def test_model_has_signature_input_example_and_pinned_requirements(trained):
    import mlflow
    import sklearn

    uri = f"runs:/{trained['rf']}/model"
    info = mlflow.models.get_model_info(uri)
    assert info.signature.inputs.input_names() == list(loader.FEATURES)
    assert {spec.type.name for spec in info.signature.inputs.inputs} == {"string", "double"}
    assert info.saved_input_example_info is not None
    requirements = mlflow.pyfunc.get_model_dependencies(uri)
    with open(requirements) as f:
        pinned = f.read().split()
    assert f"scikit-learn=={sklearn.__version__}" in pinned
    assert any(line.startswith("skops==") for line in pinned)
    assert any(line.startswith("mlflow==") for line in pinned)


def test_logged_model_predicts_from_json_like_input(trained, telco_csv):
    """What a served model receives: strings and numbers (integers included) in a table."""
    import mlflow

    model = mlflow.pyfunc.load_model(f"runs:/{trained['lr']}/model")
    rows = loader.features(loader.load(telco_csv).head(3)).to_dict(orient="records")
    rows[0]["tenure"] = 1  # a JSON client sends 1, not 1.0
    predictions = model.predict(pd.DataFrame(rows))
    assert set(predictions) <= {0, 1} and len(predictions) == 3


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"model": "xgb"}, "unknown model 'xgb'; use one of: lr, rf"),
        ({"C": 0}, "C must be > 0"),
        ({"max_depth": 0}, "max_depth must be >= 1 or None"),
        ({"class_weight": "auto"}, "class_weight must be None or 'balanced'"),
        ({"test_size": 1.5}, "test_size must be between 0 and 1"),
    ],
)
def test_bad_params_are_refused_before_anything_runs(params, message):
    with pytest.raises(ChurnError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainParams(**params)
