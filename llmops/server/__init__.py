"""Production mode's moving parts: a local PostgreSQL cluster and MLflow's tracking server on it.

- :mod:`llmops.server.postgres`: ``start_postgres(data_dir=None, port=0) -> PostgresCluster`` (``.uri``,
  ``.create_database(name)``, ``.stop()``), ``create_database(admin_uri, name)`` on any cluster.
- :mod:`llmops.server.tracking`: ``start_tracking_server(backend_store_uri, artifacts_dir, port=0) ->
  TrackingServer`` (``.url``, ``.kill()``, ``.start()``, ``.stop()``). Start-up costs ~17-30 s: reuse servers.

Only the standard library is imported here; psycopg is imported when a database is created.
"""

from __future__ import annotations

from llmops.server.postgres import PostgresCluster, PostgresError, create_database, drop_database, start_postgres
from llmops.server.tracking import TrackingServer, TrackingServerError, start_tracking_server

__all__ = [
    "PostgresCluster",
    "PostgresError",
    "TrackingServer",
    "TrackingServerError",
    "create_database",
    "drop_database",
    "start_postgres",
    "start_tracking_server",
]
