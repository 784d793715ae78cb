"""One trace as a tree of spans, like the MLflow UI's trace view, for the terminal or as JSON.

:func:`span_tree` turns an MLflow trace dictionary (a line of a trace file, ``Trace.to_dict()``) into
:class:`SpanNode` objects carrying what a reader needs on each line: duration, offset from the trace start,
status, the error, and the key inputs and outputs for the span's type (the model and tokens of an LLM call
and the tools it asked for, a tool's arguments and result, a retriever's query and documents).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from llmops.analysis.fields import (
    MODEL_SPAN_TYPES,
    STATUS,
    as_text,
    assessment_value,
    decoded,
    exception_of,
    retrieved_documents,
    span_id_hex,
    token_usage,
)


@dataclass
class SpanNode:
    span_id: str
    name: str
    span_type: str
    status: str
    start_ns: int
    end_ns: int | None
    offset_ms: float
    duration_ms: float | None
    error: str | None = None
    details: list[tuple[str, str]] = field(default_factory=list)  # (label, text) lines: "in", "out", "model"...
    inputs: Any = None
    outputs: Any = None
    children: list[SpanNode] = field(default_factory=list)

    def walk(self) -> list[SpanNode]:
        """This node and its descendants, depth first in time order."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out

    def to_dict(self, full: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "span_id": self.span_id, "name": self.name, "span_type": self.span_type, "status": self.status,
            "offset_ms": round(self.offset_ms, 1),
            "duration_ms": round(self.duration_ms, 1) if self.duration_ms is not None else None,
            "error": self.error, "details": {label: text for label, text in self.details},
        }  # fmt: skip
        if full:
            d["inputs"], d["outputs"] = self.inputs, self.outputs
        d["children"] = [c.to_dict(full) for c in self.children]
        return d


def compact(value: Any, limit: int | None = 160) -> str:
    """A one-line rendering of an input or output value, cut at ``limit`` characters (None: no cut)."""
    if value is None:
        return ""
    text = (
        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))
    )
    text = " ".join(text.split())
    if limit and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def _tool_calls(outputs: Any) -> list[str]:
    """``name(args)`` of the tool calls in a model output (OpenAI or LangChain shape)."""
    found: list[str] = []
    stack = [outputs]
    while stack and len(found) < 20:
        node = stack.pop(0)
        if isinstance(node, dict):
            calls = node.get("tool_calls")
            if isinstance(calls, list):
                for call in calls:
                    if isinstance(call, dict):
                        fn = call.get("function") or call
                        name = fn.get("name")
                        args = fn.get("arguments", fn.get("args"))
                        if name:
                            found.append(f"{name}({compact(args, 80) if args not in (None, '') else ''})")
                continue
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    return found


def _message_text(outputs: Any) -> str | None:
    if isinstance(outputs, dict):
        choices = outputs.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            message = choices[0].get("message") or {}
            content = message.get("content")
            if isinstance(content, str) and content:
                return content
    return None


def _details(
    span_type: str, attrs: dict[str, Any], inputs: Any, outputs: Any, is_root: bool, limit: int | None
) -> list[tuple[str, str]]:
    details: list[tuple[str, str]] = []
    if span_type in MODEL_SPAN_TYPES:
        model = as_text(attrs.get("mlflow.llm.model") or attrs.get("model"))
        i, o, _t = token_usage(attrs.get("mlflow.chat.tokenUsage"))
        text = model or ""
        if i is not None or o is not None:
            text += f"  {i or 0} in / {o or 0} out tokens"
        if text:
            details.append(("model", text.strip()))
        calls = _tool_calls(outputs)
        if calls:
            details.append(("calls", compact(", ".join(calls), limit)))
        elif (message := _message_text(outputs)) is not None:
            details.append(("out", compact(message, limit)))
    elif span_type == "RETRIEVER":
        query = inputs.get("query") if isinstance(inputs, dict) else inputs
        if query is not None:
            details.append(("query", compact(query, limit)))
        ids, count = retrieved_documents(attrs.get("retrieval.doc_ids"), attrs.get("mlflow.spanOutputs"))
        details.append(("docs", f"{count} returned" + (f": {', '.join(ids)}" if ids else "")))
    elif span_type == "TOOL" or is_root or span_type in ("AGENT", "EMBEDDING", "RERANKER", "PARSER"):
        if inputs is not None:
            details.append(("in", compact(inputs, limit)))
        if outputs is not None:
            content = outputs.get("content") if isinstance(outputs, dict) and "content" in outputs else outputs
            details.append(("out", compact(content, limit)))
    if is_root:
        for key, label in (("llmops.actions_taken", "actions"), ("llmops.error_cause", "cause")):
            if attrs.get(key) is not None:
                details.append((label, compact(decoded(attrs[key]), limit)))
    return details


