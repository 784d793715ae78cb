"""llmops.server: the local PostgreSQL cluster, MLflow's tracking server on it, and `llmops server`'s refusals."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from llmops.server import PostgresError, create_database, start_postgres
from llmops.server.processes import free_port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=2) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def test_a_run_and_its_artifact_go_through_the_server_to_postgresql_and_its_artifacts_folder(mlflow_server):
    # (a crash and restart of this server, kill() then start(), is tested with traces in flight in test_writer_server)
    import psycopg
    from mlflow import MlflowClient

    assert _answers(mlflow_server.url)
    client = MlflowClient(mlflow_server.url)
    experiment_id = client.create_experiment("lifecycle")
    run = client.create_run(experiment_id)
    client.log_metric(run.info.run_id, "roc_auc", 0.84)
    client.log_text(run.info.run_id, "stored by the server", "notes/readme.txt")
    client.set_terminated(run.info.run_id)

    # proxied artifacts: the file lands in the server's artifacts folder, not in a client-side mlruns/
    assert [p.read_text() for p in mlflow_server.artifacts_dir.rglob("readme.txt")] == ["stored by the server"]
    with psycopg.connect(mlflow_server.backend_store_uri) as connection:
        stored = connection.execute(
            "SELECT value FROM latest_metrics WHERE run_uuid = %s AND key = 'roc_auc'", (run.info.run_id,)
        ).fetchall()
    assert stored == [(0.84,)]
    text = client.download_artifacts(run.info.run_id, "notes/readme.txt")
    assert Path(text).read_text() == "stored by the server"


def test_new_databases_are_empty_and_separate(postgres_uri, new_database):
    import psycopg

    first, second = new_database("a"), new_database("b")
    assert first != second
    with psycopg.connect(first) as connection:
        connection.execute("CREATE TABLE marker (x int)")
    with psycopg.connect(second) as connection:
        tables = connection.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
    assert tables == 0
    name = first.rsplit("/", 1)[1]
    with pytest.raises(PostgresError, match=f"database '{name}' already exists"):
        create_database(postgres_uri, name)


def test_clear_errors_for_a_bad_database_name_an_unreachable_server_and_a_foreign_folder(postgres_uri, tmp_path):
    with pytest.raises(PostgresError, match="database name 'Bad-Name'"):
        create_database(postgres_uri, "Bad-Name")
    port = free_port()
    with pytest.raises(PostgresError, match=f"cannot connect to PostgreSQL at postgresql://postgres@127.0.0.1:{port}/"):
        create_database(f"postgresql://postgres@127.0.0.1:{port}/postgres", "fine")
    (tmp_path / "notes.txt").write_text("not a cluster")
    with pytest.raises(PostgresError, match="neither empty nor a PostgreSQL data folder"):
        start_postgres(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "not a cluster"


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "name the database: --backend-store-uri postgresql://... or --postgres-dir DIR"),
        (("--backend-store-uri", "postgresql://u@h/db", "--postgres-dir", "pg"), "name the database"),
        (("--backend-store-uri", "sqlite:///mlflow.db"), "must be a PostgreSQL URI (postgresql://...), not sqlite:///mlflow.db"),
        (("--backend-store-uri", "mysql://app:s3cret@db/mlflow"), "not mysql://app:***@db/mlflow"),
    ],
)
def test_llmops_server_refuses_a_missing_or_foreign_database_before_starting_anything(args, message):
    from typer.testing import CliRunner

    from llmops.cli import app

    result = CliRunner().invoke(app, ["server", *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "s3cret" not in result.output  # a password never reaches the terminal
