"""Train a churn classifier and print how good it is: no MLflow yet.

    uv run src/train.py                      # LogisticRegression, C=1.0
    uv run src/train.py --C 0.5
    uv run src/train.py --model rf --max-depth 6

The model is saved to model.joblib for evaluate.py. Try three settings, then ask yourself: which params gave
the best ROC AUC, on which data, and where is that model now? That is the question MLflow answers (Module 1).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `uv run src/train.py` from the project folder

import joblib
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import loader

MODEL_FILE = Path(__file__).resolve().parents[1] / "model.joblib"


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


def main(argv: list[str] | None = None) -> None:
    params = params_of(parse_args(argv))
    df = loader.load()
    train_df, test_df = loader.split(df)
    pipeline = build_pipeline(params).fit(loader.features(train_df), train_df[loader.TARGET])
    metrics = scores(test_df[loader.TARGET], pipeline.predict_proba(loader.features(test_df))[:, 1])

    print("params :", params)
    for name, value in metrics.items():
        print(f"{name:>10} = {value:.4f}")
    joblib.dump(pipeline, MODEL_FILE)
    print(f"model saved to {MODEL_FILE.name} (overwriting the previous one)")


if __name__ == "__main__":
    main()
