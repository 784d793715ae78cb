"""The knowledge-base index: a persistent local chromadb collection kept in step with ``data/kb/``.

Each chunk carries its document's content hash, so re-ingesting skips unchanged documents, replaces changed ones
and removes chunks of documents that left the folder. ``exclude`` keeps named documents out of the index (the
exam kits use it to plant a retrieval miss).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops.rag.documents import chunk_document, load_documents

COLLECTION = "knowledge_base"


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    chunks_written: int = 0
    total_chunks: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.replaced or self.removed)


def open_collection(chroma_dir: Path | str | None = None, create: bool = True) -> Any:
    """The chromadb collection, persisted under ``chroma_dir`` (settings' ``LLMOPS_CHROMA_DIR`` by default)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from llmops.llm.clients import embedding_function
    from llmops.settings import get_settings

    path = Path(chroma_dir) if chroma_dir is not None else get_settings().chroma_dir
    client = chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    )
    ef = embedding_function()
    if create:
        return client.get_or_create_collection(COLLECTION, embedding_function=ef, metadata={"hnsw:space": "cosine"})
    return client.get_collection(COLLECTION, embedding_function=ef)


def ingest(
    kb_dir: Path | str | None = None,
    chroma_dir: Path | str | None = None,
    exclude: list[str] | tuple[str, ...] = (),
    max_words: int = 120,
    overlap: int = 30,
) -> IngestReport:
    from llmops.settings import get_settings

    kb_path = Path(kb_dir) if kb_dir is not None else get_settings().data_dir / "kb"
    docs = [d for d in load_documents(kb_path) if d.id not in set(exclude)]
    collection = open_collection(chroma_dir)
    existing = collection.get(include=["metadatas"])
    indexed: dict[str, str] = {}
    for meta in existing["metadatas"] or []:
        indexed[meta["doc_id"]] = meta["content_hash"]

    report = IngestReport()
    wanted = {d.id for d in docs}
    for doc_id in sorted(set(indexed) - wanted):
        collection.delete(where={"doc_id": doc_id})
        report.removed.append(doc_id)
    for doc in docs:
        previous = indexed.get(doc.id)
        if previous == doc.content_hash:
            report.unchanged.append(doc.id)
            continue
        if previous is not None:
            collection.delete(where={"doc_id": doc.id})
            report.replaced.append(doc.id)
        else:
            report.added.append(doc.id)
        chunks = chunk_document(doc, max_words=max_words, overlap=overlap)
        collection.add(
            ids=[c.id for c in chunks],
            documents=[c.text for c in chunks],
            metadatas=[
                {
                    "doc_id": c.doc_id,
                    "title": c.title,
                    "section": c.section,
                    "position": c.position,
                    "content_hash": doc.content_hash,
                    "source": str(doc.path),
                }
                for c in chunks
            ],
        )
        report.chunks_written += len(chunks)
    report.total_chunks = collection.count()
    return report
