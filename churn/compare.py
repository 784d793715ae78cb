"""Compare training runs from the terminal: the table the MLflow UI's "compare runs" view shows, best first."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from churn.errors import ChurnError
from churn.metrics import METRICS

PARAMS = ("model", "C", "max_iter", "n_estimators", "max_depth", "min_samples_leaf", "class_weight")


def compare_runs(
    *, experiment: str | None = None, tracking_uri: str | None = None, max_results: int = 1000
) -> pd.DataFrame:
    """One row per finished training run, sorted by ROC AUC (best first).

    Columns: ``run_id``, ``start_time``, ``description`` (e.g. ``rf max_depth=6``), the params in
    :data:`PARAMS` (empty where they do not apply) and the metrics in :data:`METRICS`.
    """
    from churn import tracking

    experiment_id = tracking.configure(tracking_uri, experiment)
    runs = tracking.training_runs(experiment_id, max_results=max_results)
    if not runs:
        raise ChurnError("no finished training run in this experiment yet: run `churn train` first.")
    rows = []
    for run in runs:
        params, metrics = run.data.params, run.data.metrics
        row = {
            "run_id": run.info.run_id,
            "start_time": pd.Timestamp(run.info.start_time, unit="ms"),
            "description": describe(params),
        }
        row.update({name: params.get(name, "") for name in PARAMS})
        row.update({name: metrics.get(name, float("nan")) for name in METRICS})
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.sort_values(["roc_auc", "start_time"], ascending=[False, False], ignore_index=True)


def describe(params: dict[str, str]) -> str:
    """A short label for a run: the model and the params that differ from the defaults."""
    from churn.train import LR_PARAMS, RF_PARAMS, TrainParams

    model = params.get("model", "?")
    defaults = TrainParams(model=model) if model in ("lr", "rf") else TrainParams()
    own = LR_PARAMS if model == "lr" else RF_PARAMS
    changed = [
        f"{name}={params[name]}"
        for name in (*own, "class_weight")
        if name in params and params[name] != str(getattr(defaults, name))
    ]
    return " ".join([model, *changed])


def defaults_text() -> str:
    """``lr C=1.0 max_iter=1000; rf n_estimators=100 ...``: what a run description leaves out."""
    from churn.train import LR_PARAMS, RF_PARAMS, TrainParams

    parts = []
    for model, own in (("lr", LR_PARAMS), ("rf", RF_PARAMS)):
        defaults = TrainParams(model=model)
        parts.append(" ".join([model, *(f"{name}={getattr(defaults, name)}" for name in own)]))
    return "; ".join(parts) + f"; class_weight={TrainParams().class_weight}"


def plot(table: pd.DataFrame, path: str | Path) -> Path:
    """Save the comparison chart (the best 12 runs) as a PNG and return its path."""
    from churn import plots

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plots.comparison(table).savefig(path)
    return path
