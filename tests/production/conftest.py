"""Fixtures for production mode: a real PostgreSQL and real MLflow tracking servers on it.

- ``postgres_uri`` (session): the admin URI of a PostgreSQL cluster: ``LLMOPS_TEST_POSTGRES_URI`` when set (CI
  starts one), else a throwaway local cluster started here (~2 s).
- ``new_database`` (session): ``new_database(prefix="t") -> uri`` of a fresh, empty database; all are dropped at
  the end of the session.
- ``mlflow_server_factory`` (session): ``mlflow_server_factory(backend_store_uri=None, workers=1, app="llmops") ->
  TrackingServer`` started on a fresh database (or the one given), with its own artifacts folder; ``.url``,
  ``.kill()`` (SIGKILL), ``.start()`` (again, same port and database), ``.stop()``. All are stopped at the end of
  the session. ``app="llmops"`` is what ``llmops server`` runs (MLflow's server plus llmops' batch endpoint);
  ``app=None`` is MLflow's server as shipped.
- ``mlflow_server`` (session): the ``llmops server`` the tests share; ``server_tracking`` (module) also points
  ``LLMOPS_TRACKING_URI`` / ``MLFLOW_TRACKING_URI`` / MLflow at it and restores the previous store afterwards.
- ``plain_mlflow_server`` (session): MLflow's server as shipped, for what must work on any MLflow server.
- ``basic_auth`` (function): the environment MLflow's basic-auth app needs (its user database in the test's
  folder, an admin password, a secret key); returns the admin password. Start the server after it.

A server costs ~17-40 s to start on this machine (``import mlflow`` plus the migrations of a new database):
share ``mlflow_server``, and start another only to test what needs it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from llmops.server import TrackingServer, create_database, drop_database, start_postgres, start_tracking_server

POSTGRES_URI_ENV = "LLMOPS_TEST_POSTGRES_URI"
_TRACKING_ENV = ("LLMOPS_TRACKING_URI", "MLFLOW_TRACKING_URI")


@pytest.fixture(autouse=True)
def _restore_tracking_uri():
    """setup() points MLflow at a server (maybe one that asks for credentials) and an experiment of it: every test
    after a production test finds the store and the active experiment it had."""
    import mlflow
    from mlflow.tracking.fluent import _get_experiment_id

    previous_uri, previous_experiment = mlflow.get_tracking_uri(), _get_experiment_id()
    yield
    mlflow.set_tracking_uri(previous_uri)
    if previous_experiment is not None:
        mlflow.set_experiment(experiment_id=previous_experiment)


@pytest.fixture(scope="session")
def postgres_uri() -> Iterator[str]:
    """The admin URI (``postgresql://user@host:port/postgres``) of the cluster the production tests use."""
    given = os.environ.get(POSTGRES_URI_ENV, "").strip()
    if given:
        yield given
        return
    cluster = start_postgres(durable=False)
    try:
        yield cluster.uri
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def new_database(postgres_uri: str) -> Iterator[Callable[..., str]]:
    """``new_database(prefix="t") -> uri``: a fresh, empty database on the test cluster, dropped at session end."""
    created: list[str] = []

    def make(prefix: str = "t") -> str:
        name = f"llmops_{prefix}_{uuid.uuid4().hex[:12]}"
        uri = create_database(postgres_uri, name)
        created.append(name)
        return uri

    yield make
    for name in created:
        drop_database(postgres_uri, name)


@pytest.fixture(scope="session")
def mlflow_server_factory(new_database, tmp_path_factory) -> Iterator[Callable[..., TrackingServer]]:
    """``mlflow_server_factory(backend_store_uri=None, workers=1, app="llmops") -> TrackingServer``, answering."""
    servers: list[TrackingServer] = []

    def make(backend_store_uri: str | None = None, *, workers: int = 1, app: str | None = "llmops") -> TrackingServer:
        uri = backend_store_uri or new_database("mlflow")
        server = start_tracking_server(uri, tmp_path_factory.mktemp("mlartifacts"), workers=workers, app=app)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def mlflow_server(mlflow_server_factory) -> Iterator[TrackingServer]:
    """The tracking server the production tests share (on a fresh database): each test uses experiments and
    model names of its own. A test may kill and restart it (same port, same database)."""
    server = mlflow_server_factory()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def plain_mlflow_server(mlflow_server_factory) -> Iterator[TrackingServer]:
    """MLflow's tracking server as shipped (no ``--app-name``), on a fresh database."""
    server = mlflow_server_factory(app=None)
    yield server
    server.stop()


@pytest.fixture
def basic_auth(tmp_path, monkeypatch) -> str:
    """Environment for ``mlflow_server_factory(app="basic-auth" or "llmops-basic-auth")``; the admin's password."""
    password = "Adm1n-pass-for-the-test-9f2c"
    auth_ini = tmp_path / "basic_auth.ini"
    auth_ini.write_text(
        "[mlflow]\ndefault_permission = READ\n"
        f"database_uri = sqlite:///{tmp_path / 'basic_auth.db'}\n"
        "admin_username = admin\nauthorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    monkeypatch.setenv("MLFLOW_AUTH_CONFIG_PATH", str(auth_ini))
    monkeypatch.setenv("MLFLOW_AUTH_ADMIN_PASSWORD", password)
    monkeypatch.setenv("MLFLOW_FLASK_SERVER_SECRET_KEY", "test-secret-key")
    return password


@pytest.fixture(scope="module")
def server_tracking(mlflow_server: TrackingServer) -> Iterator[TrackingServer]:
    """The module's server, made the tracking store of this process (environment and MLflow) for the module."""
    import mlflow

    previous_env = {name: os.environ.get(name) for name in _TRACKING_ENV}
    previous_uri = mlflow.get_tracking_uri()
    for name in _TRACKING_ENV:
        os.environ[name] = mlflow_server.url
    mlflow.set_tracking_uri(mlflow_server.url)
    yield mlflow_server
    for name, value in previous_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    mlflow.set_tracking_uri(previous_uri)