def span_tree(trace: dict[str, Any], *, limit: int | None = 160) -> list[SpanNode]:
    """The root span(s) of an MLflow trace dictionary as :class:`SpanNode` trees, children in start order;
    ``limit`` cuts input/output previews (None keeps them whole)."""
    spans = trace["data"]["spans"]
    starts = [s.get("start_time_unix_nano") or 0 for s in spans]
    origin = min(starts) if starts else 0
    nodes: dict[str, SpanNode] = {}
    parents: dict[str, str | None] = {}
    for sp in spans:
        attrs = sp.get("attributes") or {}
        span_type = as_text(attrs.get("mlflow.spanType")) or "UNKNOWN"
        status = sp.get("status") or {}
        code = STATUS.get(status.get("code"), "UNSET")
        start, end = sp.get("start_time_unix_nano") or 0, sp.get("end_time_unix_nano")
        span_id = span_id_hex(sp.get("span_id")) or ""
        parent = span_id_hex(sp.get("parent_span_id"))
        inputs, outputs = decoded(attrs.get("mlflow.spanInputs")), decoded(attrs.get("mlflow.spanOutputs"))
        error = None
        if code == "ERROR":
            etype, message = exception_of(sp.get("events"))
            message = message or status.get("message") or ""
            error = f"{etype}: {message}" if etype else (message or "error")
            if limit:
                error = compact(error, max(limit, 200))
        nodes[span_id] = SpanNode(
            span_id=span_id, name=sp.get("name") or "", span_type=span_type, status=code, start_ns=start, end_ns=end,
            offset_ms=(start - origin) / 1e6, duration_ms=(end - start) / 1e6 if end else None, error=error,
            details=_details(span_type, attrs, inputs, outputs, parent is None, limit), inputs=inputs, outputs=outputs,
        )  # fmt: skip
        parents[span_id] = parent
    roots: list[SpanNode] = []
    for span_id, node in nodes.items():
        parent = parents[span_id]
        if parent is not None and parent in nodes:
            nodes[parent].children.append(node)
        else:
            roots.append(node)
    for node in nodes.values():
        node.children.sort(key=lambda n: (n.start_ns, n.span_id))
        if node.span_type in MODEL_SPAN_TYPES:
            # the client span inside an LLM call repeats the call's details: show them once
            for child in node.children:
                if child.span_type in MODEL_SPAN_TYPES:
                    child.details = [d for d in child.details if d[0] not in ("model", "calls", "out")]
    roots.sort(key=lambda n: (n.start_ns, n.span_id))
    return roots


def trace_header(trace: dict[str, Any]) -> dict[str, Any]:
    """The trace-level facts shown above the tree."""
    info = trace["info"]
    meta = info.get("trace_metadata") or {}
    tags = info.get("tags") or {}
    from llmops.analysis.fields import first_prompt

    prompt_name, prompt_version = first_prompt(tags.get("mlflow.linkedPrompts"))
    usage = token_usage(meta.get("mlflow.trace.tokenUsage"))
    return {
        "trace_id": info["trace_id"],
        "status": info.get("state"),
        "start": info.get("request_time"),
        "duration_ms": info.get("execution_duration_ms"),
        "session": meta.get("mlflow.trace.session"),
        "user": meta.get("mlflow.trace.user"),
        "prompt": f"{prompt_name} v{prompt_version}" if prompt_name else None,
        "tokens": usage[2],
        "cost_usd": meta.get("llmops.cost_usd"),
        "assessments": [
            {
                "name": a.get("assessment_name"),
                "value": assessment_value(a.get("feedback") or a.get("expectation") or {}),
                "source": (a.get("source") or {}).get("source_type"),
                "rationale": a.get("rationale"),
            }
            for a in info.get("assessments") or ()
        ],
    }


def render(trace: dict[str, Any], *, limit: int | None = 160) -> Any:
    """A Rich renderable: the header line(s) then the span tree."""
    from rich.console import Group
    from rich.markup import escape
    from rich.text import Text
    from rich.tree import Tree

    header = trace_header(trace)
    status_style = "green" if header["status"] == "OK" else "bold red"
    facts = [f"[bold]{header['trace_id']}[/]", f"[{status_style}]{header['status']}[/]"]
    if header["duration_ms"] is not None:
        facts.append(f"{float(header['duration_ms']):,.0f} ms")
    for key in ("start", "session", "user", "prompt"):
        if header[key]:
            facts.append(f"{key} {escape(str(header[key]))}")
    if header["tokens"] is not None:
        facts.append(f"{header['tokens']:,} tokens")
    if header["cost_usd"] not in (None, ""):
        facts.append(f"${float(header['cost_usd']):.6f}")
    lines: list[Any] = [Text.from_markup("  ".join(facts))]
    for a in header["assessments"]:
        rationale = f" - {escape(compact(a['rationale'], limit))}" if a.get("rationale") else ""
        lines.append(
            Text.from_markup(
                f"[magenta]assessment[/] {escape(str(a['name']))} = {escape(compact(a['value'], limit))} ({a['source']}){rationale}"
            )
        )

    def label(node: SpanNode) -> Text:
        mark = "[bold red]✗ ERROR[/]" if node.status == "ERROR" else "[green]✓[/]"
        duration = f"{node.duration_ms:,.1f} ms" if node.duration_ms is not None else "unfinished"
        text = Text.from_markup(
            f"{mark} [bold]{escape(node.name)}[/] [cyan]{node.span_type}[/]  {duration}  [dim]+{node.offset_ms:,.1f} ms[/]"
        )
        if node.error:
            text.append("\n")
            text.append_text(Text.from_markup(f"[red]error:[/] {escape(node.error)}"))
        for key, value in node.details:
            text.append("\n")
            text.append_text(Text.from_markup(f"[dim]{key}:[/] {escape(value)}"))
        return text

    def add(tree: Any, node: SpanNode) -> None:
        branch = tree.add(label(node))
        for child in node.children:
            add(branch, child)

    roots = span_tree(trace, limit=limit)
    for root in roots:
        tree = Tree(label(root), guide_style="dim")
        for child in root.children:
            add(tree, child)
        lines.append(tree)
    return Group(*lines)


def tree_json(trace: dict[str, Any], *, limit: int | None = 160, full: bool = False) -> dict[str, Any]:
    """The header and the span tree as plain data (``--format json``)."""
    return {**trace_header(trace), "spans": [root.to_dict(full) for root in span_tree(trace, limit=limit)]}
