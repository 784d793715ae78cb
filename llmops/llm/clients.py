"""The one place that builds LLM clients, so the offline model, OpenAI and any compatible server are one switch.

Where the model is and its key come from :mod:`llmops.llm.endpoint` (``openai_client``, ``llm_base_url`` and
``offline_server`` live there and are importable from here too); this module adds LangChain's chat model, the
chromadb embedding function and MLflow's judges. The API key is passed to the client objects only: it is never
logged, printed or put in an error message.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from llmops.llm.endpoint import OFFLINE_API_KEY, api_key, llm_base_url, offline_server, openai_client
from llmops.settings import Settings, get_settings

if TYPE_CHECKING:  # pragma: no cover
    from langchain_openai import ChatOpenAI


def chat_model(**kwargs: Any) -> "ChatOpenAI":
    """LangChain's ``ChatOpenAI`` for the configured backend and chat model (temperature 0 by default)."""
    from langchain_openai import ChatOpenAI

    s = get_settings()
    params: dict[str, Any] = {
        "model": s.chat_model,
        "base_url": llm_base_url(s),
        "api_key": api_key(s),
        "temperature": 0.0,
        "stream_usage": True,
    }
    params.update(kwargs)
    return ChatOpenAI(**params)


def embedding_function() -> Any:
    """The chromadb embedding function: offline hashed n-grams, or the endpoint's embedding model."""
    from llmops.llm import chroma_embeddings  # imports chromadb: only when an index is opened


    s = get_settings()
    if s.offline:
        return chroma_embeddings.OfflineEmbeddingFunction()
    return chroma_embeddings.EndpointEmbeddingFunction(s.embedding_model)


def judge_model_uri(settings: Settings | None = None) -> str:
    """The ``model=`` argument for MLflow judges, e.g. ``openai:/offline-analyst``."""
    s = settings or get_settings()
    return f"openai:/{s.judge_model}"


def configure_judges() -> str:
    """Point MLflow's judges at the configured backend (``OPENAI_BASE_URL``/``OPENAI_API_KEY``); returns the model URI.

    MLflow's built-in judges read only the environment, so this sets it for the whole process.
    """
    s = get_settings()
    base_url = llm_base_url(s)
    if base_url:
        os.environ["OPENAI_BASE_URL"] = base_url
        if "OPENAI_API_BASE" in os.environ:
            # MLflow prefers the legacy variable when both exist: keep them in agreement.
            os.environ["OPENAI_API_BASE"] = base_url
    if s.offline:
        os.environ.setdefault("OPENAI_API_KEY", OFFLINE_API_KEY)
    elif not os.environ.get("OPENAI_API_KEY"):
        os.environ["OPENAI_API_KEY"] = OFFLINE_API_KEY
    return judge_model_uri(s)


__all__ = [
    "OFFLINE_API_KEY",
    "chat_model",
    "configure_judges",
    "embedding_function",
    "judge_model_uri",
    "llm_base_url",
    "offline_server",
    "openai_client",
]
