"""Shared fixtures: tracking stores on real SQLite files, offline by default.

Creating a SQLite MLflow store costs ~3 s (schema migrations), so most tests share the session store and
use their own experiment; ``tmp_store`` gives a test a store of its own when it counts rows, copied from a blank
store migrated once per session (a file copy instead of a migration).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Tests never reach the internet: force the offline backend and MLflow's offline guards before anything runs.
os.environ["LLMOPS_LLM_BACKEND"] = "offline"
os.environ.pop("OPENAI_API_KEY", None)
os.environ.pop("LLMOPS_LLM_BASE_URL", None)
from llmops.settings import apply_offline_guards  # noqa: E402

apply_offline_guards()

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def _use_store(uri: str) -> None:
    import mlflow

    os.environ["LLMOPS_TRACKING_URI"] = uri
    os.environ["MLFLOW_TRACKING_URI"] = uri
    mlflow.set_tracking_uri(uri)


@pytest.fixture(scope="session")
def session_store(tmp_path_factory) -> str:
    """One SQLite tracking store for the whole test session (tests use their own experiments in it)."""
    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    uri = f"sqlite:///{path}"
    _use_store(uri)
    return uri


@pytest.fixture(scope="session")
def blank_store_file(tmp_path_factory) -> Path:
    """A SQLite file holding a freshly migrated, empty MLflow store."""
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("blank-store") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()  # runs the schema migrations
    return path


@pytest.fixture
def tmp_store(tmp_path, blank_store_file, session_store, monkeypatch) -> str:
    """A fresh SQLite tracking store for one test; the session store is the tracking store again afterwards
    (never MLflow's default ./mlflow.db of the checkout, which restoring "no store" would create)."""
    import mlflow
    from mlflow.tracking.fluent import _get_experiment_id

    previous_uri, previous_experiment = mlflow.get_tracking_uri(), _get_experiment_id()
    shutil.copyfile(blank_store_file, tmp_path / "mlflow.db")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("LLMOPS_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    # Experiment ids belong to a store: the previous store's active experiment does not exist in this one
    # (traces sent there would be refused), so start from this store's Default experiment.
    mlflow.set_experiment(experiment_id="0")
    yield uri
    mlflow.set_tracking_uri(previous_uri)
    if previous_experiment is not None:
        mlflow.set_experiment(experiment_id=previous_experiment)


@pytest.fixture(scope="session")
def offline_llm():
    """The offline model served on 127.0.0.1 for the whole session, without faults; yields its base URL
    (``http://127.0.0.1:PORT/v1``, what ``openai.OpenAI(base_url=...)`` wants)."""
    from llmops.llm.server import OfflineLLM

    with OfflineLLM(faults="") as llm:
        yield llm.base_url
