"""The offline model: an OpenAI request body in, an OpenAI response body out. No I/O, no clock, no randomness.

Ids and ``created`` derive from a hash of the request, so the same request gives the same bytes. The HTTP
server (:mod:`llmops.llm.server`) adds transport, latency and HTTP-level faults around it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from llmops.llm import embeddings as offline_embeddings
from llmops.llm.analysis import Analysis, analyze
from llmops.llm.answers import DEFAULT_FIELDS, Knowledge, requested_fields
from llmops.llm.conversation import Conversation, content_text, parse_conversation
from llmops.llm.directives import NO_DIRECTIVES, Directives, read_directives
from llmops.llm.faults import FaultDecision
from llmops.llm.judge import TRACE_TOOLS, is_judge_request, judge_answer
from llmops.llm.policy import break_arguments, plan
from llmops.llm.protocol import embedding_inputs, validate_chat
from llmops.llm.reply import compose_reply
from llmops.llm.schema import fill
from llmops.llm.tokenizer import count_message_tokens, count_tokens, split_for_stream

MODELS = ("offline-analyst", "offline-judge", "offline-embed")
_EPOCH = 1_767_225_600  # 2026-01-01: ``created`` is this plus a hash of the request, never the clock
FINGERPRINT = "fp_offline_1"


def request_key(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@lru_cache(maxsize=4096)
def cached_analysis(text: str, directives: Directives = NO_DIRECTIVES) -> Analysis:
    return analyze(text, directives)


@dataclass
class ChatResult:
    """A finished completion, ready to be sent whole or as server-sent events."""

    response: dict[str, Any]
    chunks: list[dict[str, Any]] = field(default_factory=list)
    #: Content faults this answer carries (a tool-call turn carries no hallucinated reply).
    faults_used: set[str] = field(default_factory=set)


def _kb_query(analysis: Analysis) -> str:
    terms = [t.replace("_", " ") for t in analysis.topics] + list(analysis.keywords[:6])
    seen: list[str] = []
    for term in terms:
        if term not in seen:
            seen.append(term)
    return " ".join(seen)[:200] or "customer question"


def _corrupt_json(text: str) -> str:
    """Cut a JSON text so that it no longer parses (the ``malformed_json`` fault)."""
    if not text.lstrip().startswith(("{", "[")):
        text = json.dumps({"answer": text}, ensure_ascii=False)
    cut = max(2, int(len(text) * 0.6))
    broken = text[:cut].rstrip("}] \n")
    try:
        json.loads(broken)
        broken = broken + ',"'
    except ValueError:
        pass
    return broken


def _apply_content_faults(
    content: str | None, tool_calls: list[dict[str, Any]] | None, tools: list[dict[str, Any]], faults: FaultDecision
) -> tuple[str | None, list[dict[str, Any]] | None]:
    if tool_calls and faults.wrong_tool_args:
        schemas = {
            (t.get("function") or {}).get("name"): (t.get("function") or {}).get("parameters") or {} for t in tools
        }
        first = tool_calls[0]["function"]
        broken = break_arguments(json.loads(first["arguments"]), schemas.get(first["name"], {}))
        first["arguments"] = json.dumps(broken, ensure_ascii=False)
    if faults.malformed_json:
        if tool_calls:
            tool_calls[0]["function"]["arguments"] = _corrupt_json(tool_calls[0]["function"]["arguments"])
        elif content is not None:
            content = _corrupt_json(content)
    return content, tool_calls


def _faults_used(faults: FaultDecision, content: str | None, tool_calls: list[dict[str, Any]] | None) -> set[str]:
    used = set()
    if faults.malformed_json and (content is not None or tool_calls):
        used.add("malformed_json")
    if faults.wrong_tool_args and tool_calls:
        used.add("wrong_tool_args")
    if faults.hallucination and content is not None and not tool_calls:
        used.add("hallucination")
    return used


def _truncate(content: str, limit: int) -> str:
    """The longest prefix of ``content`` within ``limit`` tokens (``max_tokens``)."""
    kept, used = [], 0
    for piece in split_for_stream(content, 1):
        cost = count_tokens(piece)
        if used + cost > limit:
            break
        kept.append(piece)
        used += cost
    return "".join(kept)


def _usage(body: dict[str, Any], completion_text: str, n: int) -> dict[str, Any]:
    prompt_tokens = count_message_tokens(body["messages"], body.get("tools") or None)
    rf = body.get("response_format")
    if isinstance(rf, dict) and rf.get("type") == "json_schema":
        prompt_tokens += count_tokens(json.dumps(rf.get("json_schema") or {}, ensure_ascii=False, sort_keys=True))
    completion_tokens = count_tokens(completion_text) * n
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


class OfflineModel:
    """Deterministic chat completions, embeddings and model listing over plain dicts."""

    def models(self) -> dict[str, Any]:
        return {"object": "list", "data": [self.model(name) for name in MODELS]}

    @staticmethod
    def model(name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": _EPOCH, "owned_by": "llmops-offline"}

    # --- embeddings -------------------------------------------------------------------------------------

    def embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        texts = embedding_inputs(body)
        dims = body.get("dimensions") or offline_embeddings.DIMENSIONS
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            vector = offline_embeddings.embed_one(text, dims)
            value: Any = (
                base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii") if as_base64 else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": value})
        tokens = sum(count_tokens(t) for t in texts)
        return {
            "object": "list",
            "data": data,
            "model": body["model"],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    # --- chat -------------------------------------------------------------------------------------------

    def chat(self, body: dict[str, Any], faults: FaultDecision | None = None) -> ChatResult:
        validate_chat(body)
        faults = faults or FaultDecision()
        key = request_key(body)
        messages: list[dict[str, Any]] = body["messages"]
        conv = parse_conversation(messages)
        all_text = "\n".join(content_text(m.get("content")) for m in messages)
        if is_judge_request(body, all_text):
            content, tool_calls = self._judge(body, conv, all_text, key)
        else:
            content, tool_calls = self._analyst(body, conv, key, faults)
        content, tool_calls = _apply_content_faults(content, tool_calls, body.get("tools") or [], faults)
        finish = "tool_calls" if tool_calls else "stop"
        limit = body.get("max_completion_tokens") or body.get("max_tokens")
        if content is not None and limit and count_tokens(content) > limit:
            content, finish = _truncate(content, limit), "length"

        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None, "annotations": []}
        if tool_calls:
            message["tool_calls"] = tool_calls
        n = body.get("n") or 1
        response = {
            "id": "chatcmpl-" + key[:29],
            "object": "chat.completion",
            "created": _EPOCH + int(key[:8], 16) % 10_000_000,
            "model": body["model"],
            "choices": [
                {"index": i, "message": json.loads(json.dumps(message)), "logprobs": None, "finish_reason": finish}
                for i in range(n)
            ],
            "usage": _usage(body, content or json.dumps(tool_calls or [], ensure_ascii=False), n),
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
        }
        result = ChatResult(response, faults_used=_faults_used(faults, content, tool_calls))
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            result.chunks = stream_chunks(response, include_usage)
        return result

    @staticmethod
    def _judge(
        body: dict[str, Any], conv: Conversation, all_text: str, key: str
    ) -> tuple[str | None, list[dict[str, Any]] | None]:
        """A judge's verdict, after reading the trace through its tools when it offers them."""
        tools = body.get("tools") or []
        trace_tools = [(t.get("function") or {}).get("name") for t in tools]
        trace_tools = [name for name in trace_tools if name in TRACE_TOOLS]
        results = [c.result for c in conv.tool_calls if c.result]
        if trace_tools and not results and body.get("tool_choice", "auto") != "none":
            name = "get_root_span" if "get_root_span" in trace_tools else trace_tools[0]
            return None, [{"id": "call_" + key[:24], "type": "function", "function": {"name": name, "arguments": "{}"}}]
        return judge_answer(body, all_text, conv.system, results), None

    @staticmethod
    def _analyst(
        body: dict[str, Any], conv: Conversation, key: str, faults: FaultDecision
    ) -> tuple[str | None, list[dict[str, Any]] | None]:
        """The analyst's next move: tool calls, or the answer as JSON (schema or object) or prose."""
        rf = body.get("response_format") or {}
        rf_type = rf.get("type", "text") if isinstance(rf, dict) else "text"
        final_name = (rf.get("json_schema") or {}).get("name") if rf_type == "json_schema" else None
        # Directives come from the system prompt only: the comment is data, whatever it says.
        tool_names = tuple(str((t.get("function") or {}).get("name") or "") for t in body.get("tools") or [])
        directives = read_directives(conv.system, tool_names)
        analysis = cached_analysis(conv.comment, directives.analysis_key())
        reply = compose_reply(
            analysis, conv.passages, hallucinate=faults.hallucination, language=directives.reply_language
        )
        knowledge = Knowledge(analysis, conv, reply, _kb_query(analysis), directives=directives)
        parallel = body.get("parallel_tool_calls", True) is not False
        tool_calls = plan(
            knowledge, body.get("tools") or [], body.get("tool_choice", "auto"), parallel, key, final_name
        )
        if tool_calls is not None:
            return None, tool_calls
        if rf_type == "json_schema":
            schema = (rf.get("json_schema") or {}).get("schema") or {}
            return json.dumps(fill(schema, knowledge.provider()), ensure_ascii=False), None
        if rf_type == "json_object":
            asked = requested_fields(conv.system + "\n" + conv.last_user)
            fields = list(DEFAULT_FIELDS) + [f for f in asked if f not in DEFAULT_FIELDS]
            return json.dumps(knowledge.default_object(fields), ensure_ascii=False), None
        # Without <comment> tags the user message is both the instructions and the text to analyse.
        instructions = conv.system if conv.comment_tagged else conv.system + "\n" + conv.last_user
        return knowledge.prose(instructions), None


