"""A local PostgreSQL cluster for development and tests, and fresh databases on any cluster.

::

    cluster = start_postgres()                 # throwaway: a temporary folder, a free port, removed at exit
    uri = cluster.create_database("mlflow")    # postgresql://postgres@127.0.0.1:<port>/mlflow
    ...
    cluster.stop()

The cluster uses Debian's server binaries (``/usr/lib/postgresql/<version>/bin``, else ``initdb`` on ``PATH``),
listens on 127.0.0.1 only, keeps its Unix socket inside its data folder, and trusts local connections: it is a
development cluster, not a production database (use ``compose.yaml`` or a managed PostgreSQL for that). PostgreSQL
refuses to run as root, so as root the binaries run as the ``postgres`` user (``runuser -u postgres --``) and the
data folder is handed to that user; its parent folders must let ``postgres`` through.

Start-up costs ~1 s (initdb ~2 s the first time). ``durable=False`` turns fsync off, for tests.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from llmops.errors import UserError
from llmops.server.processes import LOCALHOST, free_port, port_in_use

SUPERUSER = "postgres"
_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresError(UserError):
    """The local cluster cannot be set up or started, or a database cannot be created; the message says why."""


def postgres_bin_dir() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``: Debian's newest ``/usr/lib/postgresql/<v>/bin``, else ``PATH``."""
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: _version_key(p.parent.parent.name))
    if debian:
        return debian[-1].parent
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    raise PostgresError(
        "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: install them (Debian/Ubuntu: "
        "`apt-get install postgresql`) or pass a running server's URI instead (--backend-store-uri postgresql://...)."
    )


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name)) or (0,)


def _as_postgres() -> list[str]:
    """The command prefix that runs a server binary as a user PostgreSQL accepts (root is refused)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise PostgresError(
            "PostgreSQL refuses to run as root and there is no `postgres` user to run it as: create one "
            "(`useradd --system postgres`) or run as another user."
        ) from None
    return ["runuser", "-u", SUPERUSER, "--"]


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(_as_postgres() + command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        output = (done.stderr.strip() or done.stdout.strip() or "(no output)").splitlines()[-1]
        raise PostgresError(f"{what} failed (exit {done.returncode}): {output}")


def _hand_to_postgres(folder: Path) -> None:
    """As root: make ``folder`` the ``postgres`` user's (mode 0700) and check that user can reach it."""
    if os.geteuid() != 0:
        folder.chmod(0o700)
        return
    entry = pwd.getpwnam(SUPERUSER)
    os.chown(folder, entry.pw_uid, entry.pw_gid)
    folder.chmod(0o700)
    reachable = subprocess.run(_as_postgres() + ["test", "-w", str(folder)], stdin=subprocess.DEVNULL)
    if reachable.returncode != 0:
        raise PostgresError(
            f"the `postgres` user cannot reach {folder}: one of its parent folders is closed to other users "
            "(mode 0700?). Choose a data folder under a readable parent, e.g. /var/tmp/llmops-postgres."
        )


