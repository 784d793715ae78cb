"""pytest plugin (entry point ``llmops``): fixtures for the offline model, the replay of recorded model calls,
a temporary tracking store and captured traces. Importing it is cheap: mlflow and the offline model load inside the fixtures.

The fixture names start with ``llmops_`` so they never clash with a project's own ``offline_llm`` or
``tmp_store``; every fixture restores the environment (and llmops tracing) it changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest


@contextmanager
def tracing_kept() -> Iterator[None]:
    """llmops tracing (or, without it, MLflow's tracking URI) as it is now, back in place after the block, once
    what the block traced is flushed: for fixtures that point tracing at a store of their own."""
    import mlflow

    from llmops import tracing

    previous_uri = mlflow.get_tracking_uri()
    previous_setup = tracing.current()
    try:
        yield
    finally:
        tracing.flush()
        if previous_setup is not None:
            tracing.setup(
                previous_setup.tracking_uri, previous_setup.experiment_name, lossless=previous_setup.lossless,
                redaction=previous_setup.redaction, autolog=previous_setup.autolog,
            )  # fmt: skip
        else:
            mlflow.set_tracking_uri(previous_uri)


@pytest.fixture(scope="session")
def _llmops_offline_server() -> Iterator[Any]:
    from llmops.llm.server import OfflineLLM

    with OfflineLLM(faults="") as server:
        yield server


@pytest.fixture
def llmops_offline_llm(_llmops_offline_server: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The offline model (no faults), with the llmops backend and MLflow's judges pointed at it; its base URL."""
    from llmops.settings import apply_offline_guards

    url = _llmops_offline_server.base_url
    monkeypatch.setenv("LLMOPS_LLM_BACKEND", "offline")
    monkeypatch.setenv("LLMOPS_LLM_BASE_URL", url)
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    monkeypatch.setenv("OPENAI_API_KEY", "offline-no-key-needed")
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    apply_offline_guards()
    return url


@pytest.fixture
def llmops_replay(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """Replay a cassette (a trace file recorded with your real model) instead of calling a model.

    ``llm = llmops_replay("tests/cassettes/app.jsonl")`` starts a replaying server (strict by default;
    ``mode="fallback"`` sends unrecorded requests to the offline model), points ``OPENAI_BASE_URL`` and
    ``LLMOPS_LLM_BASE_URL`` at it with a dummy key, and returns the running
    :class:`~llmops.llm.server.OfflineLLM` (``llm.base_url``, ``llm.replay.counts``). In strict mode the test
    fails when any request had no recording, even if the app swallowed the error."""
    from llmops.llm.server import OfflineLLM

    started: list[OfflineLLM] = []

    def replay(cassette: Any, mode: str = "strict") -> OfflineLLM:
        llm = OfflineLLM(faults="", replay=cassette, replay_mode=mode).start()
        started.append(llm)
        monkeypatch.setenv("LLMOPS_LLM_BASE_URL", llm.base_url)
        monkeypatch.setenv("OPENAI_BASE_URL", llm.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "replay-no-key-needed")  # a real key is never sent anywhere
        monkeypatch.delenv("OPENAI_API_BASE", raising=False)
        return llm

    yield replay
    misses = [m.message for llm in started if llm.replay for m in llm.replay.misses]
    for llm in started:
        llm.stop()
    if misses:
        more = f" (and {len(misses) - 1} more)" if len(misses) > 1 else ""
        pytest.fail(f"strict replay: {len(misses)} request(s) had no recording{more}: {misses[0]}", pytrace=False)


@pytest.fixture(scope="session")
def _llmops_store_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('llmops-store') / 'mlflow.db'}"


@pytest.fixture
def llmops_store(
    _llmops_store_file: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A SQLite tracking store shared by the session (created once: ~3 s), a fresh experiment for this test,
    and ``llmops.tracing.setup()`` on it. Yields the tracking URI; the previous tracing setup comes back after."""
    import re

    from llmops import tracing

    uri = _llmops_store_file
    with tracing_kept():
        monkeypatch.setenv("LLMOPS_TRACKING_URI", uri)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        experiment = "test-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.nodeid)[-200:]
        tracing.setup(tracking_uri=uri, experiment=experiment)
        yield uri


@pytest.fixture
def capture_trace(llmops_store: str) -> Callable[[], Any]:
    """``with capture_trace() as captured: ...`` then ``captured.trace`` (read back from ``llmops_store``)."""
    from llmops.testing.assertions import capture_trace as capture

    return capture
