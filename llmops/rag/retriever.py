"""Search the knowledge base; every search is a RETRIEVER span whose outputs are MLflow ``Document``s.

MLflow's retrieval judges (``RetrievalGroundedness``, ``RetrievalRelevance``) and our trace analysis read the
documents from that span, so its shape matters: a list of ``{"page_content", "metadata", "id"}`` with the
knowledge-base doc id in ``metadata["doc_id"]`` and the similarity in ``metadata["score"]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


#: Chunks fetched per wanted document, so that k distinct documents are found.
CHUNKS_PER_DOC = 4


class Retriever:
    """A handle on the indexed knowledge base (opening chromadb once, not per query)."""

    def __init__(self, chroma_dir: Path | str | None = None, k: int = 4) -> None:
        from llmops.rag.index import open_collection

        self.collection = open_collection(chroma_dir)  # a stale index (earlier version) is refused: re-ingest
        self.k = k

    def __len__(self) -> int:
        return self.collection.count()

    def search(self, query: str, k: int | None = None) -> list[Any]:
        """The best chunk of each of the ``k`` documents closest to ``query``, best first, as
        ``mlflow.entities.Document`` objects."""
        from llmops.tracing import record_documents, retriever_span

        k = k or self.k
        with retriever_span("retrieve_knowledge_base") as span:
            span.set_inputs({"query": query, "k": k})
            documents = self._query(query, k)
            record_documents(span, documents)
            span.set_attribute("retrieval.doc_ids", [d.metadata["doc_id"] for d in documents])
        return documents

    def _query(self, query: str, k: int) -> list[Any]:
        from mlflow.entities import Document

        count = self.collection.count()
        if count == 0 or not query.strip():
            return []
        # k documents, not k chunks: the best chunk of each of the k closest documents (neighbouring chunks of
        # one document would otherwise fill the k places with the same source).
        result = self.collection.query(
            query_texts=[query], n_results=min(k * CHUNKS_PER_DOC, count), include=["documents", "metadatas", "distances"]
        )
        documents = []
        seen: set[str] = set()
        for chunk_id, text, meta, distance in zip(
            result["ids"][0], result["documents"][0], result["metadatas"][0], result["distances"][0]
        ):
            if meta["doc_id"] in seen:
                continue
            if len(documents) == k:
                break
            seen.add(meta["doc_id"])
            metadata = {
                "doc_id": meta["doc_id"],
                # MLflow's retrieval judges keep only doc_uri from a document's metadata: the doc id goes there
                # so a judge can check that a cited id was retrieved.
                "doc_uri": meta["doc_id"],
                "source": meta.get("source", ""),
                "title": meta.get("title", ""),
                "section": meta.get("section", ""),
                "chunk_id": chunk_id,
                "score": round(1.0 - float(distance), 4),
            }
            documents.append(Document(page_content=text, metadata=metadata, id=chunk_id))
        return documents
