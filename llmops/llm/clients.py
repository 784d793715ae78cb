"""The one place that builds LLM clients, so the offline model, OpenAI and any compatible server are one switch.

Everything follows :func:`llmops.settings.get_settings`:

- ``offline`` (default): a process-wide offline model is started on first use (one per process, thread-safe),
  unless ``LLMOPS_LLM_BASE_URL`` points at one already running (``llmops llm serve``); the API key is a dummy;
- ``openai``: ``LLMOPS_LLM_BASE_URL`` (or OpenAI's own URL) and ``OPENAI_API_KEY``.

The API key is passed to the client objects only: it is never logged, printed or put in an error message.
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import TYPE_CHECKING, Any

from llmops.settings import Settings, get_settings

if TYPE_CHECKING:  # pragma: no cover
    import openai
    from langchain_openai import ChatOpenAI

    from llmops.llm.server import OfflineLLM

#: What the offline model accepts as a key (it checks none); MLflow's judges refuse to run without one.
OFFLINE_API_KEY = "offline-no-key-needed"

_lock = threading.Lock()
_offline: "OfflineLLM | None" = None


def offline_server() -> "OfflineLLM":
    """The process-wide offline model, started on first call and stopped at exit."""
    global _offline
    with _lock:
        if _offline is None:
            from llmops.llm.server import OfflineLLM

            server = OfflineLLM(faults=get_settings().offline_faults).start()
            atexit.register(server.stop)
            _offline = server
        return _offline


def llm_base_url(settings: Settings | None = None) -> str | None:
    """The base URL clients should use (None means OpenAI's default endpoint)."""
    s = settings or get_settings()
    if s.llm_base_url:
        return s.llm_base_url.rstrip("/")
    if s.offline:
        return offline_server().base_url
    return None


def _api_key(s: Settings) -> str:
    if s.offline:
        return s.llm_api_key if s.llm_base_url and s.llm_api_key else OFFLINE_API_KEY
    # A local OpenAI-compatible server usually checks no key, but the client insists on having one.
    return s.llm_api_key or OFFLINE_API_KEY


def openai_client(**kwargs: Any) -> "openai.OpenAI":
    """An ``openai.OpenAI`` client for the configured backend; keyword arguments override the defaults."""
    import openai

    s = get_settings()
    params: dict[str, Any] = {"base_url": llm_base_url(s), "api_key": _api_key(s)}
    params.update(kwargs)
    return openai.OpenAI(**params)


def chat_model(**kwargs: Any) -> "ChatOpenAI":
    """LangChain's ``ChatOpenAI`` for the configured backend and chat model (temperature 0 by default)."""
    from langchain_openai import ChatOpenAI

    s = get_settings()
    params: dict[str, Any] = {
        "model": s.chat_model,
        "base_url": llm_base_url(s),
        "api_key": _api_key(s),
        "temperature": 0.0,
        "stream_usage": True,
    }
    params.update(kwargs)
    return ChatOpenAI(**params)


def embedding_function() -> Any:
    """The chromadb embedding function: offline hashed n-grams, or the endpoint's embedding model."""
    from llmops.llm import chroma_embeddings

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
