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


@pytest.fixture(scope="session")
def analyzer(session_store, kb_index, tmp_path_factory):
    import os

    from llmops.agent import Analyzer
    from llmops.agent.customers import CustomerTable
    from llmops.agent.tickets import TicketStore
    from llmops.rag import Retriever
    from llmops.tracing import setup

    os.environ["LLMOPS_EXPERIMENT"] = "test-analyzer"
    setup()
    return Analyzer(
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
