"""Stage 3, evaluation: load a training run's logged model, score it on its held-out split, keep the evidence.

The evaluation is its own run (``Evaluate_Run``) linked to the training run it judges (tag and param
``training_run_id``). It re-creates the held-out split from the training run's own ``test_size`` and
``split_seed`` and refuses a data file whose sha256 differs from the one the model was trained on, so the
customers it scores are exactly the ones the model never saw. It loads the model from the tracking store
(not from memory), which also proves the logged artifact works.

Logged: the metrics below (also linked to the logged model and the held-out dataset) and five charts:
``roc_curve.png``, ``pr_curve.png``, ``confusion_matrix.png``, ``calibration.png``, ``feature_importance.png``.

Run it as ``uv run churn/evaluate.py [--run-id ID]`` or ``uv run churn evaluate [--run-id ID]``.
"""

from __future__ import annotations

from pathlib import Path

from churn.errors import ChurnDataError, ChurnError
from churn.metrics import scores

PLOTS = ("roc_curve.png", "pr_curve.png", "confusion_matrix.png", "calibration.png", "feature_importance.png")


def evaluate(
    run_id: str | None = None,
    *,
    data: str | Path | None = None,
    experiment: str | None = None,
    tracking_uri: str | None = None,
    threshold: float = 0.5,
) -> str:
    """Evaluate training run ``run_id`` (default: the latest one) and return the evaluation run's id."""
    import mlflow
    import mlflow.sklearn
    from sklearn.metrics import average_precision_score, brier_score_loss

    from churn import loader, plots, tracking
    from churn.train import model_uri

    if not 0 < threshold < 1:
        raise ChurnError(f"threshold must be between 0 and 1, not {threshold}.")
    experiment_id = tracking.configure(tracking_uri, experiment)
    run_id = run_id or tracking.latest_training_run(experiment_id)
    training_run = tracking.get_training_run(run_id)
    trained_on = training_run.data.params

    df = loader.load(data)
    if trained_on.get("data_sha256") not in (None, df.attrs["sha256"]):
        raise ChurnDataError(
            f"{df.attrs['source']} is not the file training run {run_id} was trained on (its sha256 differs), so "
            "its held-out split would not be held out: pass the same --data as for training."
        )
    _, test_df = loader.split(df, float(trained_on["test_size"]), int(trained_on["split_seed"]))
    X_test, y_test = loader.features(test_df), loader.target(test_df).to_numpy()

    model_outputs = training_run.outputs.model_outputs if training_run.outputs else []
    model_id = model_outputs[0].model_id if model_outputs else None
    uri = f"models:/{model_id}" if model_id else model_uri(run_id)
    try:
        pipeline = mlflow.sklearn.load_model(uri)
    except Exception as exc:  # noqa: BLE001 - any failure here means the same thing to the user
        raise ChurnError(f"could not load the model of training run {run_id} from {uri}: {exc}") from None
    proba = pipeline.predict_proba(X_test)[:, 1]

    family = training_run.data.tags.get(tracking.FAMILY_TAG, trained_on.get("model", "model"))
    metrics = scores(y_test, proba, threshold)
    metrics["average_precision"] = float(average_precision_score(y_test, proba))
    metrics["brier_score"] = float(brier_score_loss(y_test, proba))

    # Next to the run it judges, whichever experiment is configured now.
    with mlflow.start_run(run_name=tracking.EVALUATE_RUN_NAME, experiment_id=training_run.info.experiment_id) as run:
        mlflow.set_tags(
            {
                **tracking.run_tags("evaluate", family),
                tracking.TRAINING_RUN_TAG: run_id,
                "mlflow.note.content": (
                    f"Evaluation of training run `{run_id}` ({family}) on its held-out split: "
                    f"{len(test_df):,} customers, test_size {trained_on['test_size']}, "
                    f"split_seed {trained_on['split_seed']}."
                ),
            }
        )
        mlflow.log_params(
            {
                "training_run_id": run_id,
                "model": trained_on.get("model"),
                "threshold": threshold,
                "test_size": trained_on["test_size"],
                "split_seed": trained_on["split_seed"],
            }
        )
        test_dataset = tracking.dataset(test_df, "telco_churn-test", df.attrs["source"])
        mlflow.log_input(test_dataset, context="evaluation")
        mlflow.log_metrics(metrics, model_id=model_id, dataset=test_dataset)
        figures = {
            "roc_curve.png": plots.roc_curve(y_test, proba, family),
            "pr_curve.png": plots.pr_curve(y_test, proba, family, threshold),
            "confusion_matrix.png": plots.confusion_matrix(y_test, proba, threshold),
            "calibration.png": plots.calibration(y_test, proba, family),
            "feature_importance.png": plots.feature_importance(pipeline, family),
        }
        for name, figure in figures.items():
            mlflow.log_figure(figure, name)
    return run.info.run_id


if __name__ == "__main__":
    import os
    import sys

    # Run as a file, this is the `churn evaluate` command: the process becomes that command, so the stage module
    # never depends on the CLI built on top of it.
    os.execv(sys.executable, [sys.executable, "-m", "churn.cli", "evaluate", *sys.argv[1:]])
