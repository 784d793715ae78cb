"""``llmops server``: MLflow's tracking server on PostgreSQL with proxied artifacts (and llmops' trace-batch endpoint),
in the foreground."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Optional

import typer

from llmops.cli.common import console, err_console, fail, user_errors

DATABASE = "mlflow"


def server(
    backend_store_uri: Optional[str] = typer.Option(
        None, "--backend-store-uri", help="A running PostgreSQL database: postgresql://user[:password]@host:port/db."
    ),
    postgres_dir: Optional[Path] = typer.Option(
        None, "--postgres-dir", help="Run a local development PostgreSQL in this folder (created with initdb when "
        "empty) and keep MLflow's data in its database 'mlflow'.",
    ),
    artifacts_dir: Path = typer.Option(
        Path("mlartifacts"), "--artifacts-dir", help="Where the server stores artifacts it proxies (models, files)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind; 0.0.0.0 exposes the server to the network."),
    port: int = typer.Option(5000, "--port", min=0, max=65535, help="Server port (0: any free port)."),
    postgres_port: int = typer.Option(0, "--postgres-port", min=0, max=65535, help="Port of the local PostgreSQL (0: any free port)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Server worker processes (each adds ~10 s to start-up)."),
    plain: bool = typer.Option(
        False, "--plain", help="MLflow's server as shipped, without llmops' trace-batch endpoint (traces then go "
        "through MLflow's OTLP API, ~3x slower).",
    ),
    basic_auth: bool = typer.Option(
        False, "--basic-auth", help="MLflow's users and permissions (its basic-auth app), with the batch endpoint; "
        "needs MLFLOW_FLASK_SERVER_SECRET_KEY and, the first time, MLFLOW_AUTH_ADMIN_PASSWORD.",
    ),
) -> None:
    """Start MLflow's tracking server on PostgreSQL (proxied artifacts) and run until Ctrl-C.

    Give a database with --backend-store-uri, or --postgres-dir for a local development cluster. Prints the
    server's URL and the lines that point llmops at it. Start-up takes ~20-40 s (MLflow's import and, on a new
    database, its schema migrations). The server is `mlflow server --app-name llmops`: everything MLflow serves,
    plus one endpoint storing many traces per request.
    """
    from llmops.server import start_postgres, start_tracking_server
    from llmops.server.postgres import redact_uri

    if (backend_store_uri is None) == (postgres_dir is None):
        fail("name the database: --backend-store-uri postgresql://... or --postgres-dir DIR (a local cluster).", 2)
    if plain and basic_auth:
        fail("--plain and --basic-auth exclude each other (MLflow's server runs one app).", 2)
    if backend_store_uri is not None and not backend_store_uri.startswith(("postgresql://", "postgresql+", "postgres://")):
        fail(f"--backend-store-uri must be a PostgreSQL URI (postgresql://...), not {redact_uri(backend_store_uri)}", 2)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the server as cleanly as Ctrl-C
    cluster = tracking = None
    with user_errors():
        try:
            if postgres_dir is not None:
                console.print(f"starting PostgreSQL in {postgres_dir} ...")
                cluster = start_postgres(postgres_dir, port=postgres_port)
                backend_store_uri = cluster.create_database(DATABASE, exist_ok=True)
            console.print("starting the MLflow tracking server (~20-40 s) ...")
            tracking = start_tracking_server(
                backend_store_uri, artifacts_dir, port=port, host=host, workers=workers,
                app=None if plain else "llmops-basic-auth" if basic_auth else "llmops",
            )  # fmt: skip
            _announce(tracking.url, backend_store_uri, artifacts_dir, host, tracking.startup_seconds, tracking.app)
            while tracking.running:
                time.sleep(0.5)
            err_console.print(f"[bold red]error:[/] the MLflow server stopped on its own (exit code "
                              f"{tracking.process.returncode if tracking.process else '?'}); see its log above.")  # fmt: skip
            raise typer.Exit(1)
        except KeyboardInterrupt:
            console.print("stopping ...")
        finally:
            if tracking is not None:
                tracking.stop()
            if cluster is not None:
                cluster.stop()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _announce(
    url: str, backend_store_uri: str, artifacts_dir: Path, host: str, seconds: float, app: str | None
) -> None:
    from llmops.server.postgres import redact_uri

    authenticated = bool(app and "basic-auth" in app)
    console.print(f"MLflow tracking server ready in {seconds:.0f} s: [bold]{url}[/] (UI and REST API)")
    if app:
        console.print("  with llmops' trace-batch endpoint (many traces per request)")
    if authenticated:
        console.print("  with MLflow's users and permissions: set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD")
    console.print(f"  backend store: {redact_uri(backend_store_uri)}; artifacts: {artifacts_dir.absolute()}")
    if host not in ("127.0.0.1", "localhost", "::1") and not authenticated:
        console.print(f"  [yellow]bound to {host}: reachable from the network, with no authentication[/]")
    console.print("Point llmops (and MLflow) at it, in another shell:")
    console.print(f"  export LLMOPS_TRACKING_URI={url}", highlight=False, soft_wrap=True)
    if redact_uri(backend_store_uri) == backend_store_uri:
        console.print(f"  export LLMOPS_BACKEND_STORE_URI={backend_store_uri}   # optional: the analysis reads the "
                      "database directly (fast)", highlight=False, soft_wrap=True)  # fmt: skip
    else:
        console.print("  export LLMOPS_BACKEND_STORE_URI=<your --backend-store-uri>   # optional: faster analysis",
                      highlight=False, soft_wrap=True)  # fmt: skip
    console.print("Ctrl-C stops what this command started.")
