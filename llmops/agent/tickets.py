"""Support tickets the agent creates, persisted in a local SQLite table (``tickets.db`` by default)."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS tickets (
    ticket_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id TEXT NOT NULL,
    category    TEXT NOT NULL,
    priority    TEXT NOT NULL,
    summary     TEXT NOT NULL,
    comment_id  TEXT,
    trace_id    TEXT,
    created_at  TEXT NOT NULL,
    -- One ticket per comment and category: a resumed or repeated run does not open duplicates.
    UNIQUE (comment_id, category)
)
"""


class TicketStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def create(
        self,
        customer_id: str,
        category: str,
        priority: str,
        summary: str,
        comment_id: str | None = None,
        trace_id: str | None = None,
    ) -> dict:
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT INTO tickets (customer_id, category, priority, summary, comment_id, trace_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (comment_id, category) DO NOTHING",
                (customer_id, category, priority, summary, comment_id, trace_id, created),
            )
            row = db.execute(
                "SELECT * FROM tickets WHERE comment_id IS ? AND category = ? ORDER BY ticket_id DESC LIMIT 1",
                (comment_id, category),
            ).fetchone()
        return dict(row)

    def all(self) -> list[dict]:
        with self._connect() as db:
            return [dict(r) for r in db.execute("SELECT * FROM tickets ORDER BY ticket_id")]

    def for_comment(self, comment_id: str) -> list[dict]:
        with self._connect() as db:
            return [dict(r) for r in db.execute("SELECT * FROM tickets WHERE comment_id = ?", (comment_id,))]
