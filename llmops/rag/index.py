"""The knowledge-base index: a persistent local chromadb collection kept in step with ``data/kb/``.

Each chunk carries its document's content hash, so re-ingesting skips unchanged documents, replaces changed ones
and removes chunks of documents that left the folder. ``exclude`` keeps named documents out of the index (the
exam kits use it to plant a retrieval miss).

A chunk is embedded with its document's topics, title and section (:func:`llmops.rag.documents.embedding_text`);
its stored text is the chunk alone. The collection records :data:`INDEX_VERSION`: an index built by an earlier
version (other embedding text or dimensions) is rebuilt by the next ingest, and refused by searches until then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops.rag.documents import KnowledgeBaseError, chunk_document, embedding_text, load_documents

COLLECTION = "knowledge_base"
#: Bumped whenever what is embedded changes; 2: topics + title + section embedded, 2048 offline dimensions.
INDEX_VERSION = 2
_VERSION_KEY = "llmops_index_version"


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


def open_collection(chroma_dir: Path | str | None = None, create: bool = True, rebuild: bool = False) -> Any:
    """The chromadb collection, persisted under ``chroma_dir`` (settings' ``LLMOPS_CHROMA_DIR`` by default).

    An index of another :data:`INDEX_VERSION` is emptied and recreated with ``rebuild=True`` (what ingest does),
    else refused with a :class:`KnowledgeBaseError` that says to re-ingest."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from llmops.llm.clients import embedding_function
    from llmops.settings import get_settings

    path = Path(chroma_dir) if chroma_dir is not None else get_settings().chroma_dir
    client = chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    )
    ef = embedding_function()
    metadata = {"hnsw:space": "cosine", _VERSION_KEY: INDEX_VERSION}
    if not create:
        collection = client.get_collection(COLLECTION, embedding_function=ef)
    else:
        collection = client.get_or_create_collection(COLLECTION, embedding_function=ef, metadata=metadata)
    if (collection.metadata or {}).get(_VERSION_KEY) == INDEX_VERSION:
        return collection
    if rebuild:
        client.delete_collection(COLLECTION)  # derived from data/kb/: nothing is lost, ingest refills it
        return client.create_collection(COLLECTION, embedding_function=ef, metadata=metadata)
    raise KnowledgeBaseError(
        f"the knowledge-base index in {path} was built by an earlier version of llmops (index version "
        f"{(collection.metadata or {}).get(_VERSION_KEY, 1)}, now {INDEX_VERSION}): rebuild it with `uv run llmops kb ingest`."
    )


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
    from llmops.llm.clients import embedding_function

    collection = open_collection(chroma_dir, rebuild=True)
    embed = embedding_function()  # the collection's own function, given the texts it should embed
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
            embeddings=embed([embedding_text(doc, c) for c in chunks]),
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
