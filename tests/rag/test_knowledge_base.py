"""The knowledge base as a user of `llmops kb` sees it: chunks, incremental ingest, traced retrieval."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from llmops.rag import KnowledgeBaseError, chunk_document, ingest, load_documents
from llmops.rag.documents import load_document

REFUNDS = """\
---
id: kb-refunds
title: Refunds and credits
language: en
topics: [billing]
---
# Refunds and credits
## When we refund
A billing error on your invoice is refunded within 10 days as a credit on the next invoice.
## Double charge
If you were charged twice, the duplicate payment is refunded to your bank account within 5 days.
"""

OUTAGE = """\
---
id: kb-outage-compensation
title: Outages and compensation
language: en
topics: [network]
---
# Outages and compensation
## Compensation rule
After an outage longer than 24 hours, each full day without service is credited at 1/30 of the monthly price.
"""


def write_kb(folder: Path, docs: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        (folder / f"{name}.md").write_text(text, encoding="utf-8")
    return folder


def test_sections_become_chunks_with_overlap(tmp_path):
    long_body = "---\nid: kb-long\n---\n# Long\n## Part\n" + " ".join(f"w{i}" for i in range(250))
    doc = load_document(write_kb(tmp_path, {"kb-long": long_body}) / "kb-long.md")
    chunks = chunk_document(doc, max_words=100, overlap=20)
    assert [c.id for c in chunks] == ["kb-long#0", "kb-long#1", "kb-long#2"]
    first, second = chunks[0].text.split()[1:], chunks[1].text.split()[1:]
    assert first[-20:] == second[:20]  # consecutive chunks share the overlap
    assert all(c.section == "Part" for c in chunks)
    covered = {w for c in chunks for w in c.text.split()[1:]}
    assert covered == {f"w{i}" for i in range(250)}  # nothing is lost at the boundaries


def test_ingest_is_incremental(tmp_path):
    kb = write_kb(tmp_path / "kb", {"kb-refunds": REFUNDS, "kb-outage-compensation": OUTAGE})
    chroma = tmp_path / "chroma"
    first = ingest(kb, chroma)
    assert sorted(first.added) == ["kb-outage-compensation", "kb-refunds"]
    assert first.total_chunks == 3

    again = ingest(kb, chroma)
    assert not again.changed and again.chunks_written == 0
    assert sorted(again.unchanged) == ["kb-outage-compensation", "kb-refunds"]

    (kb / "kb-refunds.md").write_text(REFUNDS.replace("10 days", "14 days"), encoding="utf-8")
    (kb / "kb-outage-compensation.md").unlink()
    third = ingest(kb, chroma)
    assert third.replaced == ["kb-refunds"] and third.removed == ["kb-outage-compensation"]
    assert third.total_chunks == 2


def test_exclude_keeps_a_document_out_of_the_index(tmp_path):
    kb = write_kb(tmp_path / "kb", {"kb-refunds": REFUNDS, "kb-outage-compensation": OUTAGE})
    report = ingest(kb, tmp_path / "chroma", exclude=["kb-outage-compensation"])
    assert report.added == ["kb-refunds"]


def test_search_is_a_retriever_span_with_mlflow_documents(tmp_path, session_store):
    import mlflow

    from llmops import tracing
    from llmops.rag import Retriever

    kb = write_kb(tmp_path / "kb", {"kb-refunds": REFUNDS, "kb-outage-compensation": OUTAGE})
    ingest(kb, tmp_path / "chroma")
    retriever = Retriever(tmp_path / "chroma", k=2)
    tracing.setup(experiment="test-rag", autolog=False)

    @mlflow.trace(name="ask")
    def ask(q):
        return retriever.search(q)

    docs = ask("I was charged twice, refund the duplicate payment")
    assert docs[0].metadata["doc_id"] == "kb-refunds"
    assert "charged twice" in docs[0].page_content
    assert docs[0].metadata["score"] >= docs[-1].metadata["score"]

    tracing.flush()
    trace = mlflow.get_trace(mlflow.get_last_active_trace_id())
    spans = [s for s in trace.data.spans if s.span_type == "RETRIEVER"]
    assert len(spans) == 1
    outputs = spans[0].outputs
    assert {"page_content", "metadata", "id"} <= set(outputs[0])
    assert outputs[0]["metadata"]["doc_id"] == "kb-refunds"


FACTURE = """\
---
id: kb-facture
title: Comprendre sa facture
language: fr
topics: [billing]
---
# Comprendre sa facture
## Facture papier
La facture papier est envoyée par courrier pour 1,50 € par mois, gratuite après 75 ans.
"""

COUVERTURE = """\
---
id: kb-couverture
title: Couverture du réseau
language: fr
topics: [network]
---
# Couverture du réseau
## Zones blanches
Signalez une zone sans réseau depuis l'application : un technicien vérifie l'antenne sous 72 heures.
"""


def test_search_returns_k_distinct_documents(tmp_path):
    from llmops.rag import Retriever

    kb = write_kb(tmp_path / "kb", {"kb-refunds": REFUNDS, "kb-outage-compensation": OUTAGE})
    ingest(kb, tmp_path / "chroma")
    docs = Retriever(tmp_path / "chroma", k=2).search("refund of a double charge on my invoice")
    # kb-refunds has two chunks that both match: the second place goes to the next document, not to its twin
    assert [d.metadata["doc_id"] for d in docs] == ["kb-refunds", "kb-outage-compensation"]


def test_a_documents_topics_bridge_an_english_query_to_a_french_document(tmp_path):
    """The analyzer's queries start with its English topic ids; the French text shares no word with them."""
    from llmops.rag import Retriever

    kb = write_kb(tmp_path / "kb", {"kb-facture": FACTURE, "kb-couverture": COUVERTURE})
    ingest(kb, tmp_path / "chroma")
    retriever = Retriever(tmp_path / "chroma", k=2)
    assert retriever.search("billing paper")[0].metadata["doc_id"] == "kb-facture"
    assert retriever.search("network antenna")[0].metadata["doc_id"] == "kb-couverture"
    assert "billing" not in retriever.search("billing")[0].page_content  # the stored text is the chunk alone