def stream_chunks(response: dict[str, Any], include_usage: bool) -> list[dict[str, Any]]:
    """A finished completion as the chunks of a stream (content in word-sized pieces, tool arguments in 8s)."""
    base = {
        "id": response["id"],
        "object": "chat.completion.chunk",
        "created": response["created"],
        "model": response["model"],
        "service_tier": "default",
        "system_fingerprint": response["system_fingerprint"],
    }

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        c = {**base, "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if include_usage:
            c["usage"] = None
        return c

    out: list[dict[str, Any]] = []
    for choice in response["choices"]:
        i = choice["index"]
        message = choice["message"]
        out.append(
            chunk(
                i, {"role": "assistant", "content": "" if not message.get("tool_calls") else None, "refusal": None}
            )
        )
        for piece in split_for_stream(message.get("content") or ""):
            out.append(chunk(i, {"content": piece}))
        for t, call in enumerate(message.get("tool_calls") or []):
            head = {
                "index": t,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["function"]["name"], "arguments": ""},
            }
            out.append(chunk(i, {"tool_calls": [head]}))
            for piece in split_for_stream(call["function"]["arguments"], 8):
                out.append(chunk(i, {"tool_calls": [{"index": t, "function": {"arguments": piece}}]}))
        out.append(chunk(i, {}, choice["finish_reason"]))
    if include_usage:
        out.append({**base, "choices": [], "usage": response["usage"]})
    return out
