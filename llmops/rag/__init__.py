"""Retrieval-augmented generation: the knowledge base, its chromadb index and the traced retriever."""

from llmops.rag.documents import Chunk, KBDocument, KnowledgeBaseError, chunk_document, load_documents

__all__ = ["Chunk", "KBDocument", "KnowledgeBaseError", "chunk_document", "load_documents", "ingest", "Retriever"]


def __getattr__(name: str):
    # chromadb and mlflow are heavy: import them only when the index or the retriever is used.
    if name == "ingest":
        from llmops.rag.index import ingest

        return ingest
    if name == "Retriever":
        from llmops.rag.retriever import Retriever

        return Retriever
    raise AttributeError(name)
