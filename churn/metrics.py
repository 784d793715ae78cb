"""The held-out metrics every training and evaluation run reports, and how they are computed."""

from __future__ import annotations

import numpy as np

#: In the order the tables show them, the ranking metric first.
METRICS = ("roc_auc", "accuracy", "f1", "precision", "recall", "log_loss")


def scores(y_true, proba, threshold: float = 0.5) -> dict[str, float]:
    """The metrics every run reports: ranking (roc_auc), probabilities (log_loss), decisions at ``threshold``."""
    from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc_score

    y_true = np.asarray(y_true)
    proba = np.asarray(proba, dtype=float)
    predicted = (proba >= threshold).astype(int)
    return {
        "accuracy": float(accuracy_score(y_true, predicted)),
        "roc_auc": float(roc_auc_score(y_true, proba)),
        "f1": float(f1_score(y_true, predicted, zero_division=0)),
        "precision": float(precision_score(y_true, predicted, zero_division=0)),
        "recall": float(recall_score(y_true, predicted, zero_division=0)),
        "log_loss": float(log_loss(y_true, proba, labels=[0, 1])),
    }
