"""MLflow's stored span and trace values decoded: attribute JSON, span ids, errors, token usage, documents.

Shared by the readers of trace files, of the SQLite store and of single traces (:mod:`llmops.analysis.tree`).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import Any

from llmops.analysis.io import loads

MODEL_SPAN_TYPES = frozenset({"CHAT_MODEL", "LLM"})
STATUS = {
    "STATUS_CODE_OK": "OK",
    "STATUS_CODE_ERROR": "ERROR",
    "STATUS_CODE_UNSET": "UNSET",
    "OK": "OK",
    "ERROR": "ERROR",
    "UNSET": "UNSET",
}
_HTTP_STATUS = re.compile(r"(?:Error code|status(?:[ _]code)?|HTTP)[:= ]+(\d{3})\b", re.IGNORECASE)
_HTTP_BY_TYPE = {
    "BadRequestError": 400, "AuthenticationError": 401, "PermissionDeniedError": 403, "NotFoundError": 404,
    "ConflictError": 409, "UnprocessableEntityError": 422, "RateLimitError": 429, "OpenAIRateLimitError": 429,
    "InternalServerError": 500,
}  # fmt: skip
MAX_MESSAGE = 500
_HEX16 = re.compile(r"[0-9a-f]{16}")
_DECODED: dict[str, Any] = {}  # decoded short attribute values (span types, model names): they repeat


def decoded(value: Any) -> Any:
    """An attribute value as stored by MLflow (a JSON-encoded string) decoded; other values unchanged."""
    if isinstance(value, (str, bytes)):
        try:
            return loads(value)
        except ValueError:
            return value
    return value


def short_text(value: Any) -> str | None:
    """``as_text`` with a cache, for short values that repeat across spans (span type, model name)."""
    if value is None:
        return None
    hit = _DECODED.get(value)
    if hit is None and isinstance(value, str):
        hit = as_text(value)
        if len(_DECODED) < 10_000:
            _DECODED[value] = hit
    return hit


def as_text(value: Any) -> str | None:
    value = decoded(value)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def span_id_hex(value: Any) -> str | None:
    """A span id as 16 hex digits, from MLflow's JSON (base64 of 8 bytes), a hex string or ``0x``-prefixed hex."""
    if not value:
        return None
    text = str(value)
    if len(text) == 12:  # MLflow's trace JSON: base64 of the 8 id bytes
        try:
            return binascii.a2b_base64(text).hex()
        except (binascii.Error, ValueError):
            return text
    if text.startswith("0x"):
        return text[2:]
    if _HEX16.fullmatch(text):
        return text
    try:
        return base64.b64decode(text, validate=True).hex()
    except (binascii.Error, ValueError):
        return text


def first_prompt(linked: Any) -> tuple[str | None, int | None]:
    """The (name, version) of the first prompt in an ``mlflow.linkedPrompts`` tag value."""
    prompts = decoded(linked) if linked else None
    if not isinstance(prompts, list) or not prompts or not isinstance(prompts[0], dict):
        return None, None
    name = prompts[0].get("name")
    try:
        version = int(prompts[0].get("version"))
    except (TypeError, ValueError):
        version = None
    return name, version


def as_float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def http_status_of(error_type: str | None, message: str | None) -> int | None:
    if message:
        match = _HTTP_STATUS.search(message)
        if match:
            return int(match.group(1))
    return _HTTP_BY_TYPE.get(error_type or "")


def exception_of(events: Any) -> tuple[str | None, str | None]:
    events = decoded(events)
    if not isinstance(events, list):
        return None, None
    for event in events:
        if isinstance(event, dict) and event.get("name") == "exception":
            attrs = event.get("attributes") or {}
            return as_text(attrs.get("exception.type")), as_text(attrs.get("exception.message"))
    return None, None


