"""The analyzer under test: the real offline model over HTTP, a real chromadb index of data/kb, a real store."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def kb_index(tmp_path_factory) -> str:
    from llmops.rag import ingest

    chroma = tmp_path_factory.mktemp("chroma")
    ingest(REPO_ROOT / "data" / "kb", chroma)
    return str(chroma)


@pytest.fixture(scope="package")
def analyzer(session_store, kb_index, tmp_path_factory):
    """The analyzer of this folder's tests, tracing to the experiment test-analyzer (restored afterwards)."""
    from llmops.agent import Analyzer
    from llmops.agent.customers import CustomerTable
    from llmops.agent.tickets import TicketStore
    from llmops.rag import Retriever
    from llmops.tracing import setup

    with pytest.MonkeyPatch.context() as env:
        env.setenv("LLMOPS_EXPERIMENT", "test-analyzer")
        setup()
        yield Analyzer(
            prompts_dir=REPO_ROOT / "prompts",
            retriever=Retriever(kb_index),
            customers=CustomerTable.load(REPO_ROOT / "data" / "customers.csv"),
            tickets=TicketStore(tmp_path_factory.mktemp("tickets") / "tickets.db"),
            retry_initial_delay=0.01,
        )


@pytest.fixture(scope="session")
def comments():
    from llmops.agent.batch import read_comments

    return read_comments(REPO_ROOT / "data" / "comments.csv")
