"""Where runs go and how they are found again: tracking URI, experiment, run names, tags, the git commit.

Every stage calls :func:`configure` first: the tracking URI comes from ``llmops.settings`` (default
``sqlite:///mlflow.db`` in the working folder) and is set here, at run time, never at import time.
"""

from __future__ import annotations

import os
import subprocess
import warnings
from pathlib import Path

from churn.errors import ChurnError

TRAIN_RUN_NAME = "Training_Run"
EVALUATE_RUN_NAME = "Evaluate_Run"

#: Tags every churn run carries, so the stages can find each other's runs with a search filter.
STAGE_TAG = "stage"  # "train" or "evaluate"
FAMILY_TAG = "model_family"  # "logistic_regression" or "random_forest"
TRAINING_RUN_TAG = "training_run_id"  # on an evaluation run: the training run it evaluated
GIT_COMMIT_TAG = "mlflow.source.git.commit"


def configure(tracking_uri: str | None = None, experiment: str | None = None) -> str:
    """Point MLflow at the configured store and experiment (created if missing); return the experiment id."""
    import mlflow

    from llmops.settings import get_settings

    settings = get_settings()
    # Artifact downloads (loading a logged model) draw a progress bar per file; noise in a terminal lesson.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(tracking_uri or settings.tracking_uri)
    return mlflow.set_experiment(experiment or settings.churn_experiment).experiment_id


def git_commit() -> str | None:
    """The commit of the checkout this code runs from, or None (installed from a wheel, no git)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = result.stdout.strip()
    return commit or None


def run_tags(stage: str, family: str | None = None) -> dict[str, str]:
    tags = {STAGE_TAG: stage}
    if family:
        tags[FAMILY_TAG] = family
    commit = git_commit()
    if commit:
        tags[GIT_COMMIT_TAG] = commit
    return tags


def dataset(df, name: str, source: str):
    """The frame as an MLflow dataset (digest, schema, profile, source) to log with ``mlflow.log_input``."""
    import mlflow

    with warnings.catch_warnings():
        # Two hints that do not apply here: integer columns cannot hold missing values (the loader guarantees
        # there are none) and a local path "can be interpreted" as two equivalent source types.
        warnings.simplefilter("ignore", UserWarning)
        data = mlflow.data.from_pandas(df, source=source, name=name, targets="Churn")
        _ = data.schema  # inferred lazily (when logged) unless asked for here, inside the filter
    return data


def training_runs(experiment_id: str, max_results: int = 1000) -> list:
    """Finished training runs of the experiment, newest first."""
    from mlflow.tracking import MlflowClient

    return MlflowClient().search_runs(
        [experiment_id],
        filter_string=f"tags.{STAGE_TAG} = 'train' AND attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=max_results,
    )


def latest_training_run(experiment_id: str) -> str:
    runs = training_runs(experiment_id, max_results=1)
    if not runs:
        raise ChurnError("no finished training run in this experiment yet: run `churn train` first.")
    return runs[0].info.run_id


def get_training_run(run_id: str):
    """The training run ``run_id``; a clear error if it does not exist or is not a training run."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    try:
        run = MlflowClient().get_run(run_id)
    except MlflowException:
        raise ChurnError(f"no run with id {run_id!r} in the tracking store {_uri()}.") from None
    if run.data.tags.get(STAGE_TAG) != "train":
        raise ChurnError(f"run {run_id} is not a training run (its name is {run.info.run_name!r}).")
    return run


def _uri() -> str:
    import mlflow

    return mlflow.get_tracking_uri()
