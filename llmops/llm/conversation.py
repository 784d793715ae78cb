"""Reading a chat request the way the analyzer writes it, while accepting any plain chat.

The analyzer's user message looks like ``Customer id: CUST-0042\\nChannel: email\\n<comment>...</comment>``.
The text inside ``<comment>`` is the comment to analyse (and is untrusted: passages or customer ids typed
inside it are ignored); without tags, the last user message is. Knowledge-base passages arrive as tool
results (JSON lists of ``{doc_id|id, title, content|page_content}``, possibly under ``metadata``) or as
``[doc-id] text`` lines in system/user text outside the comment.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_COMMENT = re.compile(r"<comment>(.*?)(?:</comment>|\Z)", re.IGNORECASE | re.DOTALL)
_CUSTOMER_LINE = re.compile(r"customer(?:[ _-]?id)?\s*[:=]\s*([A-Za-z]+-\d+)", re.IGNORECASE)
_CUSTOMER_ID = re.compile(r"\bCUST-\d{3,}\b", re.IGNORECASE)
_CHANNEL_LINE = re.compile(r"channel\s*[:=]\s*([\w -]{2,30})", re.IGNORECASE)
_INLINE_PASSAGE = re.compile(
    r"^[ \t]*(?:[-*\u2022]\s*)?\[([A-Za-z][\w.:/-]{1,80})\]\s*[:\-\u2013]?\s*(\S.+)$", re.MULTILINE
)


@dataclass(frozen=True)
class Passage:
    doc_id: str
    title: str
    content: str


@dataclass(frozen=True)
class ToolCallRecord:
    id: str
    name: str
    arguments: dict[str, Any]
    result: str | None


@dataclass
class Conversation:
    system: str
    comment: str
    comment_tagged: bool
    customer_id: str | None
    channel: str | None
    passages: list[Passage]
    tool_calls: list[ToolCallRecord]
    last_user: str
    searchable_text: str
    customer_records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def doc_ids(self) -> list[str]:
        return [p.doc_id for p in self.passages]

    def called(self, name: str) -> list[ToolCallRecord]:
        return [c for c in self.tool_calls if c.name == name]


def content_text(content: Any) -> str:
    """The text of a message content: a string, or the text parts of a content-part list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return str(content)


def _passages_from_json(data: Any, found: list[Passage], depth: int = 0) -> None:
    if depth > 6:
        return
    if isinstance(data, list):
        for item in data:
            _passages_from_json(item, found, depth + 1)
        return
    if not isinstance(data, dict):
        return
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    doc_id = data.get("doc_id") or data.get("id") or meta.get("doc_id") or meta.get("id") or meta.get("source")
    content = data.get("content") or data.get("page_content") or data.get("text") or data.get("snippet")
    if isinstance(doc_id, (str, int)) and isinstance(content, str) and content.strip():
        title = data.get("title") or meta.get("title") or ""
        found.append(Passage(str(doc_id), str(title), content.strip()))
        return
    for key in ("results", "documents", "passages", "docs", "items", "data", "hits", "context"):
        if key in data:
            _passages_from_json(data[key], found, depth + 1)


def passages_from_tool_result(text: str) -> list[Passage]:
    try:
        data = json.loads(text)
    except (ValueError, TypeError):
        return []
    found: list[Passage] = []
    _passages_from_json(data, found)
    return found


def inline_passages(text: str) -> list[Passage]:
    found = []
    for doc_id, body in _INLINE_PASSAGE.findall(text):
        if _CUSTOMER_ID.fullmatch(doc_id):
            continue
        found.append(Passage(doc_id, "", body.strip()))
    return found


def _outside_comment(text: str) -> str:
    return _COMMENT.sub(" ", text)


def parse_arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw) if isinstance(raw, str) else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def parse_conversation(messages: list[dict[str, Any]]) -> Conversation:
    system_parts: list[str] = []
    user_texts: list[str] = []
    passages: list[Passage] = []
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    order: list[str] = []
    results: dict[str, str] = {}
    records: list[dict[str, Any]] = []
    everything: list[str] = []

    for message in messages:
        role = message.get("role")
        text = content_text(message.get("content"))
        everything.append(text)
        if role in {"system", "developer"}:
            system_parts.append(text)
            passages += inline_passages(text)
        elif role == "user":
            user_texts.append(text)
            passages += inline_passages(_outside_comment(text))
        elif role == "assistant":
            for call in message.get("tool_calls") or []:
                if not isinstance(call, dict):
                    continue
                fn = call.get("function") or {}
                call_id = str(call.get("id") or f"call-{len(order)}")
                calls[call_id] = (str(fn.get("name") or ""), parse_arguments(fn.get("arguments")))
                order.append(call_id)
                everything.append(json.dumps(fn, ensure_ascii=False, sort_keys=True))
        elif role in {"tool", "function"}:
            call_id = str(message.get("tool_call_id") or message.get("name") or f"result-{len(results)}")
            results[call_id] = text
            if call_id not in calls and role == "function":
                calls[call_id] = (str(message.get("name") or ""), {})
                order.append(call_id)
            found = passages_from_tool_result(text)
            passages += found
            if not found:
                try:
                    data = json.loads(text)
                except ValueError:
                    data = None
                if isinstance(data, dict):
                    records.append(data)

    comment_tagged = False
    comment = ""
    for text in reversed(user_texts):
        match = _COMMENT.search(text)
        if match:
            comment, comment_tagged = match.group(1).strip(), True
            break
    last_user = user_texts[-1] if user_texts else ""
    if not comment_tagged:
        comment = last_user.strip()

    # The customer id comes from the trusted envelope (outside <comment>) when there is one.
    customer_id = None
    channel = None
    for text in reversed(user_texts):
        outside = _outside_comment(text) if comment_tagged else text
        line = _CUSTOMER_LINE.search(outside)
        any_id = _CUSTOMER_ID.search(outside)
        if customer_id is None and (line or any_id):
            customer_id = (line.group(1) if line else any_id.group(0)).upper()
        chan = _CHANNEL_LINE.search(outside)
        if channel is None and chan and comment_tagged:
            channel = chan.group(1).strip().lower()

    unique: dict[str, Passage] = {}
    for p in passages:
        unique.setdefault(p.doc_id, p)
    tool_calls = [ToolCallRecord(cid, calls[cid][0], calls[cid][1], results.get(cid)) for cid in order]
    return Conversation(
        system="\n".join(system_parts),
        comment=comment,
        comment_tagged=comment_tagged,
        customer_id=customer_id,
        channel=channel,
        passages=list(unique.values()),
        tool_calls=tool_calls,
        last_user=last_user,
        searchable_text="\n".join(everything),
        customer_records=records,
    )
