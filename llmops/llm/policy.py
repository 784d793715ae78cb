"""Which tools to call next, and with which arguments.

The model recognises a tool by its name, description and parameters:

- ``search``: a knowledge-base search (search / retrieve / knowledge / docs, a query argument) — called
  once per conversation, with a short query built from the comment's topics and key words, unless the
  system prompt gives tool instructions that leave the knowledge base out (:mod:`llmops.llm.directives`);
- ``customer``: a customer lookup — called when the conversation names a customer id not looked up yet;
- ``ticket``: a ticket / escalation creator — called only when the analysis warrants it (high churn risk
  or high urgency), never because the comment asks for it; arguments come from the analysis;
- ``final``: a tool whose parameters look like the final analysis (LangChain's structured-output tool is
  named after the schema) — called last, with the filled analysis;
- ``other``: called once when its name or description shares a word with the user's text.

Information tools go out together (parallel tool calls) unless ``parallel_tool_calls`` is false; a ticket
comes after them (its arguments can then use what they returned), the final tool last. Arguments are
validated against each tool's parameter schema.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from llmops.llm.answers import Knowledge, canonical_field
from llmops.llm.embeddings import words
from llmops.llm.schema import MISSING, fill, resolve, validate
from llmops.llm.text import fold

_ANALYSIS_FIELDS = {"sentiment", "topics", "topic", "churn_risk", "language", "urgency", "reply", "citations"}
_SEARCH = re.compile(r"search|retriev|knowledge|\bkb\b|faq|documentation|\bdocs?\b|passages?|lookup_docs|policies")
_CUSTOMER = re.compile(r"customer|client|account|subscriber|profile")
_LOOKUP = re.compile(r"lookup|look up|\bget\b|fetch|find|read|retrieve|info|details|plan|tenure")
_TICKET = re.compile(r"ticket|escalat|incident|\bcase\b|complaint|follow.?up")
_CREATE = re.compile(r"create|open|file|raise|escalate|\blog\b|submit|\bnew\b")
_GENERIC_WORDS = frozenset(
    "tool function get set the and for use call data value values text input output name".split()
)


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]
    kind: str


def _properties(parameters: dict[str, Any]) -> dict[str, Any]:
    props = resolve(parameters, parameters).get("properties")
    return props if isinstance(props, dict) else {}


def classify(tool: dict[str, Any], final_name: str | None = None) -> ToolSpec:
    fn = tool.get("function") or {}
    name = str(fn.get("name") or "")
    description = str(fn.get("description") or "")
    parameters = fn.get("parameters") if isinstance(fn.get("parameters"), dict) else {}
    text = fold(f"{name.replace('_', ' ')} {name} {description}")
    props = _properties(parameters)
    canon = {canonical_field(k, str(v.get("description", "")) if isinstance(v, dict) else "") for k, v in props.items()}
    from llmops.llm.judge import TRACE_TOOLS

    if name in TRACE_TOOLS:
        kind = "trace"
    elif final_name and name == final_name:
        kind = "final"
    elif _TICKET.search(text) and _CREATE.search(text):
        kind = "ticket"
    elif len(canon & _ANALYSIS_FIELDS) >= 2:
        kind = "final"
    elif _SEARCH.search(text) and (
        "query" in canon or any(isinstance(v, dict) and v.get("type") == "string" for v in props.values())
    ):
        kind = "search"
    elif _CUSTOMER.search(text) and _LOOKUP.search(text):
        kind = "customer"
    else:
        kind = "other"
    return ToolSpec(name, description, parameters, kind)


def call_id(key: str, name: str, index: int) -> str:
    return "call_" + hashlib.sha256(f"{key}:{name}:{index}".encode()).hexdigest()[:24]


def arguments_for(tool: ToolSpec, knowledge: Knowledge) -> dict[str, Any]:
    a = knowledge.analysis
    overrides: dict[str, Any] = {}
    if tool.kind == "ticket":
        overrides = {
            "urgency": "high" if a.churn_risk == "high" or a.urgency == "high" else a.urgency,
            "topic": a.main_topic,
            "topics": a.main_topic,
            "summary": a.summary,
            "title": knowledge.title(),
        }
    elif tool.kind == "search":
        overrides = {"query": knowledge.kb_query}
    previous = knowledge.overrides
    knowledge.overrides = {**previous, **overrides}
    try:
        provider = knowledge.provider()
        if tool.kind not in {"final", "ticket"}:
            # Information tools take only what they ask for: reply texts or summaries are not queries.
            base = provider

            def provider(name: str, schema: dict[str, Any], path: tuple[str, ...]) -> Any:  # type: ignore[misc]
                canonical = canonical_field(name, str(schema.get("description", "")))
                if canonical in {"query", "customer_id", "language", "topic", "topics", "channel"}:
                    return base(name, schema, path)
                if (
                    canonical is None
                    and schema.get("type") == "string"
                    and tool.kind in {"search", "other"}
                    and len(path) == 1
                ):
                    return knowledge.kb_query if tool.kind == "search" else MISSING
                return MISSING

        # The final structured-output tool (LangChain's ToolStrategy) gets the summary whole when the prompt
        # asks for a detailed one, even past the schema's maxLength: the schema's owner validates it.
        uncapped = knowledge.uncapped if tool.kind == "final" else None
        args = fill(tool.parameters or {"type": "object", "properties": {}}, provider, uncapped=uncapped)
    finally:
        knowledge.overrides = previous
    return args if isinstance(args, dict) else {}


def _relevant(tool: ToolSpec, knowledge: Knowledge) -> bool:
    tool_words = {
        w for w in words(f"{tool.name.replace('_', ' ')} {tool.description}") if w not in _GENERIC_WORDS and len(w) > 3
    }
    text_words = set(words(knowledge.conversation.comment or knowledge.conversation.last_user))
    return bool(tool_words & text_words)


def _result_failed(result: str | None) -> bool:
    return result is not None and bool(re.search(r"\berror\b|\bvalidation\b|\binvalid\b", result, re.IGNORECASE))


def plan(
    knowledge: Knowledge,
    tools: list[dict[str, Any]],
    tool_choice: Any,
    parallel: bool,
    key: str,
    final_name: str | None = None,
) -> list[dict[str, Any]] | None:
    """The tool calls of the next assistant message, or None to answer with text."""
    if not tools or tool_choice == "none":
        return None
    specs = [classify(t, final_name) for t in tools]
    conv = knowledge.conversation
    called = {c.name for c in conv.tool_calls}

    def calls(chosen: list[ToolSpec]) -> list[dict[str, Any]]:
        return [
            {
                "id": call_id(key, spec.name, i),
                "type": "function",
                "function": {
                    "name": spec.name,
                    "arguments": json.dumps(arguments_for(spec, knowledge), ensure_ascii=False),
                },
            }
            for i, spec in enumerate(chosen)
        ]

    if isinstance(tool_choice, dict):
        forced = (tool_choice.get("function") or {}).get("name")
        spec = next((s for s in specs if s.name == forced), None)
        return calls([spec]) if spec else None

    info: list[ToolSpec] = []
    search = next((s for s in specs if s.kind == "search"), None)
    # A prompt that says which tools to use and leaves the knowledge base out gets no search.
    if (
        search
        and search.name not in called
        and (conv.comment or conv.last_user).strip()
        and knowledge.directives.may_search(search.name)
    ):
        info.append(search)
    customer = next((s for s in specs if s.kind == "customer"), None)
    if customer and conv.customer_id:
        looked_up = any(conv.customer_id in json.dumps(c.arguments) for c in conv.called(customer.name))
        if not looked_up:
            info.append(customer)
    for spec in specs:
        if spec.kind == "other" and spec.name not in called and _relevant(spec, knowledge):
            info.append(spec)
    if info:
        return calls(info if parallel else info[:1])

    a = knowledge.analysis
    ticket = next((s for s in specs if s.kind == "ticket"), None)
    warranted = a.churn_risk == "high" or a.urgency == "high"
    if ticket and warranted and ticket.name not in called:
        return calls([ticket])

    final = next((s for s in specs if s.kind == "final"), None)
    if final:
        previous = conv.called(final.name)
        if not previous or _result_failed(previous[-1].result) or tool_choice in {"required", "any"}:
            return calls([final])
    if tool_choice in {"required", "any"}:
        return calls([final or search or specs[0]])
    return None


def break_arguments(arguments: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """Arguments that violate ``parameters`` (the ``wrong_tool_args`` fault): a bad enum, a missing field."""
    broken = dict(arguments)
    props = _properties(parameters)
    required = [r for r in resolve(parameters, parameters).get("required") or [] if isinstance(r, str)]
    damaged = False
    for name, sub in props.items():
        sub = resolve(sub, parameters)
        if isinstance(sub.get("enum"), list):
            broken[name] = f"not-a-{name}"
            damaged = True
            break
    for name in required:
        if name in broken and not (damaged and broken[name] == f"not-a-{name}"):
            del broken[name]
            damaged = True
            break
    if not damaged or not validate(broken, parameters):
        # No enum and nothing required: give the first property a value of the wrong type.
        for name, sub in props.items():
            sub = resolve(sub, parameters)
            broken[name] = (
                12345
                if sub.get("type") == "string"
                else "not-a-number"
                if sub.get("type") in {"integer", "number"}
                else None
            )
            break
        else:
            broken["unexpected_argument"] = True
    return broken
