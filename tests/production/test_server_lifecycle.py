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
        (("--postgres-dir", "pg", "--plain", "--basic-auth"), "--plain and --basic-auth exclude each other"),
    ],
)
def test_llmops_server_refuses_a_missing_or_foreign_database_before_starting_anything(args, message):
    from typer.testing import CliRunner

    from llmops.cli import app

    result = CliRunner().invoke(app, ["server", *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "s3cret" not in result.output  # a password never reaches the terminal


def test_llmops_server_runs_postgresql_and_mlflow_with_the_batch_endpoint_until_stopped(tmp_path):
    """README's production command, as a user runs it: `llmops server --postgres-dir DIR` prints where the server
    is, the server answers (UI, REST API, llmops' batch endpoint), and `kill` stops both it and PostgreSQL."""
    import json
    import re
    import shutil
    import signal
    import subprocess
    import sys
    import tempfile
    import threading
    import time

    pg_dir = Path(tempfile.mkdtemp(prefix="llmops-server-cli-"))  # under /tmp: PostgreSQL's user can reach it
    lines: list[str] = []
    process = subprocess.Popen(
        [sys.executable, "-m", "llmops.cli", "server", "--postgres-dir", str(pg_dir), "--port", "0",
         "--artifacts-dir", str(tmp_path / "artifacts")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 300
        url = None
        while url is None:
            assert process.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            found = re.search(r"export LLMOPS_TRACKING_URI=(http://127\.0\.0\.1:\d+)", "".join(lines))
            url = found.group(1) if found else None
            time.sleep(0.2)
        assert "trace-batch endpoint" in "".join(lines)
        assert urllib.request.urlopen(url + "/health", timeout=30).status == 200
        assert b"<html" in urllib.request.urlopen(url + "/", timeout=30).read().lower()  # the MLflow UI
        request = urllib.request.Request(
            url + "/api/2.0/llmops/traces/batch", data=json.dumps({"format": 1, "traces": []}).encode(),
            headers={"Content-Type": "application/json"}, method="POST",
        )  # fmt: skip
        assert json.loads(urllib.request.urlopen(request, timeout=30).read())["stored"] == []
    finally:
        process.send_signal(signal.SIGTERM)  # what Ctrl-C or `kill` does
        code = process.wait(60)
        reader.join(10)
    try:
        assert code == 0, "".join(lines)
        assert "stopping" in "".join(lines)
        assert not (pg_dir / "postmaster.pid").exists(), "PostgreSQL still runs after the command ended"
        with pytest.raises(OSError):
            urllib.request.urlopen(url + "/health", timeout=5)
    finally:
        shutil.rmtree(pg_dir, ignore_errors=True)
