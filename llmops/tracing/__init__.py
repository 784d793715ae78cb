"""Tracing helpers for LLM apps on MLflow: setup, typed spans, sessions, PII redaction, cost, lossless export.

::

    import llmops.tracing as tracing

    tracing.setup()                        # tracking URI + experiment from settings, autologs, redaction

    @tracing.agent_span
    def answer(question: str) -> str: ...

    with tracing.session(user_id="u-42", session_id="chat-7"):
        answer("Où est ma commande ?")

    tracing.flush()                        # every finished trace is now in the store

Importing this package does not import mlflow (that costs seconds); each name is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmops._lazy import lazy_exports

_EXPORTS = {
    # setup.py
    "setup": "lifecycle",
    "reset": "lifecycle",
    "flush": "lifecycle",
    "stats": "lifecycle",
    "current": "lifecycle",
    "TracingSetup": "lifecycle",
    "require_stored": "lifecycle",
    "TracesLostError": "lifecycle",
    "TrackingServerError": "http_writer",
    "WriterStats": "exporter",
    # spans.py
    "agent_span": "spans",
    "tool_span": "spans",
    "retriever_span": "spans",
    "llm_span": "spans",
    "chain_span": "spans",
    "embedding_span": "spans",
    "SpanSpec": "spans",
    "record_documents": "spans",
    "to_documents": "spans",
    "record_usage": "spans",
    # session.py
    "session": "sessions",
    "Session": "sessions",
    # redaction.py
    "redact": "redaction",
    "redact_text": "redaction",
    "redaction_disabled": "redaction",
    "redaction_enabled": "redaction",
    "pseudonymize": "redaction",
    # cost.py
    "trace_cost": "cost",
    "cost_breakdown": "cost",
    "TraceCost": "cost",
    "Price": "cost",
    "DEFAULT_PRICES": "cost",
    "set_prices": "cost",
    "get_prices": "cost",
    "price_for": "cost",
    "COST_METADATA_KEY": "cost",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:  # for type checkers and IDEs; at run time names come from __getattr__
    from llmops.tracing.cost import (  # noqa: F401
        COST_METADATA_KEY,
        DEFAULT_PRICES,
        Price,
        TraceCost,
        cost_breakdown,
        get_prices,
        price_for,
        set_prices,
        trace_cost,
    )
    from llmops.tracing.exporter import WriterStats  # noqa: F401
    from llmops.tracing.http_writer import TrackingServerError  # noqa: F401
    from llmops.tracing.lifecycle import (  # noqa: F401
        TracesLostError,
        TracingSetup,
        current,
        flush,
        require_stored,
        reset,
        setup,
        stats,
    )
    from llmops.tracing.redaction import (  # noqa: F401
        pseudonymize,
        redact,
        redact_text,
        redaction_disabled,
        redaction_enabled,
    )
    from llmops.tracing.sessions import Session, session  # noqa: F401
    from llmops.tracing.spans import (  # noqa: F401
        SpanSpec,
        agent_span,
        chain_span,
        embedding_span,
        llm_span,
        record_documents,
        record_usage,
        retriever_span,
        to_documents,
        tool_span,
    )
