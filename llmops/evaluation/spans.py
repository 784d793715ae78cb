"""What a trace says about one analysis, read from its spans: retrieval, tool calls, LLM calls, tokens, errors.

The scorers and the pytest trace assertions share these readers so "an LLM call", "a retrieved document" or
"a tool call" mean the same thing everywhere:

- an LLM call is an *outermost* ``CHAT_MODEL`` span (with MLflow's autologs alone, LangChain's ``ChatOpenAI``
  span wraps the OpenAI client's ``Completions`` span: one call, not two; ``llmops.tracing.setup()`` records
  only the outer one);
- retrieved documents are the ``Document`` outputs of the ``RETRIEVER`` spans, in the order the spans
  started, each doc id counted once (``metadata.doc_id``, else ``metadata.doc_uri``);
- a tool call is a ``TOOL`` span, with its name, inputs and status (a tool that raised is an ``ERROR`` span).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

CHAT_MODEL = "CHAT_MODEL"
RETRIEVER = "RETRIEVER"
TOOL = "TOOL"


@dataclass(frozen=True)
class ToolCall:
    name: str
    inputs: dict[str, Any]
    ok: bool
    start_ns: int
    span_id: str


@dataclass(frozen=True)
class TraceFacts:
    trace_id: str
    root_name: str
    root_ok: bool
    error_cause: str | None
    retrieved: list[str] = field(default_factory=list)
    retriever_spans: int = 0
    first_retrieval_ns: int | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    llm_calls: int = 0
    llm_call_starts_ns: list[int] = field(default_factory=list)
    tokens: int | None = None
    latency_ms: float | None = None
    error_spans: list[str] = field(default_factory=list)

    def tools_called(self, ok_only: bool = False) -> list[str]:
        return [t.name for t in self.tool_calls if t.ok or not ok_only]


def _value(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _status_ok(span: Any) -> bool:
    code = getattr(getattr(span, "status", None), "status_code", None)
    return str(getattr(code, "value", code)) != "ERROR"


def _doc_ids(outputs: Any) -> list[str]:
    outputs = _value(outputs)
    ids = []
    for doc in outputs if isinstance(outputs, list) else []:
        doc = _value(doc)
        if not isinstance(doc, dict):
            continue
        meta = doc.get("metadata") or {}
        doc_id = meta.get("doc_id") or meta.get("doc_uri") or doc.get("id")
        if doc_id:
            ids.append(str(doc_id))
    return ids


def _token_total(trace: Any, outermost_llm: list[Any]) -> int | None:
    usage = getattr(trace.info, "token_usage", None)
    if usage and usage.get("total_tokens") is not None:
        return int(usage["total_tokens"])
    total, seen = 0, False
    for span in outermost_llm:
        u = _value(span.get_attribute("mlflow.chat.tokenUsage"))
        if isinstance(u, dict):
            seen = True
            total += int(u.get("total_tokens") or (u.get("input_tokens", 0) + u.get("output_tokens", 0)))
    return total if seen else None


def facts(trace: Any) -> TraceFacts:
    """Read a trace (``mlflow.entities.Trace``) once; use :func:`cached_facts` in scorers."""
    spans = list(trace.data.spans)
    by_id = {s.span_id: s for s in spans}
    root = next((s for s in spans if s.parent_id is None), None)

    def has_llm_ancestor(span: Any) -> bool:
        parent = by_id.get(span.parent_id)
        while parent is not None:
            if parent.span_type == CHAT_MODEL:
                return True
            parent = by_id.get(parent.parent_id)
        return False

    ordered = sorted(spans, key=lambda s: s.start_time_ns or 0)
    llm = [s for s in ordered if s.span_type == CHAT_MODEL and not has_llm_ancestor(s)]
    retrievers = [s for s in ordered if s.span_type == RETRIEVER]
    retrieved: list[str] = []
    for span in retrievers:
        for doc_id in _doc_ids(span.outputs):
            if doc_id not in retrieved:
                retrieved.append(doc_id)
    tools = [
        ToolCall(
            name=s.name,
            inputs=_value(s.inputs) if isinstance(_value(s.inputs), dict) else {},
            ok=_status_ok(s),
            start_ns=s.start_time_ns or 0,
            span_id=s.span_id,
        )
        for s in ordered
        if s.span_type == TOOL
    ]
    latency = getattr(trace.info, "execution_duration", None)
    if latency is None and root is not None and root.end_time_ns:
        latency = (root.end_time_ns - root.start_time_ns) / 1e6
    cause = root.get_attribute("llmops.error_cause") if root is not None else None
    return TraceFacts(
        trace_id=trace.info.trace_id,
        root_name=root.name if root is not None else "",
        root_ok=_status_ok(root) if root is not None else False,
        error_cause=str(cause) if cause else None,
        retrieved=retrieved,
        retriever_spans=len(retrievers),
        first_retrieval_ns=retrievers[0].start_time_ns if retrievers else None,
        tool_calls=tools,
        llm_calls=len(llm),
        llm_call_starts_ns=[s.start_time_ns or 0 for s in llm],
        tokens=_token_total(trace, llm),
        latency_ms=float(latency) if latency is not None else None,
        error_spans=[s.name for s in ordered if not _status_ok(s)],
    )


_CACHE: OrderedDict[str, TraceFacts] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def cached_facts(trace: Any) -> TraceFacts:
    """:func:`facts`, remembered per trace id: a dozen scorers read the same trace."""
    trace_id = trace.info.trace_id
    with _CACHE_LOCK:
        found = _CACHE.get(trace_id)
        if found is not None:
            _CACHE.move_to_end(trace_id)
            return found
    result = facts(trace)
    with _CACHE_LOCK:
        _CACHE[trace_id] = result
        while len(_CACHE) > 2048:
            _CACHE.popitem(last=False)
    return result
