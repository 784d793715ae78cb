"""The visual evidence of an evaluation, one function per chart, each returning a matplotlib ``Figure``.

Figures are built with matplotlib's object API on the Agg canvas, never through ``pyplot``: nothing here
changes the backend of the process that imports it (a notebook keeps its inline plots), nothing opens a window,
and figures are freed as soon as they are logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.pipeline import Pipeline

CHURN_COLOR = "#c0392b"
STAY_COLOR = "#2e86c1"
NEUTRAL = "#7f8c8d"
FAMILY_LABELS = {"logistic_regression": "Logistic regression", "random_forest": "Random forest"}


def _figure(width: float = 6.4, height: float = 5.2) -> Figure:
    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _label(family: str) -> str:
    return FAMILY_LABELS.get(family, family)


def roc_curve(y_true: np.ndarray, proba: np.ndarray, family: str) -> Figure:
    from sklearn.metrics import roc_auc_score
    from sklearn.metrics import roc_curve as curve

    fpr, tpr, _ = curve(y_true, proba)
    auc = roc_auc_score(y_true, proba)
    figure = _figure()
    ax = figure.subplots()
    ax.plot(fpr, tpr, color=CHURN_COLOR, lw=2, label=f"{_label(family)} (AUC = {auc:.3f})")
    ax.plot([0, 1], [0, 1], ls="--", color=NEUTRAL, label="Chance (AUC = 0.500)")
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1.01),
        xlabel="False positive rate (share of staying customers flagged)",
        ylabel="True positive rate (share of churners caught)",
        title=f"ROC curve, held-out split ({len(y_true):,} customers)",
    )
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return figure


def pr_curve(y_true: np.ndarray, proba: np.ndarray, family: str, threshold: float = 0.5) -> Figure:
    from sklearn.metrics import average_precision_score, precision_recall_curve, precision_score, recall_score

    precision, recall, _ = precision_recall_curve(y_true, proba)
    ap = average_precision_score(y_true, proba)
    base_rate = float(np.mean(y_true))
    predicted = (proba >= threshold).astype(int)
    p_at, r_at = precision_score(y_true, predicted, zero_division=0), recall_score(y_true, predicted)
    figure = _figure()
    ax = figure.subplots()
    ax.plot(recall, precision, color=CHURN_COLOR, lw=2, label=f"{_label(family)} (AP = {ap:.3f})")
    ax.axhline(base_rate, ls="--", color=NEUTRAL, label=f"No skill (churn rate = {base_rate:.2f})")
    ax.plot([r_at], [p_at], "o", color="black", label=f"Threshold {threshold:g}: precision {p_at:.2f}, recall {r_at:.2f}")
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1.01),
        xlabel="Recall (share of churners caught)",
        ylabel="Precision (share of flagged customers who churn)",
        title="Precision-recall curve, held-out split",
    )
    ax.legend(loc="lower left")
    ax.grid(alpha=0.3)
    return figure


def confusion_matrix(y_true: np.ndarray, proba: np.ndarray, threshold: float = 0.5) -> Figure:
    from sklearn.metrics import confusion_matrix as matrix

    counts = matrix(y_true, (proba >= threshold).astype(int), labels=[0, 1])
    shares = counts / counts.sum(axis=1, keepdims=True)
    figure = _figure(5.6, 5.0)
    ax = figure.subplots()
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(counts):
        ax.text(
            j, i, f"{count:,}\n{shares[i, j]:.0%} of row",
            ha="center", va="center", fontsize=12, color="white" if shares[i, j] > 0.5 else "black",
        )  # fmt: skip
    labels = ["Stayed (0)", "Churned (1)"]
    ax.set_xticks([0, 1], labels)
    ax.set_yticks([0, 1], labels)
    ax.set(xlabel="Predicted", ylabel="Actual", title=f"Confusion matrix (threshold {threshold:g})")
    figure.colorbar(image, ax=ax, label="Share of the actual class", shrink=0.8)
    return figure


def calibration(y_true: np.ndarray, proba: np.ndarray, family: str, bins: int = 10) -> Figure:
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import brier_score_loss

    observed, predicted = calibration_curve(y_true, proba, n_bins=bins, strategy="quantile")
    brier = brier_score_loss(y_true, proba)
    figure = _figure(6.4, 6.4)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    top.plot([0, 1], [0, 1], ls="--", color=NEUTRAL, label="Perfectly calibrated")
    top.plot(predicted, observed, "o-", color=CHURN_COLOR, lw=2, label=f"{_label(family)} (Brier = {brier:.3f})")
    top.set(
        xlim=(0, 1),
        ylim=(0, 1),
        ylabel="Observed churn rate",
        title=f"Calibration: predicted probability vs observed churn ({bins} equal-size bins)",
    )
    top.legend(loc="upper left")
    top.grid(alpha=0.3)
    bottom.hist(proba, bins=20, range=(0, 1), color=STAY_COLOR, alpha=0.8)
    bottom.set(xlabel="Predicted churn probability", ylabel="Customers")
    bottom.grid(alpha=0.3)
    return figure


def feature_importance(pipeline: Pipeline, family: str, top: int = 15) -> Figure:
    """Logistic regression: signed coefficients (red raises churn risk); random forest: impurity importance."""
    from churn.loader import CATEGORICAL

    names = [_pretty(name, CATEGORICAL) for name in pipeline[:-1].get_feature_names_out()]
    classifier = pipeline[-1]
    if hasattr(classifier, "coef_"):
        values = classifier.coef_[0]
        title = f"What drives churn: logistic regression coefficients (top {top})"
        xlabel = "Coefficient (change in log-odds of churn; numbers standardised)"
    else:
        values = classifier.feature_importances_
        title = f"What drives churn: random forest feature importance (top {top})"
        xlabel = "Mean decrease in impurity"
    order = np.argsort(np.abs(values))[-top:]
    figure = _figure(7.6, 6.0)
    ax = figure.subplots()
    colors = [CHURN_COLOR if values[i] > 0 else STAY_COLOR for i in order]
    if not hasattr(classifier, "coef_"):
        colors = [CHURN_COLOR] * len(order)
    ax.barh([names[i] for i in order], values[order], color=colors)
    ax.axvline(0, color="black", lw=0.8)
    ax.set(xlabel=xlabel, title=title)
    if hasattr(classifier, "coef_"):
        from matplotlib.patches import Patch

        ax.legend(
            handles=[Patch(color=CHURN_COLOR, label="raises churn risk"), Patch(color=STAY_COLOR, label="lowers it")],
            loc="best",
        )
    ax.grid(axis="x", alpha=0.3)
    return figure


def _pretty(name: str, categorical: tuple[str, ...]) -> str:
    """``Contract_Two year`` -> ``Contract = Two year`` (one-hot columns read as a condition)."""
    for column in categorical:
        if name.startswith(column + "_"):
            return f"{column} = {name[len(column) + 1:]}"
    return name


def comparison(table: pd.DataFrame, metrics: tuple[str, ...] = ("roc_auc", "f1", "accuracy", "recall")) -> Figure:
    """Grouped bars: one group per run (best ROC AUC first), one bar per metric."""
    runs = table.head(12)
    labels = [f"{row.run_id[:8]}\n{row.description}" for row in runs.itertuples()]
    figure = _figure(max(6.4, 1.1 * len(runs) + 2.5), 5.4)
    ax = figure.subplots()
    width = 0.8 / len(metrics)
    x = np.arange(len(runs))
    for k, metric in enumerate(metrics):
        values = runs[metric].astype(float).to_numpy()
        bars = ax.bar(x + (k - (len(metrics) - 1) / 2) * width, values, width, label=metric)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(x, labels, fontsize=8)
    ax.set(ylim=(0, 1.05), ylabel="Score on the held-out split", title="Training runs compared (best ROC AUC first)")
    ax.legend(loc="lower right", ncols=len(metrics))
    ax.grid(axis="y", alpha=0.3)
    return figure
