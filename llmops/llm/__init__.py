"""The offline model and the one way to build LLM clients.

``import llmops.llm`` is cheap: the server, the analysis and the client factories load on first use.

- :class:`OfflineLLM` / :func:`serve_in_thread` — the deterministic OpenAI-compatible model on 127.0.0.1;
- :class:`FaultConfig` — seeded fault injection (``rate_limit=0.2,latency_ms=200,seed=7``);
- :class:`Cassette`, :class:`ReplayModel`, :func:`trim_cassette` — answers recorded in a trace file, replayed;
- :func:`analyze` — the rule-based comment analysis the model answers with;
- :func:`openai_client`, :func:`chat_model`, :func:`embedding_function`, :func:`configure_judges`,
  :func:`judge_model_uri`, :func:`llm_base_url` — client factories honouring ``llmops.settings``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmops._lazy import lazy_exports

_EXPORTS = {
    "OfflineLLM": "llmops.llm.server",
    "serve_in_thread": "llmops.llm.server",
    "OfflineModel": "llmops.llm.model",
    "Cassette": "llmops.llm.replay",
    "ReplayModel": "llmops.llm.replay",
    "trim_cassette": "llmops.llm.replay",
    "FaultConfig": "llmops.llm.faults",
    "FaultRule": "llmops.llm.faults",
    "FaultSpecError": "llmops.llm.faults",
    "FAULTS": "llmops.llm.faults",
    "Analysis": "llmops.llm.analysis",
    "analyze": "llmops.llm.analysis",
    "Directives": "llmops.llm.directives",
    "read_directives": "llmops.llm.directives",
    "count_tokens": "llmops.llm.tokenizer",
    "openai_client": "llmops.llm.endpoint",
    "chat_model": "llmops.llm.clients",
    "embedding_function": "llmops.llm.clients",
    "configure_judges": "llmops.llm.clients",
    "judge_model_uri": "llmops.llm.clients",
    "llm_base_url": "llmops.llm.endpoint",
}

__all__ = [
    "FAULTS",
    "Analysis",
    "Cassette",
    "Directives",
    "FaultConfig",
    "FaultRule",
    "FaultSpecError",
    "OfflineLLM",
    "OfflineModel",
    "ReplayModel",
    "analyze",
    "chat_model",
    "configure_judges",
    "count_tokens",
    "embedding_function",
    "judge_model_uri",
    "llm_base_url",
    "openai_client",
    "read_directives",
    "serve_in_thread",
    "trim_cassette",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmops.llm.analysis import Analysis, analyze
    from llmops.llm.clients import chat_model, configure_judges, embedding_function, judge_model_uri
    from llmops.llm.directives import Directives, read_directives
    from llmops.llm.endpoint import llm_base_url, openai_client
    from llmops.llm.faults import FAULTS, FaultConfig, FaultRule, FaultSpecError
    from llmops.llm.model import OfflineModel
    from llmops.llm.replay import Cassette, ReplayModel, trim_cassette
    from llmops.llm.server import OfflineLLM, serve_in_thread
    from llmops.llm.tokenizer import count_tokens


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
