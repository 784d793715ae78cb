"""Stage 2, training: fit a scikit-learn pipeline and record everything about it in one MLflow run.

The run (experiment ``churn``, run name ``Training_Run``) holds what a data scientist needs to compare it with
other runs and to reproduce it:

- params under their plain names (``model``, ``C``, ``max_iter``, ``class_weight``, ``n_estimators``,
  ``max_depth``, ...) plus the split (``test_size``, ``split_seed``) and the data (rows, sha256, blanks filled);
- metrics on the held-out split (``accuracy``, ``roc_auc``, ``f1``, ``precision``, ``recall``, ``log_loss``),
  also linked to the logged model and the held-out dataset, and ``train_roc_auc`` to spot over-fitting;
- the training and held-out splits as dataset inputs;
- tags: ``model_family``, ``stage``, and the git commit when there is one;
- the fitted pipeline as an MLflow model with a signature, an input example and explicit pip requirements.

Run it as ``uv run churn/train.py [options]`` or ``uv run churn train [options]`` (same options).
"""

from __future__ import annotations

import logging
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from churn import loader
from churn.errors import ChurnError

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

#: Short names on the command line, and the family each one belongs to (the ``model_family`` tag).
MODELS = {"lr": "logistic_regression", "rf": "random_forest"}
CLASS_WEIGHTS = (None, "balanced")

LR_PARAMS = ("C", "max_iter")
RF_PARAMS = ("n_estimators", "max_depth", "min_samples_leaf", "random_state")