@dataclass
class PostgresCluster:
    """A local cluster in ``data_dir`` served on ``host:port``; :attr:`uri` reaches its ``postgres`` database."""

    data_dir: Path
    port: int
    host: str = LOCALHOST
    durable: bool = True
    throwaway: bool = False  # a temporary data folder, removed by stop()
    _running: bool = field(default=False, repr=False)

    @property
    def uri(self) -> str:
        return self.database_uri(SUPERUSER)

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def database_uri(self, name: str) -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{name}"

    def create_database(self, name: str, *, exist_ok: bool = False) -> str:
        """Create the empty database ``name`` and return its URI (see :func:`create_database`)."""
        return create_database(self.uri, name, exist_ok=exist_ok)

    def start(self, timeout: float = 60.0) -> PostgresCluster:
        """Start the server and return once it accepts connections."""
        if self._running:
            return self
        if port_in_use(self.port, self.host):
            raise PostgresError(f"port {self.port} on {self.host} is already in use: choose another port.")
        options = {
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.data_dir),
            "max_connections": "300",  # each MLflow server worker pools up to 15 connections
        }
        if not self.durable:
            options.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        flags = " ".join(f"-c {key}={shlex.quote(value)}" for key, value in options.items())
        pg_ctl = str(postgres_bin_dir() / "pg_ctl")
        command = [pg_ctl, "start", "-D", str(self.data_dir), "-l", str(self.log_path), "-w", "-t", str(int(timeout)), "-o", flags]
        try:
            _run(command, f"starting PostgreSQL in {self.data_dir}")
        except PostgresError as exc:
            raise PostgresError(f"{exc} (server log: {self.log_path})") from None
        self._running = True
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown: open connections are closed); a throwaway cluster's folder is removed."""
        atexit.unregister(self.stop)
        if self._running:
            self._running = False
            pg_ctl = str(postgres_bin_dir() / "pg_ctl")
            subprocess.run(
                _as_postgres() + [pg_ctl, "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60"],
                capture_output=True, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        if self.throwaway:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_postgres(
    data_dir: str | Path | None = None, *, port: int = 0, durable: bool = True, timeout: float = 60.0
) -> PostgresCluster:
    """Start a local cluster in ``data_dir`` (created with ``initdb`` when empty) on 127.0.0.1:``port``.

    ``data_dir=None`` makes a throwaway cluster in a temporary folder, removed by :meth:`PostgresCluster.stop`
    (also at exit). ``port=0`` picks a free port. ``durable=False`` skips fsync (tests only: a machine crash can
    corrupt the cluster).
    """
    throwaway = data_dir is None
    folder = Path(tempfile.mkdtemp(prefix="llmops-postgres-")) if throwaway else Path(data_dir).expanduser().absolute()
    cluster = PostgresCluster(folder, port or free_port(), durable=durable, throwaway=throwaway)
    try:
        if not (folder / "PG_VERSION").is_file():
            init_cluster(folder, durable=durable)
        return cluster.start(timeout)
    except BaseException:
        if throwaway:
            shutil.rmtree(folder, ignore_errors=True)
        raise


def init_cluster(data_dir: Path, *, durable: bool = True) -> None:
    """``initdb`` a new cluster in ``data_dir`` (missing or empty): superuser ``postgres``, UTF-8, local trust."""
    if data_dir.exists() and any(data_dir.iterdir()):
        raise PostgresError(f"{data_dir} is neither empty nor a PostgreSQL data folder (no PG_VERSION): choose another.")
    data_dir.mkdir(parents=True, exist_ok=True)
    _hand_to_postgres(data_dir)
    command = [str(postgres_bin_dir() / "initdb"), "-D", str(data_dir), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-locale"]
    if not durable:
        command.append("--no-sync")
    _run(command, f"initdb in {data_dir}")


def _with_database(uri: str, name: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _connect(uri: str):
    import psycopg

    try:
        # autocommit: CREATE/DROP DATABASE cannot run inside a transaction
        return psycopg.connect(uri, connect_timeout=10, autocommit=True)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PostgresError(f"cannot connect to PostgreSQL at {redact_uri(uri)}: {reason}") from None


def create_database(admin_uri: str, name: str, *, exist_ok: bool = False) -> str:
    """Create the empty database ``name`` on the cluster ``admin_uri`` reaches; return the new database's URI.

    ``name`` is lower-case letters, digits and underscores (no quoting surprises); an existing name is an error
    unless ``exist_ok`` (then its URI is returned as it is).
    """
    from psycopg import errors, sql

    if not _DATABASE_NAME.match(name):
        raise PostgresError(f"database name {name!r}: use lower-case letters, digits and _ (at most 63 characters).")
    with _connect(admin_uri) as connection:
        try:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except errors.DuplicateDatabase:
            if exist_ok:
                return _with_database(admin_uri, name)
            raise PostgresError(f"database {name!r} already exists on {redact_uri(admin_uri)}.") from None
    return _with_database(admin_uri, name)


def database_exists(admin_uri: str, name: str) -> bool:
    """True when the cluster ``admin_uri`` reaches has a database ``name``."""
    with _connect(admin_uri) as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def drop_database(admin_uri: str, name: str) -> None:
    """Drop the database ``name`` (closing its open connections first); a missing one is fine."""
    from psycopg import sql

    with _connect(admin_uri) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def redact_uri(uri: str) -> str:
    """``uri`` with its password replaced by ``***`` (for messages and logs)."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{netloc[-1]}", parts.path, parts.query, parts.fragment))
