"""Embedding functions for chromadb: the offline one (default) and one backed by the configured endpoint.

chromadb persists an embedding function by name with each collection and rebuilds it from ``get_config()``
when a collection is reopened, so both classes are registered with chromadb on import; a process that reopens
a collection imports this module first (``llmops.rag`` does).
"""

from __future__ import annotations

from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from llmops.llm import embeddings as offline
from llmops.llm.endpoint import openai_client


@register_embedding_function
class OfflineEmbeddingFunction(EmbeddingFunction[Documents]):
    """Hashed word n-grams computed in-process: no download, no server, identical on every machine."""

    def __init__(self, dimensions: int = offline.DIMENSIONS) -> None:
        self.dimensions = dimensions

    def __call__(self, input: Documents) -> Embeddings:
        import numpy as np

        return [np.asarray(v, dtype=np.float32) for v in offline.embed(list(input), self.dimensions)]

    @staticmethod
    def name() -> str:
        return "llmops-offline"

    def default_space(self) -> str:  # type: ignore[override]
        # The vectors are L2-normalised, so cosine is the natural distance and reads as "1 - similarity".
        return "cosine"

    def get_config(self) -> dict[str, Any]:
        return {"dimensions": self.dimensions}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "OfflineEmbeddingFunction":
        return OfflineEmbeddingFunction(int(config.get("dimensions", offline.DIMENSIONS)))


@register_embedding_function
class EndpointEmbeddingFunction(EmbeddingFunction[Documents]):
    """Embeddings from the configured OpenAI-compatible endpoint, through the project's client factory."""

    def __init__(self, model: str) -> None:
        self.model = model

    def __call__(self, input: Documents) -> Embeddings:
        import numpy as np

        response = openai_client().embeddings.create(model=self.model, input=list(input))
        return [np.asarray(item.embedding, dtype=np.float32) for item in response.data]

    @staticmethod
    def name() -> str:
        return "llmops-endpoint"

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def get_config(self) -> dict[str, Any]:
        # The API key is deliberately not part of the config: chromadb writes this dict to disk.
        return {"model": self.model}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "EndpointEmbeddingFunction":
        return EndpointEmbeddingFunction(config["model"])
