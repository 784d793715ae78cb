"""Evaluate the latest Training_Run's model on its held-out customers, as its own MLflow run "Evaluate_Run".

    uv run src/evaluate.py                   # the latest Training_Run
    uv run src/evaluate.py --run-id <id>     # a given one

The solution of the Module 1 exercise: the model comes back from the store (which proves the logged artifact
works), and the metrics and the five charts are kept with the run, linked to the training run they judge.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `uv run src/evaluate.py` from the project folder

import mlflow
import numpy as np
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    PrecisionRecallDisplay,
    RocCurveDisplay,
    average_precision_score,
    brier_score_loss,
)

import loader
from train import EXPERIMENT, RUN_NAME, TRACKING_URI, scores

EVALUATE_RUN_NAME = "Evaluate_Run"
THRESHOLD = 0.5


def figures(pipeline, y_true, proba, threshold: float = THRESHOLD) -> dict[str, Figure]:
    """The five charts of an evaluation, by file name."""
    charts = {}

    figure = Figure(figsize=(6, 5))
    RocCurveDisplay.from_predictions(y_true, proba, ax=figure.subplots(), plot_chance_level=True)
    figure.axes[0].set_title("ROC curve (held-out customers)")
    charts["roc_curve.png"] = figure

    figure = Figure(figsize=(6, 5))
    PrecisionRecallDisplay.from_predictions(y_true, proba, ax=figure.subplots(), plot_chance_level=True)
    figure.axes[0].set_title("Precision-recall curve")
    charts["pr_curve.png"] = figure

    figure = Figure(figsize=(5, 5))
    ConfusionMatrixDisplay.from_predictions(
        y_true, (proba >= threshold).astype(int), display_labels=["stays", "churns"], ax=figure.subplots(), colorbar=False
    )
    figure.axes[0].set_title(f"Confusion matrix (threshold {threshold})")
    charts["confusion_matrix.png"] = figure

    figure = Figure(figsize=(6, 5))
    ax = figure.subplots()
    observed, predicted = calibration_curve(y_true, proba, n_bins=10)
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfectly calibrated")
    ax.plot(predicted, observed, "o-", label="model")
    ax.set(xlabel="predicted churn probability", ylabel="observed churn rate", title="Calibration")
    ax.legend()
    charts["calibration.png"] = figure

    classifier = pipeline.named_steps["classifier"]
    names = pipeline.named_steps["preprocess"].get_feature_names_out()
    weights = np.abs(classifier.coef_[0]) if hasattr(classifier, "coef_") else classifier.feature_importances_
    top = np.argsort(weights)[-15:]
    figure = Figure(figsize=(7, 6), layout="constrained")
    ax = figure.subplots()
    ax.barh([names[i].split("__", 1)[-1] for i in top], weights[top])
    ax.set(title="Feature importance (top 15)", xlabel="|coefficient|" if hasattr(classifier, "coef_") else "importance")
    charts["feature_importance.png"] = figure
    return charts


def evaluation_scores(y_true, proba, threshold: float = THRESHOLD) -> dict[str, float]:
    """The training metrics at the threshold, plus two that judge the probabilities themselves."""
    return {
        **scores(y_true, proba, threshold),
        "average_precision": average_precision_score(y_true, proba),
        "brier_score": brier_score_loss(y_true, proba),
    }


def latest_training_run() -> str:
    runs = mlflow.search_runs(
        experiment_names=[EXPERIMENT],
        filter_string=f"attributes.run_name = '{RUN_NAME}' AND attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if runs.empty:
        raise SystemExit(f"no finished {RUN_NAME} in experiment {EXPERIMENT}: run `uv run src/train.py` first.")
    return runs.loc[0, "run_id"]


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-id", help="the training run to evaluate (default: the latest Training_Run)")
    args = parser.parse_args(argv)

    mlflow.set_tracking_uri(TRACKING_URI)
    experiment = mlflow.set_experiment(EXPERIMENT)
    training_run = mlflow.get_run(args.run_id or latest_training_run())
    trained = training_run.data.params
    pipeline = mlflow.sklearn.load_model(f"runs:/{training_run.info.run_id}/model")  # back from the store

    df = loader.load()
    _, test_df = loader.split(df, float(trained["test_size"]), int(trained["split_seed"]))
    y_true = test_df[loader.TARGET].to_numpy()
    proba = pipeline.predict_proba(loader.features(test_df))[:, 1]
    metrics = evaluation_scores(y_true, proba)

    with mlflow.start_run(run_name=EVALUATE_RUN_NAME, experiment_id=experiment.experiment_id) as run:
        mlflow.set_tags(
            {
                "stage": "evaluate",
                "model_family": training_run.data.tags.get("model_family", ""),
                "training_run_id": training_run.info.run_id,
            }
        )
        mlflow.log_params(
            {
                "training_run_id": training_run.info.run_id,
                "model": trained["model"],
                "threshold": THRESHOLD,
                "test_size": trained["test_size"],
                "split_seed": trained["split_seed"],
            }
        )
        test_data = mlflow.data.from_pandas(test_df, source=df.attrs["source"], name="telco_churn-test", targets="Churn")
        mlflow.log_input(test_data, context="evaluation")
        mlflow.log_metrics(metrics)
        for name, figure in figures(pipeline, y_true, proba).items():
            mlflow.log_figure(figure, name)  # an artifact of the run: Artifacts tab in the UI

    for name, value in metrics.items():
        print(f"{name:>17} = {value:.4f}")
    print(f"run {EVALUATE_RUN_NAME} {run.info.run_id} evaluated {RUN_NAME} {training_run.info.run_id}")
    return run.info.run_id


if __name__ == "__main__":
    main()
