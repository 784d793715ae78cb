"""Fixtures for the churn tests: the real IBM CSV, variants of it with one planted fault, a local HTTP server,
and training runs made once per session on the real data in the session's SQLite store."""

from __future__ import annotations

import functools
import http.server
import itertools
import threading
from pathlib import Path

import pytest

# tests/conftest.py's SHARED_DATA (test folders have no __init__.py, so it is not importable from here).
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
TELCO_CSV = SHARED_DATA / "telco_churn.csv"
_names = itertools.count()


@pytest.fixture(scope="session")
def telco_csv() -> Path:
    if not TELCO_CSV.is_file():
        pytest.fail(f"the churn tests read the real data at {TELCO_CSV} (see ../shared/data/SOURCES.md)")
    return TELCO_CSV


@pytest.fixture
def variant(tmp_path, telco_csv):
    """``variant(edit)`` writes a copy of the real CSV changed by ``edit(lines) -> lines`` and returns its path
    (``lines[0]`` is the header, ``lines[n]`` the n-th customer)."""

    def make(edit, name: str = "variant.csv") -> Path:
        lines = telco_csv.read_text().splitlines()
        path = tmp_path / name
        path.write_text("\n".join(edit(lines)) + "\n")
        return path

    return make


@pytest.fixture
def http_server(tmp_path):
    """A real HTTP server on 127.0.0.1 (ephemeral port) serving ``tmp_path/www``; yields (base_url, folder, hits)."""
    folder = tmp_path / "www"
    folder.mkdir()
    hits: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            hits.append(self.path)
            super().do_GET()

        def log_message(self, *args):  # keep the test output clean
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder, hits
    server.shutdown()
    server.server_close()


def new_experiment(artifacts: Path) -> str:
    """A fresh experiment whose artifacts live under ``artifacts`` (never in the working folder)."""
    import mlflow

    name = f"churn-test-{next(_names)}-{artifacts.name}"
    mlflow.create_experiment(name, artifact_location=artifacts.resolve().as_uri())
    return name


@pytest.fixture
def experiment(session_store, tmp_path, monkeypatch) -> str:
    """A fresh experiment in the session store, selected for the CLI through CHURN_EXPERIMENT; cwd is tmp_path."""
    monkeypatch.chdir(tmp_path)
    name = new_experiment(tmp_path / "artifacts")
    monkeypatch.setenv("CHURN_EXPERIMENT", name)
    return name


@pytest.fixture(scope="session")
def trained(session_store, telco_csv, tmp_path_factory) -> dict[str, str]:
    """One LogisticRegression and one RandomForest training run (defaults, real data), in that order."""
    from churn.train import TrainParams, train

    name = new_experiment(tmp_path_factory.mktemp("trained-artifacts"))
    runs = {model: train(TrainParams(model=model), data=telco_csv, experiment=name) for model in ("lr", "rf")}
    return {"experiment": name, **runs}


@pytest.fixture(scope="session")
def evaluations(trained, telco_csv) -> dict[str, str]:
    """An evaluation run of each of the session's training runs (``lr``, ``rf``): the latest one if another
    test (Module 1's) made it already, else a new one."""
    from mlflow.tracking import MlflowClient

    from churn.evaluate import evaluate

    client = MlflowClient()
    out = {}
    for model in ("lr", "rf"):
        run_id = trained[model]
        experiment_id = client.get_run(run_id).info.experiment_id
        runs = client.search_runs(
            [experiment_id],
            f"tags.stage = 'evaluate' AND tags.training_run_id = '{run_id}' AND attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        out[model] = runs[0].info.run_id if runs else evaluate(run_id, data=telco_csv, experiment=trained["experiment"])
    return out
