"""Where the configured model lives and how to reach it: base URL, API key, ``openai`` client.

The bottom of the client factories: :mod:`llmops.llm.clients` (LangChain, judges, embeddings) and
:mod:`llmops.llm.chroma_embeddings` both build on it. Everything follows :func:`llmops.settings.get_settings`:

- ``offline`` (default): a process-wide offline model is started on first use (one per process, thread-safe),
  unless ``LLMOPS_LLM_BASE_URL`` points at one already running (``llmops llm serve``); the API key is a dummy;
- ``openai``: ``LLMOPS_LLM_BASE_URL`` (or OpenAI's own URL) and ``OPENAI_API_KEY``.

The API key is passed to the client objects only: it is never logged, printed or put in an error message.
"""

from __future__ import annotations

import atexit
import threading
from typing import TYPE_CHECKING, Any

from llmops.settings import Settings, get_settings

if TYPE_CHECKING:  # pragma: no cover
    import openai

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


def api_key(s: Settings) -> str:
    """The key to give the client (a dummy for the offline model); never to be logged."""
    if s.offline:
        return s.llm_api_key if s.llm_base_url and s.llm_api_key else OFFLINE_API_KEY
    # A local OpenAI-compatible server usually checks no key, but the client insists on having one.
    return s.llm_api_key or OFFLINE_API_KEY


def openai_client(**kwargs: Any) -> "openai.OpenAI":
    """An ``openai.OpenAI`` client for the configured backend; keyword arguments override the defaults."""
    import openai

    s = get_settings()
    params: dict[str, Any] = {"base_url": llm_base_url(s), "api_key": api_key(s)}
    params.update(kwargs)
    return openai.OpenAI(**params)
