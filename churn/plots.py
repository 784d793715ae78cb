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
    operating_point = f"Threshold {threshold:g}: precision {p_at:.2f}, recall {r_at:.2f}"
    ax.plot([r_at], [p_at], "o", color="black", label=operating_point)
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
    """Logistic regression: signed coefficients (red raises churn risk, blue lowers it); random forest:
    impurity importance, which says how much a feature is used, not in which direction."""
    from matplotlib.patches import Patch

    from churn.loader import CATEGORICAL

    names = [_pretty(name, CATEGORICAL) for name in pipeline[:-1].get_feature_names_out()]
    classifier = pipeline[-1]
    signed = hasattr(classifier, "coef_")
    values = classifier.coef_[0] if signed else classifier.feature_importances_
    order = np.argsort(np.abs(values))[-top:]
    figure = _figure(7.6, 6.0)
    ax = figure.subplots()
    if signed:
        colors = [CHURN_COLOR if values[i] > 0 else STAY_COLOR for i in order]
        title = f"What drives churn: logistic regression coefficients (top {top})"
        xlabel = "Coefficient (change in log-odds of churn; numbers standardised)"
    else:
        colors = [NEUTRAL] * len(order)
        title = f"What drives churn: random forest feature importance (top {top})"
        xlabel = "Mean decrease in impurity (how much, not which way)"
    ax.barh([names[i] for i in order], values[order], color=colors)
    ax.axvline(0, color="black", lw=0.8)
    ax.set(xlabel=xlabel, title=title)
    if signed:
        legend = [Patch(color=CHURN_COLOR, label="raises churn risk"), Patch(color=STAY_COLOR, label="lowers it")]
        ax.legend(handles=legend, loc="best")
    ax.grid(axis="x", alpha=0.3)
    return figure


def _pretty(name: str, categorical: tuple[str, ...]) -> str:
    """``Contract_Two year`` -> ``Contract = Two year`` (one-hot columns read as a condition)."""
    for column in categorical:
        if name.startswith(column + "_"):
            return f"{column} = {name[len(column) + 1:]}"
    return name


def comparison(table: pd.DataFrame, limit: int = 12) -> Figure:
    """Left: ROC AUC per run (zoomed: runs often differ in the third decimal). Right: the metrics that depend
    on the 0.5 threshold, on a full 0-1 scale. One label per run: its id and what differs from the defaults."""
    runs = table.head(limit)
    labels = ["\n".join([row.run_id[:8], *row.description.split()]) for row in runs.itertuples()]
    figure = _figure(max(10.0, 1.4 * len(runs) + 6.0), 5.6)
    left, right = figure.subplots(1, 2, width_ratios=[1, 2])

    auc = runs["roc_auc"].astype(float).to_numpy()
    y = np.arange(len(runs))[::-1]  # best at the top
    bars = left.barh(y, auc, color=CHURN_COLOR, height=0.6)
    left.bar_label(bars, fmt="%.4f", fontsize=8, padding=2)
    low, high = float(np.nanmin(auc)), float(np.nanmax(auc))
    left.set_xlim(max(0.0, low - 0.02), min(1.0, high + 0.012))
    left.set_yticks(y, labels, fontsize=8)
    left.set(xlabel="ROC AUC (axis zoomed)", title="Ranking quality")
    left.grid(axis="x", alpha=0.3)

    metrics = ("accuracy", "precision", "recall", "f1")
    x = np.arange(len(runs))
    width = 0.8 / len(metrics)
    for k, metric in enumerate(metrics):
        values = runs[metric].astype(float).to_numpy()
        bars = right.bar(x + (k - (len(metrics) - 1) / 2) * width, values, width, label=metric)
        right.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    right.set_xticks(x, labels, fontsize=8)
    right.set(ylim=(0, 1.12), ylabel="Score", title="Decisions at threshold 0.5")
    right.legend(loc="upper center", ncols=len(metrics), fontsize=8, frameon=False)
    right.grid(axis="y", alpha=0.3)
    figure.suptitle("Training runs compared on the held-out split (best ROC AUC first)")
    return figure
