"""Record/replay: answer model requests with the answers recorded in a trace file (a *cassette*).

A cassette is any trace file (``llmops traces export`` output: MLflow's trace JSON, one trace per line). Every
CHAT_MODEL span that holds a request and its answer is a recording; so is every EMBEDDING span of the ``openai``
client. Spans of LangChain's ``ChatOpenAI`` (request in ``mlflow.spanInputs`` + ``invocation_params``, token
usage in ``mlflow.chat.tokenUsage``) and of the ``openai`` client (the ``create`` keyword arguments and the
``ChatCompletion``) are both understood. A CHAT_MODEL span inside another one is the same call seen twice
(LangChain over the ``openai`` client): the outermost one is kept.

**Match rule.** A request matches a recording when their *normalised* requests are equal:

- ``model``;
- ``messages``: for each message its role and its text (content parts joined, ``\\r\\n`` -> ``\\n``, outer
  whitespace stripped), and for assistant turns the tool calls' names and arguments (arguments compared as
  parsed JSON); tool-call ids, ``name`` fields and message order inside a turn's metadata are ignored, since
  a real model invents new ids on every call;
- ``tools``: each tool's name, description and parameter schema (compared as JSON, in name order);
- ``response_format`` (``text`` is the same as none);
- both sides masked by :func:`llmops.tracing.redaction.redact`, as the recorded spans were.

Sampling parameters (``temperature``, ``max_tokens``, ``stream``, ``tool_choice``...) are not part of the
match. When several recordings share a request they are answered in recording order, the last one repeating.
A streamed request gets the recorded answer as a stream (tool calls included). Embeddings match on
``model``, ``input`` and ``dimensions``.

Strict mode: a request with no recording is refused with HTTP 400 (``code: replay_no_match``) naming the
closest recording and what differs; every miss is kept in :attr:`ReplayModel.misses`. Fallback mode: the
request goes to the offline model and is counted in :attr:`ReplayModel.counts` (``fallback``).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops.analysis.errors import TraceFileError
from llmops.analysis.io import LineProblem, check_trace_file, iter_trace_file
from llmops.llm.conversation import content_text
from llmops.llm.faults import FaultDecision
from llmops.llm.model import ChatResult, OfflineModel, stream_chunks
from llmops.llm.protocol import APIError, embedding_inputs, validate_chat
from llmops.tracing.redaction import redact

MODES = ("strict", "fallback")
RECORDED_SPAN_TYPES = ("CHAT_MODEL", "EMBEDDING")
_ROLES = {"human": "user", "ai": "assistant", "AIMessageChunk": "assistant", "function": "tool"}


# ---------------------------------------------------------------------------------------------------------
# Normalised requests
# ---------------------------------------------------------------------------------------------------------


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _text(content: Any) -> str:
    return content_text(content).replace("\r\n", "\n").strip()


def normalise_messages(messages: list[Any]) -> list[dict[str, Any]]:
    out = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = str(message.get("role") or message.get("type") or "")
        entry: dict[str, Any] = {"role": _ROLES.get(role, role), "content": _text(message.get("content"))}
        calls = message.get("tool_calls") or []
        if calls:
            entry["tool_calls"] = [
                {"name": (c.get("function") or {}).get("name"), "arguments": _arguments((c.get("function") or {}).get("arguments"))}
                for c in calls
                if isinstance(c, dict)
            ]
        out.append(entry)
    return out


def normalise_tools(tools: list[Any] | None) -> list[dict[str, Any]]:
    out = []
    for tool in tools or []:
        fn = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(fn, dict):
            out.append({"name": fn.get("name"), "description": fn.get("description") or "", "parameters": fn.get("parameters") or {}})
    return sorted(out, key=lambda t: str(t["name"]))


def normalise_response_format(rf: Any) -> Any:
    if not isinstance(rf, dict) or rf.get("type") in (None, "text"):
        return None
    return rf


def normalise_chat(body: dict[str, Any]) -> dict[str, Any]:
    """The parts of a chat request that decide the answer (the match rule of the module docstring)."""
    # Traces are stored redacted (llmops.tracing masks e-mails, phones, keys...): the live request is masked
    # the same way, or a comment with an e-mail address could never match its own recording.
    return redact(
        {
            "model": body.get("model"),
            "messages": normalise_messages(body.get("messages") or []),
            "tools": normalise_tools(body.get("tools")),
            "response_format": normalise_response_format(body.get("response_format")),
        }
    )


def normalise_embeddings(body: dict[str, Any]) -> dict[str, Any]:
    value = body.get("input")
    inputs = [value] if isinstance(value, str) else value
    return redact({"model": body.get("model"), "input": inputs, "dimensions": body.get("dimensions")})


def key_of(normalised: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(normalised).encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------------------
# Reading recordings out of spans
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    """One recorded call: its normalised request, the answer to send back, and where it was recorded."""

    endpoint: str  # "chat" or "embeddings"
    request: dict[str, Any]
    response: dict[str, Any]
    trace_id: str
    span_name: str
    line: int

    @property
    def where(self) -> str:
        return f"trace {self.trace_id} (line {self.line}), span {self.span_name!r}"


def _attr(attributes: dict[str, Any], name: str) -> Any:
    value = attributes.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _span_type(span: dict[str, Any]) -> str:
    return str(_attr(span.get("attributes") or {}, "mlflow.spanType") or "")


def _chat_request(attributes: dict[str, Any]) -> dict[str, Any] | None:
    inputs = _attr(attributes, "mlflow.spanInputs")
    if isinstance(inputs, list) and inputs and isinstance(inputs[0], list):  # LangChain: a batch of one
        inputs = {"messages": inputs[0]}
    if not isinstance(inputs, dict) or not isinstance(inputs.get("messages"), list):
        return None
    params = _attr(attributes, "invocation_params")
    params = params if isinstance(params, dict) else {}
    request = {**params, **inputs}
    request["model"] = inputs.get("model") or params.get("model") or params.get("model_name") or _attr(attributes, "mlflow.llm.model")
    if "tools" not in request and isinstance(_attr(attributes, "mlflow.chat.tools"), list):
        request["tools"] = _attr(attributes, "mlflow.chat.tools")
    return request


def _usage(attributes: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any] | None:
    if isinstance(outputs.get("usage"), dict):
        return outputs["usage"]
    usage = _attr(attributes, "mlflow.chat.tokenUsage")
    if not isinstance(usage, dict):
        return None
    prompt, completion = int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": int(usage.get("total_tokens") or prompt + completion),
        "prompt_tokens_details": {"cached_tokens": int(usage.get("cache_read_input_tokens") or 0), "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _chat_response(attributes: dict[str, Any], request: dict[str, Any], key: str) -> dict[str, Any] | None:
    outputs = _attr(attributes, "mlflow.spanOutputs")
    if not isinstance(outputs, dict) or not isinstance(outputs.get("choices"), list) or not outputs["choices"]:
        return None
    choices = []
    for index, choice in enumerate(outputs["choices"]):
        message = dict(choice.get("message") or {})
        message = {k: v for k, v in message.items() if k not in ("tool_call_id", "name") or v is not None}
        message["role"] = "assistant"
        message.setdefault("content", None)
        message.setdefault("refusal", None)
        if not message.get("tool_calls"):
            message.pop("tool_calls", None)
        finish = choice.get("finish_reason") or ("tool_calls" if message.get("tool_calls") else "stop")
        choices.append({"index": choice.get("index", index), "message": message, "logprobs": None, "finish_reason": finish})
    response: dict[str, Any] = {
        "id": outputs.get("id") or "chatcmpl-replay-" + key[:24],
        "object": "chat.completion",
        "created": outputs.get("created") or 1_767_225_600 + int(key[:8], 16) % 10_000_000,
        "model": outputs.get("model") or request.get("model"),
        "choices": choices,
        "system_fingerprint": outputs.get("system_fingerprint"),
    }
    usage = _usage(attributes, outputs)
    if usage:
        response["usage"] = usage
    return response


def _recording(span: dict[str, Any], trace_id: str, line: int) -> Recording | None:
    attributes = span.get("attributes") or {}
    if _span_type(span) == "EMBEDDING":
        inputs, outputs = _attr(attributes, "mlflow.spanInputs"), _attr(attributes, "mlflow.spanOutputs")
        if not (isinstance(inputs, dict) and "input" in inputs and isinstance(outputs, dict) and "data" in outputs):
            return None
        return Recording("embeddings", normalise_embeddings(inputs), outputs, trace_id, span.get("name", ""), line)
    request = _chat_request(attributes)
    if request is None:
        return None
    normalised = normalise_chat(request)
    response = _chat_response(attributes, request, key_of(normalised))
    if response is None:
        return None
    return Recording("chat", normalised, response, trace_id, span.get("name", ""), line)


def recorded_spans(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """The CHAT_MODEL and EMBEDDING spans of a trace that are not inside another one, in start order."""
    spans = trace.get("data", {}).get("spans") or []
    by_id = {s.get("span_id"): s for s in spans}
    kept = []
    for span in spans:
        if _span_type(span) not in RECORDED_SPAN_TYPES:
            continue
        parent, nested = by_id.get(span.get("parent_span_id")), False
        while parent is not None:
            if _span_type(parent) in RECORDED_SPAN_TYPES:
                nested = True
                break
            parent = by_id.get(parent.get("parent_span_id"))
        if not nested:
            kept.append(span)
    return sorted(kept, key=lambda s: int(s.get("start_time_unix_nano") or 0))


@dataclass
class Cassette:
    """The recordings of a trace file, by normalised request."""

    path: Path
    recordings: list[Recording]
    problems: list[LineProblem] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path | str) -> "Cassette":
        """Read a trace file; :class:`TraceFileError` naming the file when it holds no usable recording."""
        path = check_trace_file(path)
        recordings: list[Recording] = []
        problems: list[LineProblem] = []
        for number, item in iter_trace_file(path):
            if isinstance(item, LineProblem):
                if item.reason:
                    problems.append(item)
                continue
            trace_id = item["info"]["trace_id"]
            for span in recorded_spans(item):
                recording = _recording(span, trace_id, number)
                if recording is None:
                    problems.append(
                        LineProblem(number, f"trace {trace_id}: span {span.get('name')!r} holds no request/answer pair")
                    )
                else:
                    recordings.append(recording)
        if not recordings:
            shown = "; ".join(str(p) for p in problems[:3])
            raise TraceFileError(
                f"{path} holds no recorded model call (no CHAT_MODEL or EMBEDDING span with a request and an answer)"
                + (f": {shown}" if shown else "")
            )
        return cls(path, recordings, problems)

    def __len__(self) -> int:
        return len(self.recordings)


def trim_cassette(source: Path | str, out: Path | str) -> int:
    """Write ``source`` to ``out`` keeping only the recorded spans (CHAT_MODEL, EMBEDDING) of each trace, the
    trace ids and request times: a smaller cassette that still reads as a trace file. Returns the spans kept."""
    source, out = check_trace_file(source), Path(out)
    kept = 0
    lines = []
    for number, item in iter_trace_file(source):
        if isinstance(item, LineProblem):
            if item.reason:
                raise TraceFileError(f"{source}: {item}")
            continue
        spans = recorded_spans(item)
        if not spans:
            continue
        info = {k: item["info"][k] for k in ("trace_id", "request_time", "trace_location", "state") if k in item["info"]}
        # The parents are gone: each recorded span becomes a root of its trace.
        roots = [{**s, "parent_span_id": None} for s in spans]
        lines.append(json.dumps({"info": info, "data": {"spans": roots}}, ensure_ascii=False))
        kept += len(spans)
    if not kept:
        raise TraceFileError(f"{source} holds no CHAT_MODEL or EMBEDDING span: nothing to keep")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return kept


# ---------------------------------------------------------------------------------------------------------
# Explaining a miss
# ---------------------------------------------------------------------------------------------------------


def _short(text: str, at: int, width: int = 60) -> str:
    start = max(0, at - 20)
    piece = text[start : start + width].replace("\n", "\\n")
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")


def _text_difference(recorded: str, asked: str) -> str:
    at = next((i for i, (a, b) in enumerate(zip(recorded, asked)) if a != b), min(len(recorded), len(asked)))
    return f"differs at character {at}: recorded {_short(recorded, at)!r}, request {_short(asked, at)!r}"


def differences(recorded: dict[str, Any], asked: dict[str, Any]) -> list[str]:
    """What separates two normalised chat requests, one line per differing field (messages by index)."""
    out = []
    if recorded["model"] != asked["model"]:
        out.append(f"model: recorded {recorded['model']!r}, request {asked['model']!r}")
    rec_msgs, ask_msgs = recorded["messages"], asked["messages"]
    for i, (r, a) in enumerate(zip(rec_msgs, ask_msgs)):
        where = f"messages[{i}] ({a['role']})"
        if r["role"] != a["role"]:
            out.append(f"messages[{i}]: role recorded {r['role']!r}, request {a['role']!r}")
        elif r["content"] != a["content"]:
            out.append(f"{where} content {_text_difference(r['content'], a['content'])}")
        elif r.get("tool_calls") != a.get("tool_calls"):
            out.append(f"{where} tool calls differ: recorded {_canonical(r.get('tool_calls'))[:120]}, "
                       f"request {_canonical(a.get('tool_calls'))[:120]}")  # fmt: skip
    if len(rec_msgs) != len(ask_msgs):
        out.append(f"messages: {len(rec_msgs)} recorded, {len(ask_msgs)} in the request")
    rec_tools = {t["name"]: t for t in recorded["tools"]}
    ask_tools = {t["name"]: t for t in asked["tools"]}
    for name in sorted(set(rec_tools) | set(ask_tools), key=str):
        if name not in ask_tools:
            out.append(f"tools: {name!r} was offered in the recording, not in the request")
        elif name not in rec_tools:
            out.append(f"tools: {name!r} is offered in the request, not in the recording")
        elif rec_tools[name] != ask_tools[name]:
            part = "description" if rec_tools[name]["description"] != ask_tools[name]["description"] else "parameters"
            out.append(f"tools: {name!r} {part} differ")
    if recorded["response_format"] != asked["response_format"]:
        out.append("response_format differs")
    return out


def _similarity(recorded: dict[str, Any], asked: dict[str, Any]) -> float:
    a = "\n".join(m["content"] for m in recorded["messages"])
    b = "\n".join(m["content"] for m in asked["messages"])
    return difflib.SequenceMatcher(None, a, b, autojunk=False).quick_ratio()


def closest(recordings: list[Recording], asked: dict[str, Any]) -> tuple[Recording, list[str]] | None:
    """The recording nearest to ``asked`` (fewest differing fields, then most similar text) and what differs."""
    scored = [(len(differences(r.request, asked)), r) for r in recordings]
    if not scored:
        return None
    best = min(n for n, _ in scored)
    candidates = [r for n, r in scored if n == best][:200]
    chosen = max(candidates, key=lambda r: _similarity(r.request, asked))
    return chosen, differences(chosen.request, asked)


# ---------------------------------------------------------------------------------------------------------
# The replaying model
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Miss:
    """A request no recording matched, and the explanation sent back."""

    endpoint: str
    message: str


class ReplayModel:
    """Same interface as :class:`~llmops.llm.model.OfflineModel`, answering from a :class:`Cassette`."""

    def __init__(self, cassette: Cassette | Path | str, mode: str = "strict") -> None:
        if mode not in MODES:
            raise ValueError(f"replay mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.cassette = cassette if isinstance(cassette, Cassette) else Cassette.load(cassette)
        self.mode = mode
        self.offline = OfflineModel()
        self._by_key: dict[str, list[Recording]] = defaultdict(list)
        for recording in self.cassette.recordings:
            self._by_key[recording.endpoint + ":" + key_of(recording.request)].append(recording)
        self._served: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.misses: list[Miss] = []

    def models(self) -> dict[str, Any]:
        return self.offline.models()

    def model(self, name: str) -> dict[str, Any]:
        return self.offline.model(name)

    def _next(self, key: str) -> Recording | None:
        with self._lock:
            found = self._by_key.get(key)
            if not found:
                return None
            recording = found[min(self._served[key], len(found) - 1)]
            self._served[key] += 1
            self.counts["replayed"] += 1
            return recording

    def _miss(self, endpoint: str, asked: dict[str, Any]) -> None:
        """Count a miss; in strict mode refuse the request with what differs from the closest recording."""
        with self._lock:
            self.counts["fallback" if self.mode == "fallback" else "refused"] += 1
        if self.mode == "fallback":
            return
        same = [r for r in self.cassette.recordings if r.endpoint == endpoint]
        head = f"no recorded answer for this {endpoint} request in cassette {self.cassette.path} ({len(same)} recordings; strict replay)"
        if endpoint == "chat" and same:
            found = closest(same, asked)
            assert found is not None
            recording, diffs = found
            message = f"{head}. Closest recording: {recording.where}; " + "; ".join(diffs[:4])
        else:
            message = f"{head}. Record it again with the real model, or replay in fallback mode."
        with self._lock:
            self.misses.append(Miss(endpoint, message))
        raise APIError(400, message, "invalid_request_error", "replay_no_match")

    def chat(self, body: dict[str, Any], faults: FaultDecision | None = None) -> ChatResult:
        validate_chat(body)
        asked = normalise_chat(body)
        recording = self._next("chat:" + key_of(asked))
        if recording is None:
            self._miss("chat", asked)
            return self.offline.chat(body, faults)
        response = json.loads(json.dumps(recording.response))
        result = ChatResult(response)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and "usage" in response
            result.chunks = stream_chunks(response, include_usage)
        return result

    def embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        embedding_inputs(body)  # the same validation as the offline model
        asked = normalise_embeddings(body)
        recording = self._next("embeddings:" + key_of(asked))
        if recording is None:
            self._miss("embeddings", asked)
            return self.offline.embeddings(body)
        return json.loads(json.dumps(recording.response))
