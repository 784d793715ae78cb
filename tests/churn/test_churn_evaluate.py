"""Model and tracking: the evaluation run, linked to its training run, with metrics and readable charts."""

from __future__ import annotations

import numpy as np
import pytest

from churn.errors import ChurnDataError, ChurnError
from churn.evaluate import PLOTS, evaluate, scores

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def client(session_store):
    from mlflow.tracking import MlflowClient

    return MlflowClient(session_store)


@pytest.fixture(scope="module")
def evaluated(trained, telco_csv) -> str:
    return evaluate(trained["lr"], data=telco_csv, experiment=trained["experiment"])


def test_evaluation_run_is_linked_to_its_training_run(evaluated, trained, client):
    run = client.get_run(evaluated)
    assert run.info.run_name == "Evaluate_Run"
    assert run.info.experiment_id == client.get_run(trained["lr"]).info.experiment_id
    assert run.data.tags["training_run_id"] == trained["lr"]
    assert run.data.tags["stage"] == "evaluate"
    assert trained["lr"] in run.data.tags["mlflow.note.content"]
    assert run.data.params == {
        "training_run_id": trained["lr"], "model": "lr", "threshold": "0.5", "test_size": "0.2", "split_seed": "42",
    }  # fmt: skip


def test_held_out_split_is_the_one_training_scored(evaluated, trained, client):
    """Same customers, same model: the evaluation reproduces the training run's held-out metrics exactly."""
    evaluation = client.get_run(evaluated).data.metrics
    training = client.get_run(trained["lr"]).data.metrics
    for name in ("accuracy", "roc_auc", "f1", "precision", "recall", "log_loss"):
        assert evaluation[name] == pytest.approx(training[name], abs=1e-12), name
    assert 0.6 < evaluation["average_precision"] < 0.7
    assert 0.12 < evaluation["brier_score"] < 0.16
    (test_input,) = client.get_run(evaluated).inputs.dataset_inputs
    assert test_input.tags[0].value == "evaluation" and '"num_rows": 1409' in test_input.dataset.profile


def test_the_five_charts_are_logged_as_png(evaluated, client, tmp_path):
    logged = {artifact.path: artifact.file_size for artifact in client.list_artifacts(evaluated)}
    assert set(PLOTS) <= set(logged)
    folder = client.download_artifacts(evaluated, "", str(tmp_path))
    for name in PLOTS:
        content = (tmp_path / name).read_bytes()
        assert content.startswith(PNG_MAGIC), name
        assert len(content) > 20_000, name  # a drawn chart, not an empty canvas
    assert folder


def test_roc_chart_names_the_model_and_its_auc(trained, client, telco_csv):
    """The charts are built from figures whose text a test can read (titles, labels, legend)."""
    import mlflow

    from churn import loader, plots

    model = mlflow.sklearn.load_model(f"runs:/{trained['lr']}/model")
    _, test = loader.split(loader.load(telco_csv))
    proba = model.predict_proba(loader.features(test))[:, 1]
    auc = client.get_run(trained["lr"]).data.metrics["roc_auc"]
    texts = _texts(plots.roc_curve(test["Churn"].to_numpy(), proba, "logistic_regression"))
    assert f"Logistic regression (AUC = {auc:.3f})" in texts
    assert "ROC curve, held-out split (1,409 customers)" in texts
    assert any(text.startswith("False positive rate") for text in texts)
    coefficients = _texts(plots.feature_importance(model, "logistic_regression"))
    assert "What drives churn: logistic regression coefficients (top 15)" in coefficients
    assert "Contract = Two year" in coefficients


def _texts(figure) -> set[str]:
    found = set()
    for ax in figure.axes:
        found |= {ax.get_title(), ax.get_xlabel(), ax.get_ylabel()}
        found |= {label.get_text() for label in ax.get_yticklabels()}
        if ax.get_legend():
            found |= {text.get_text() for text in ax.get_legend().get_texts()}
    return found


def test_latest_training_run_is_the_default(trained, telco_csv, client):
    """The random forest was trained after the logistic regression: it is what a bare `evaluate` picks."""
    run = client.get_run(evaluate(data=telco_csv, experiment=trained["experiment"]))
    assert run.data.tags["training_run_id"] == trained["rf"]
    assert run.data.tags["model_family"] == "random_forest"
    assert {artifact.path for artifact in client.list_artifacts(run.info.run_id)} >= set(PLOTS)


def test_unknown_run_id_is_a_clear_error(trained, telco_csv):
    with pytest.raises(ChurnError, match="no run with id '0123456789abcdef' in the tracking store sqlite:///"):
        evaluate("0123456789abcdef", data=telco_csv, experiment=trained["experiment"])


def test_an_evaluation_run_cannot_be_evaluated(evaluated, trained, telco_csv):
    with pytest.raises(ChurnError, match=f"run {evaluated} is not a training run .*'Evaluate_Run'"):
        evaluate(evaluated, data=telco_csv, experiment=trained["experiment"])


def test_other_data_than_the_training_data_is_refused(trained, variant):
    changed = variant(lambda lines: lines[:-1])  # one customer fewer: another split
    with pytest.raises(ChurnDataError, match=f"not the file training run {trained['lr']} was trained on"):
        evaluate(trained["lr"], data=changed, experiment=trained["experiment"])


def test_no_training_run_yet(experiment, telco_csv):
    with pytest.raises(ChurnError, match="no finished training run in this experiment yet: run `churn train` first"):
        evaluate(data=telco_csv, experiment=experiment)


def test_scores_on_known_predictions():
    y = np.array([0, 0, 1, 1])
    perfect = scores(y, np.array([0.1, 0.2, 0.8, 0.9]))
    assert perfect == pytest.approx(
        {"accuracy": 1.0, "roc_auc": 1.0, "f1": 1.0, "precision": 1.0, "recall": 1.0, "log_loss": 0.164252033486018}
    )
    nobody_flagged = scores(y, np.array([0.1, 0.2, 0.3, 0.4]))
    assert nobody_flagged["precision"] == 0.0 and nobody_flagged["recall"] == 0.0
    assert nobody_flagged["roc_auc"] == 1.0  # the ranking is still perfect