@dataclass(frozen=True)
class TrainParams:
    """Everything that decides a training run; each field is logged under its own name when it applies."""

    model: str = "lr"
    # LogisticRegression
    C: float = 1.0
    max_iter: int = 1000
    # RandomForestClassifier (an unlimited depth over-fits this data: ROC AUC drops to about 0.82)
    n_estimators: int = 100
    max_depth: int | None = 8
    min_samples_leaf: int = 5
    random_state: int = 42
    # both
    class_weight: str | None = None
    # the held-out split, shared with evaluation
    test_size: float = loader.TEST_SIZE
    split_seed: int = loader.SPLIT_SEED

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ChurnError(f"unknown model {self.model!r}; use one of: {', '.join(MODELS)}.")
        if self.class_weight not in CLASS_WEIGHTS:
            raise ChurnError(f"class_weight must be None or 'balanced', not {self.class_weight!r}.")
        checks = [
            (self.C > 0, f"C must be > 0, not {self.C}"),
            (self.max_iter >= 1, f"max_iter must be >= 1, not {self.max_iter}"),
            (self.n_estimators >= 1, f"n_estimators must be >= 1, not {self.n_estimators}"),
            (self.max_depth is None or self.max_depth >= 1, f"max_depth must be >= 1 or None, not {self.max_depth}"),
            (self.min_samples_leaf >= 1, f"min_samples_leaf must be >= 1, not {self.min_samples_leaf}"),
            (0 < self.test_size < 1, f"test_size must be between 0 and 1, not {self.test_size}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ChurnError(message + ".")

    @property
    def family(self) -> str:
        return MODELS[self.model]

    def to_log(self) -> dict[str, object]:
        """The params that apply to this model (an RF run has no ``C``), under their plain names."""
        own = LR_PARAMS if self.model == "lr" else RF_PARAMS
        values = asdict(self)
        keep = ("model", *own, "class_weight", "test_size", "split_seed")
        return {name: values[name] for name in keep}


def build_pipeline(params: TrainParams) -> Pipeline:
    """One-hot the categoricals and scale the numbers (:class:`churn.features.TelcoFeatures`, what
    ``ColumnTransformer`` + ``OneHotEncoder`` + ``StandardScaler`` compute, fast enough for REST), then the
    classifier the params choose."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from churn.features import TelcoFeatures

    preprocess = TelcoFeatures(loader.CATEGORICAL, loader.NUMERIC)
    if params.model == "lr":
        classifier = LogisticRegression(C=params.C, max_iter=params.max_iter, class_weight=params.class_weight)
    else:
        classifier = RandomForestClassifier(
            n_estimators=params.n_estimators,
            max_depth=params.max_depth,
            min_samples_leaf=params.min_samples_leaf,
            class_weight=params.class_weight,
            random_state=params.random_state,
            n_jobs=1,
        )
    return Pipeline([("preprocess", preprocess), ("classifier", classifier)])


def train(
    params: TrainParams | None = None,
    *,
    data: str | Path | None = None,
    experiment: str | None = None,
    tracking_uri: str | None = None,
) -> str:
    """Train on the training split, log the run, return its run id.

    ``data`` is a CSV of the Telco schema (default: the cached IBM file, downloaded if missing);
    ``experiment`` and ``tracking_uri`` default to the settings (``churn``, ``sqlite:///mlflow.db``).
    """
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    from churn import tracking
    from churn.metrics import scores

    params = params or TrainParams()
    df = loader.load(data)
    train_df, test_df = loader.split(df, params.test_size, params.split_seed)
    X_train, y_train = loader.features(train_df), loader.target(train_df)
    X_test, y_test = loader.features(test_df), loader.target(test_df)

    tracking.configure(tracking_uri, experiment)
    with mlflow.start_run(run_name=tracking.TRAIN_RUN_NAME) as run:
        mlflow.set_tags(tracking.run_tags("train", params.family))
        mlflow.log_params(
            {
                **params.to_log(),
                "data_rows": len(df),
                "data_sha256": df.attrs["sha256"],
                "blank_total_charges_set_to_0": df.attrs["blank_total_charges"],
            }
        )
        source = df.attrs["source"]
        train_dataset = tracking.dataset(train_df, "telco_churn-train", source)
        mlflow.log_input(train_dataset, context="training")
        test_dataset = tracking.dataset(test_df, "telco_churn-test", source)
        mlflow.log_input(test_dataset, context="evaluation")

        pipeline = build_pipeline(params).fit(X_train, y_train)

        with quiet_model_logging(), model_code() as code_paths:
            model_info = mlflow.sklearn.log_model(
                pipeline,
                name="model",
                signature=infer_signature(X_train, pipeline.predict(X_train)),
                input_example=X_train.head(5),
                # Explicit requirements: inferring them costs ~8 s in a subprocess for the same answer.
                pip_requirements=model_requirements(),
                code_paths=code_paths,
                skops_trusted_types=trusted_types(params),
            )
        metrics = scores(y_test, pipeline.predict_proba(X_test)[:, 1])
        mlflow.log_metrics(metrics, model_id=model_info.model_id, dataset=test_dataset)
        train_auc = scores(y_train, pipeline.predict_proba(X_train)[:, 1])["roc_auc"]
        mlflow.log_metric("train_roc_auc", train_auc, model_id=model_info.model_id, dataset=train_dataset)
    return run.info.run_id


def trusted_types(params: TrainParams) -> list[str]:
    """The classes skops must be told to trust when it loads the model: ours (we wrote it) and, for a forest,
    scikit-learn's tree node arrays (we just fitted them). MLflow records the list in the model's MLmodel."""
    from churn.features import TRUSTED_TYPE

    return [TRUSTED_TYPE, *(["sklearn.tree._tree.Tree"] if params.model == "rf" else [])]


@contextmanager
def model_code() -> Iterator[list[str]]:
    """``code_paths`` for ``log_model``: a ``churn`` package holding only ``features.py``, so that the model
    loads wherever MLflow does (the scoring server, the Docker image) without this repository installed.

    MLflow puts the model's ``code/`` folder first on ``sys.path`` when it loads it; the real
    ``churn/__init__.py`` and this one both extend the package's path (``pkgutil.extend_path``), so a process
    that has loaded a model still imports every other ``churn`` module from the repository."""
    import shutil
    import tempfile

    from churn import features

    with tempfile.TemporaryDirectory(prefix="churn-model-code-") as tmp:
        package = Path(tmp) / "churn"
        package.mkdir()
        (package / "__init__.py").write_text(
            '"""The code a churn model needs to load (churn.features), shipped inside the model."""\n\n'
            "__path__ = __import__(\"pkgutil\").extend_path(__path__, __name__)\n"
        )
        shutil.copy(features.__file__, package / "features.py")
        yield [str(package)]


@contextmanager
def quiet_model_logging() -> Iterator[None]:
    """Hide two messages that do not apply: the predicted label is an integer column (it never misses a value),
    and a uv environment has no pip to pin in conda.yaml (the model's requirements.txt is what serving uses)."""
    environment_logger = logging.getLogger("mlflow.utils.environment")
    level = environment_logger.level
    environment_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
            yield
    finally:
        environment_logger.setLevel(level)


def model_requirements() -> list[str]:
    """What a served model needs: scikit-learn and skops (MLflow's safe default format), pinned as installed."""
    import mlflow.sklearn

    return mlflow.sklearn.get_default_pip_requirements(include_skops=True)


def model_uri(run_id: str) -> str:
    """The URI of the model a training run logged (``runs:/<id>/model``)."""
    return f"runs:/{run_id}/model"


if __name__ == "__main__":
    import os
    import sys

    # Run as a file, this is the `churn train` command: the process becomes that command, so the stage module
    # never depends on the CLI built on top of it.
    os.execv(sys.executable, [sys.executable, "-m", "churn.cli", "train", *sys.argv[1:]])
