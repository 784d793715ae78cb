"""Fixtures for the tracing tests: llmops.tracing set up on a real SQLite store, undone afterwards.

Tracing state is process-global and other test folders share the process, so every test that calls
``setup()`` goes through ``traced`` (or ``fresh_traced``), whose teardown flushes and calls
``llmops.tracing.reset()``: MLflow's own span-processor factory, config and autologs are restored.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def _experiment_name(request: pytest.FixtureRequest) -> str:
    return "tracing-" + re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:80]


@pytest.fixture
def traced(session_store: str, request: pytest.FixtureRequest) -> Iterator:
    """``llmops.tracing.setup()`` on the shared session store, in an experiment of the test's own."""
    import llmops.tracing as tracing

    setup = tracing.setup(session_store, _experiment_name(request), autolog=False)
    yield setup
    tracing.flush()
    tracing.reset()


@pytest.fixture
def fresh_traced(tmp_store: str, request: pytest.FixtureRequest) -> Iterator:
    """``setup()`` on a brand-new SQLite store (for tests that count or scan every row); ~3 s."""
    import llmops.tracing as tracing

    setup = tracing.setup(tmp_store, _experiment_name(request), autolog=False)
    yield setup
    tracing.flush()
    tracing.reset()


def db_path(tracking_uri: str) -> Path:
    assert tracking_uri.startswith("sqlite:///")
    return Path(tracking_uri[len("sqlite:///") :])


@pytest.fixture
def stored_rows() -> Callable[[str, str], tuple[int, int]]:
    """``stored_rows(uri, experiment_id)`` -> (traces, spans), read straight from the SQLite file."""

    def count(tracking_uri: str, experiment_id: str) -> tuple[int, int]:
        with sqlite3.connect(db_path(tracking_uri)) as conn:
            traces = conn.execute(
                "SELECT COUNT(*) FROM trace_info WHERE experiment_id = ?", (experiment_id,)
            ).fetchone()[0]
            spans = conn.execute("SELECT COUNT(*) FROM spans WHERE experiment_id = ?", (experiment_id,)).fetchone()[0]
        return traces, spans

    return count
