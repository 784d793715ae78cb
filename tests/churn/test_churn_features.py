"""The model's preprocessing step: what scikit-learn's ColumnTransformer computes, and a logged model that loads
where the repository is not installed (the scoring server's and the Docker image's situation)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from churn import loader
from churn.features import TelcoFeatures


@pytest.fixture(scope="module")
def frames(telco_csv):
    df = loader.load(telco_csv)
    train_df, test_df = loader.split(df)
    return loader.features(train_df), loader.features(test_df)


def test_it_computes_what_column_transformer_computes(frames):
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X_train, X_test = frames
    reference = ColumnTransformer(
        [("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), list(loader.CATEGORICAL)),
         ("numeric", StandardScaler(), list(loader.NUMERIC))],
        verbose_feature_names_out=False,
    ).fit(X_train)  # fmt: skip
    ours = TelcoFeatures(loader.CATEGORICAL, loader.NUMERIC).fit(X_train)
    assert list(ours.get_feature_names_out()) == list(reference.get_feature_names_out())
    for X in (X_test, X_test.iloc[[3]], X_train):
        np.testing.assert_allclose(ours.transform(X), reference.transform(X), rtol=0, atol=1e-12)
    # a value never seen in training encodes as all zeros, as handle_unknown="ignore" does
    odd = X_test.iloc[[0]].assign(Contract="Three year")
    np.testing.assert_allclose(ours.transform(odd), reference.transform(odd), rtol=0, atol=1e-12)
    assert ours.transform(X_test.iloc[:0]).shape == (0, len(ours.get_feature_names_out()))


def test_a_missing_column_is_named(frames):
    X_train, X_test = frames
    ours = TelcoFeatures(loader.CATEGORICAL, loader.NUMERIC).fit(X_train)
    with pytest.raises(ValueError, match=r"columns are missing: \['Contract', 'tenure'\]"):
        ours.transform(X_test.drop(columns=["Contract", "tenure"]))


def test_a_logged_model_loads_without_the_repository(trained, tmp_path):
    """The model carries churn/features.py (code_paths) and trusts it (skops): a Python that cannot import the
    repository's churn package still loads and scores it, as the Docker image does."""
    import mlflow

    local = mlflow.artifacts.download_artifacts(artifact_uri=f"runs:/{trained['lr']}/model", dst_path=str(tmp_path))
    assert (tmp_path / "model" / "code" / "churn" / "features.py").is_file()
    example = json.loads((tmp_path / "model" / "input_example.json").read_text())
    script = textwrap.dedent(f"""
        import importlib.util, json, sys
        sys.path[:] = [p for p in sys.path if "site-packages" in p or "/lib/python3" in p]
        sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__name__.lower()]
        assert importlib.util.find_spec("churn") is None, "the repository is importable"
        import mlflow.pyfunc, pandas as pd
        model = mlflow.pyfunc.load_model({local!r})
        example = json.loads({json.dumps(example)!r})
        print(json.dumps([int(p) for p in model.predict(pd.DataFrame(example["data"], columns=example["columns"]))]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    expected = mlflow.pyfunc.load_model(local).predict(loader.features(_frame(example)))
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [int(p) for p in expected]


def _frame(example):
    import pandas as pd

    return pd.DataFrame(example["data"], columns=example["columns"])