def test_an_index_built_by_an_earlier_version_is_refused_then_rebuilt(tmp_path):
    import chromadb
    from chromadb.config import Settings

    from llmops.llm.chroma_embeddings import OfflineEmbeddingFunction
    from llmops.rag import Retriever
    from llmops.rag.index import COLLECTION

    chroma = tmp_path / "chroma"  # what version 1 wrote: 384 dimensions, no index version
    old = chromadb.PersistentClient(path=str(chroma), settings=Settings(anonymized_telemetry=False))
    old.create_collection(
        COLLECTION, embedding_function=OfflineEmbeddingFunction(384), metadata={"hnsw:space": "cosine"}
    ).add(ids=["kb-refunds#0"], documents=["old text"], metadatas=[{"doc_id": "kb-refunds", "content_hash": "x"}])
    del old
    with pytest.raises(KnowledgeBaseError, match=r"built by an earlier version .*`uv run llmops kb ingest`"):
        Retriever(chroma)
    kb = write_kb(tmp_path / "kb", {"kb-refunds": REFUNDS})
    report = ingest(kb, chroma)
    assert report.added == ["kb-refunds"] and report.total_chunks == 2  # the old chunk is gone
    assert Retriever(chroma).search("charged twice")[0].metadata["doc_id"] == "kb-refunds"


def test_bad_knowledge_base_files_are_named(tmp_path):
    with pytest.raises(KnowledgeBaseError, match="does not exist"):
        load_documents(tmp_path / "nowhere")
    kb = write_kb(tmp_path / "kb", {"a": REFUNDS, "b": REFUNDS})
    with pytest.raises(KnowledgeBaseError, match="kb-refunds.*a.md.*b.md"):
        load_documents(kb)
    bad = write_kb(tmp_path / "bad", {"x": "---\nid: [unclosed\n---\n# X\n"})
    with pytest.raises(KnowledgeBaseError, match=r"x\.md.*YAML"):
        load_documents(bad)
    (tmp_path / "enc").mkdir()
    (tmp_path / "enc" / "latin.md").write_bytes("# Facture réglée".encode("latin-1"))
    with pytest.raises(KnowledgeBaseError, match="latin.md.*UTF-8"):
        load_documents(tmp_path / "enc")
