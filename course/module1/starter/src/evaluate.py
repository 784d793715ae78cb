"""Evaluate the model train.py saved on the held-out customers: print the metrics, draw five charts.

    uv run src/evaluate.py

The charts go to plots/, next to nothing that says which model or which params they belong to (the next
training run overwrites model.joblib). In the exercise, MLflow keeps them with the run instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `uv run src/evaluate.py` from the project folder

import joblib
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
from train import MODEL_FILE, scores

PLOTS_DIR = Path(__file__).resolve().parents[1] / "plots"
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


def main() -> None:
    if not MODEL_FILE.is_file():
        raise SystemExit(f"{MODEL_FILE.name} is missing: run `uv run src/train.py` first.")
    pipeline = joblib.load(MODEL_FILE)
    _, test_df = loader.split(loader.load())
    y_true = test_df[loader.TARGET].to_numpy()
    proba = pipeline.predict_proba(loader.features(test_df))[:, 1]

    for name, value in evaluation_scores(y_true, proba).items():
        print(f"{name:>17} = {value:.4f}")
    PLOTS_DIR.mkdir(exist_ok=True)
    for name, figure in figures(pipeline, y_true, proba).items():
        figure.savefig(PLOTS_DIR / name, dpi=100)
    print(f"charts written to {PLOTS_DIR.name}/")


if __name__ == "__main__":
    main()