def error_fields(events: Any, status_message: str | None) -> tuple[str | None, str | None, int | None]:
    """(exception type, message, HTTP status) of a failed span: its exception event, else its status."""
    error_type, error_message = exception_of(events)
    error_message = error_message or status_message or None
    if error_message and len(error_message) > MAX_MESSAGE:
        error_message = error_message[: MAX_MESSAGE - 1] + "…"
    return error_type, error_message, http_status_of(error_type, error_message)


def has_invalid_tool_args(outputs: Any) -> bool:
    """True when a model's output carries tool calls whose JSON arguments do not parse (a broken structured
    answer), or LangChain's ``invalid_tool_calls``."""
    if outputs is None:
        return False
    if isinstance(outputs, str):
        if '"arguments"' not in outputs and "invalid_tool_calls" not in outputs:
            return False
        try:
            outputs = loads(outputs)
        except ValueError:
            return False
    if isinstance(outputs, dict) and isinstance(outputs.get("choices"), list):  # OpenAI's chat completion
        for choice in outputs["choices"]:
            message = choice.get("message") if isinstance(choice, dict) else None
            if not isinstance(message, dict):
                continue
            if message.get("invalid_tool_calls"):
                return True
            for call in message.get("tool_calls") or ():
                function = call.get("function") if isinstance(call, dict) else None
                arguments = function.get("arguments") if isinstance(function, dict) else None
                if isinstance(arguments, str):
                    try:
                        loads(arguments)
                    except ValueError:
                        return True
        return False
    stack, steps = [outputs], 0  # any other shape: look for "arguments" strings and invalid_tool_calls
    while stack and steps < 2000:
        steps += 1
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("invalid_tool_calls"):
                return True
            arguments = node.get("arguments")
            if isinstance(arguments, str):
                try:
                    loads(arguments)
                except ValueError:
                    return True
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    return False


def retrieved_documents(doc_ids: Any, outputs: Any) -> tuple[tuple[str, ...], int]:
    """(distinct doc ids in first-seen order, number of documents) of a retriever span."""
    ids = decoded(doc_ids) if doc_ids is not None else None
    if not isinstance(ids, list):
        docs = decoded(outputs) if outputs is not None else None
        ids = []
        if isinstance(docs, list):
            for doc in docs:
                if isinstance(doc, dict):
                    meta = doc.get("metadata") or {}
                    ids.append(meta.get("doc_id") or meta.get("doc_uri") or doc.get("id") or "")
        elif docs is not None and not isinstance(docs, list):
            return (), 0
    seen: dict[str, None] = {}
    for doc_id in ids:
        if doc_id:
            seen.setdefault(str(doc_id), None)
    return tuple(seen), len(ids)


def query_of(inputs: Any) -> str | None:
    value = decoded(inputs) if inputs is not None else None
    if isinstance(value, dict):
        for key in ("query", "question", "input", "text"):
            if isinstance(value.get(key), str):
                return value[key]
        return None
    return value if isinstance(value, str) else None


def token_usage(value: Any) -> tuple[int | None, int | None, int | None]:
    usage = decoded(value) if value is not None else None
    if not isinstance(usage, dict):
        return None, None, None
    i, o, t = usage.get("input_tokens"), usage.get("output_tokens"), usage.get("total_tokens")
    if t is None and (i is not None or o is not None):
        t = (i or 0) + (o or 0)
    return i, o, t


def as_tuple(value: Any) -> tuple | None:
    value = decoded(value) if value is not None else None
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return None


def as_bool(value: Any) -> bool | None:
    value = decoded(value) if value is not None else None
    return value if isinstance(value, bool) else None


def assessment_value(body: dict[str, Any]) -> Any:
    """The value of a feedback or expectation body, including MLflow's JSON-serialised expectation values."""
    value = body.get("value")
    if value is None and "serialized_value" in body:
        value = decoded((body.get("serialized_value") or {}).get("value"))
    return value


def iso_to_ms(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return round(moment.timestamp() * 1000)
