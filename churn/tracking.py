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
PROJECT_RUN_TAG = "project_run_id"  # on a run made under `mlflow run`: the run MLflow created for the project
GIT_COMMIT_TAG = "mlflow.source.git.commit"
PARENT_RUN_TAG = "mlflow.parentRunId"

# Under `mlflow run`, MLflow creates a run for the project (its entry point, parameters, git commit) in the
# experiment *it* was given and hands it to the command as MLFLOW_RUN_ID. The churn stages keep their own runs
# in the churn experiment (where `churn compare` and `churn evaluate` look) and link them to that project run.
_project_run: dict[str, str | None] = {"id": None, "experiment": None, "parent": None}


def configure_store(tracking_uri: str | None = None) -> None:
    """Point MLflow at the configured tracking store (and registry) without choosing an experiment."""
    import mlflow

    from llmops.settings import get_settings

    # Artifact downloads (loading a logged model) draw a progress bar per file; noise in a terminal lesson.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(tracking_uri or get_settings().tracking_uri)
    _adopt_project_run()


def configure(tracking_uri: str | None = None, experiment: str | None = None) -> str:
    """Point MLflow at the configured store and experiment (created if missing); return the experiment id."""
    import mlflow

    from llmops.settings import get_settings

    configure_store(tracking_uri)
    experiment_id = mlflow.set_experiment(experiment or get_settings().churn_experiment).experiment_id
    # Nested in the UI only when both live in the same experiment (`mlflow run --experiment-name churn`).
    same = _project_run["id"] and _project_run["experiment"] == experiment_id
    _project_run["parent"] = _project_run["id"] if same else None
    return experiment_id


def _adopt_project_run() -> None:
    """Take MLFLOW_RUN_ID out of the environment (else the next ``start_run`` would resume the project run
    instead of starting the stage's own run) and remember it, so the stage runs can point at it."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    run_id = os.environ.pop("MLFLOW_RUN_ID", None)
    if not run_id:
        return
    try:
        experiment_id = MlflowClient().get_run(run_id).info.experiment_id
    except MlflowException:  # created in another tracking store: nothing to link to here
        return
    _project_run.update(id=run_id, experiment=experiment_id)


def project_run_id() -> str | None:
    """The run `mlflow run` created for this process, if any (see :func:`configure`)."""
    return _project_run["id"]


def report_to_project_run(tags: dict[str, object], metrics: dict[str, float] | None = None) -> None:
    """Record what a stage produced on the project run of `mlflow run` (no-op outside `mlflow run`)."""
    from mlflow.tracking import MlflowClient

    run_id = project_run_id()
    if run_id is None:
        return
    client = MlflowClient()
    for key, value in tags.items():
        if value is not None:
            client.set_tag(run_id, key, str(value))
    for key, value in (metrics or {}).items():
        client.log_metric(run_id, key, value)


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
    if _project_run["id"]:
        tags[PROJECT_RUN_TAG] = _project_run["id"]
    if _project_run["parent"]:
        tags[PARENT_RUN_TAG] = _project_run["parent"]
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
