"""Train a churn classifier and record the run in MLflow: params, metrics, datasets, the model.

    uv run src/train.py                      # LogisticRegression, C=1.0 -> run "Training_Run"
    uv run src/train.py --C 0.5
    uv run src/train.py --model rf --max-depth 6
    uv run mlflow ui                         # then open http://127.0.0.1:5000

The solution of the Module 1 exercise: the starter's train.py plus the lines marked `# MLflow`. It logs what
the course's `churn train` logs (same run name, params, metrics, datasets and model).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `uv run src/train.py` from the project folder

import mlflow
from mlflow.models import infer_signature
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import loader

# MLflow: where runs go. mlflow.db (the backend store: runs, params, metrics) and mlruns/ (the artifact store:
# models, charts) are created in the folder you run from. MLFLOW_TRACKING_URI points elsewhere (a server).
# Two MLflow hints that do not apply here (a local CSV is one kind of source; no input column can be missing),
# and no progress bars when a model is loaded back.
warnings.filterwarnings("ignore", message="The specified dataset source", category=UserWarning)
warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer", category=UserWarning)
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
TRACKING_URI = os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")
EXPERIMENT = os.environ.get("CHURN_EXPERIMENT", "churn")
RUN_NAME = "Training_Run"
FAMILIES = {"lr": "logistic_regression", "rf": "random_forest"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["lr", "rf"], default="lr")
    parser.add_argument("--C", type=float, default=1.0, help="lr: inverse regularisation strength")
    parser.add_argument("--max-iter", type=int, default=1000, help="lr")
    parser.add_argument("--n-estimators", type=int, default=100, help="rf")
    parser.add_argument("--max-depth", type=int, default=8, help="rf")
    parser.add_argument("--min-samples-leaf", type=int, default=5, help="rf")
    parser.add_argument("--class-weight", choices=["balanced"], default=None)
    return parser.parse_args(argv)


def params_of(args: argparse.Namespace) -> dict:
    """The params that decide this model (a forest has no C), plus the held-out split."""
    if args.model == "lr":
        own = {"C": args.C, "max_iter": args.max_iter}
    else:
        own = {
            "n_estimators": args.n_estimators, "max_depth": args.max_depth,
            "min_samples_leaf": args.min_samples_leaf, "random_state": 42,
        }  # fmt: skip
    return {
        "model": args.model, **own, "class_weight": args.class_weight,
        "test_size": loader.TEST_SIZE, "split_seed": loader.SPLIT_SEED,
    }  # fmt: skip


def build_pipeline(params: dict) -> Pipeline:
    preprocess = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), loader.CATEGORICAL),
            ("numeric", StandardScaler(), loader.NUMERIC),
        ]
    )
    if params["model"] == "lr":
        classifier = LogisticRegression(C=params["C"], max_iter=params["max_iter"], class_weight=params["class_weight"])
    else:
        classifier = RandomForestClassifier(
            n_estimators=params["n_estimators"], max_depth=params["max_depth"],
            min_samples_leaf=params["min_samples_leaf"], random_state=params["random_state"],
            class_weight=params["class_weight"], n_jobs=1,
        )  # fmt: skip
    return Pipeline([("preprocess", preprocess), ("classifier", classifier)])


def scores(y_true, proba, threshold: float = 0.5) -> dict[str, float]:
    predicted = (proba >= threshold).astype(int)
    return {
        "accuracy": accuracy_score(y_true, predicted),
        "roc_auc": roc_auc_score(y_true, proba),
        "f1": f1_score(y_true, predicted, zero_division=0),
        "precision": precision_score(y_true, predicted, zero_division=0),
        "recall": recall_score(y_true, predicted, zero_division=0),
        "log_loss": log_loss(y_true, proba, labels=[0, 1]),
    }


def main(argv: list[str] | None = None) -> str:
    params = params_of(parse_args(argv))
    df = loader.load()
    train_df, test_df = loader.split(df)
    X_train, y_train = loader.features(train_df), train_df[loader.TARGET]
    X_test, y_test = loader.features(test_df), test_df[loader.TARGET]

    mlflow.set_tracking_uri(TRACKING_URI)  # MLflow
    mlflow.set_experiment(EXPERIMENT)  # MLflow: created the first time
    with mlflow.start_run(run_name=RUN_NAME) as run:  # MLflow: everything below belongs to this run
        mlflow.set_tags({"stage": "train", "model_family": FAMILIES[params["model"]]})
        mlflow.log_params(
            {
                **params,
                "data_rows": len(df),
                "data_sha256": df.attrs["sha256"],
                "blank_total_charges_set_to_0": df.attrs["blank_total_charges"],
            }
        )
        # MLflow: which customers trained the model and which judged it (digest, schema, source).
        train_data = mlflow.data.from_pandas(train_df, source=df.attrs["source"], name="telco_churn-train", targets="Churn")
        test_data = mlflow.data.from_pandas(test_df, source=df.attrs["source"], name="telco_churn-test", targets="Churn")
        mlflow.log_input(train_data, context="training")
        mlflow.log_input(test_data, context="evaluation")

        pipeline = build_pipeline(params).fit(X_train, y_train)

        # MLflow: the fitted pipeline as a model (an artifact you can load again, serve, register).
        model_info = mlflow.sklearn.log_model(
            pipeline,
            name="model",
            signature=infer_signature(X_train, pipeline.predict(X_train)),
            input_example=X_train.head(5),
            pip_requirements=mlflow.sklearn.get_default_pip_requirements(include_skops=True),
        )
        metrics = scores(y_test, pipeline.predict_proba(X_test)[:, 1])
        mlflow.log_metrics(metrics, model_id=model_info.model_id, dataset=test_data)
        train_auc = roc_auc_score(y_train, pipeline.predict_proba(X_train)[:, 1])
        mlflow.log_metric("train_roc_auc", train_auc, model_id=model_info.model_id, dataset=train_data)

    print("params :", params)
    for name, value in metrics.items():
        print(f"{name:>10} = {value:.4f}")
    print(f"run {RUN_NAME} {run.info.run_id} logged to {TRACKING_URI} (experiment {EXPERIMENT})")
    return run.info.run_id


if __name__ == "__main__":
    main()
