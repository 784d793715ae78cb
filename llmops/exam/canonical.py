"""Recorded traces -> a kit's canonical traces: same seed, same bytes.

A live recording carries random trace and span ids, wall-clock times, thread timing, LangChain run ids and
paths of the machine that recorded it. Here every trace is rewritten:

* ids: trace ``tr-<hash(seed, comment)>``, span ids ``hash(seed, comment, position)``; the random UUIDs
  LangChain puts in attributes (message and run ids, checkpoint namespaces) are zeroed: the redactor sometimes
  takes digits of a random id for a phone number, so no numbering of them would be stable;
* times: a **simulated clock**. Each session starts at a fixed hour, its comments one minute apart. A span's
  duration comes from what it did (tokens for an LLM call, a fixed cost for a tool or a retrieval) plus the
  planted latencies: a rate-limited call is followed by the ``Retry-After`` wait the client honours, a timed-out
  lookup lasts the back-end timeout. The tasks of one LangGraph step (parallel tool calls) start together;
  the other children run one after another;
* machine-specific metadata (``mlflow.source.*``, user, git, artifact location, size statistics) dropped and
  paths in stack traces or document sources made relative.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import datetime, timezone
from typing import Any

from llmops.exam.scenario import Scenario

#: Monday 2 March 2026, 09:00 UTC: the simulated day the kit's sessions happen.
EPOCH_MS = 1_772_442_000_000
SESSION_GAP_MS = 3_600_000
COMMENT_GAP_MS = 60_000
_DROP_METADATA = ("mlflow.user", "mlflow.trace.sizeBytes", "mlflow.trace.sizeStats", "mlflow.sourceRun")
_DROP_TAGS = ("mlflow.artifactLocation",)
# With LangChain's "-0" message suffix, so that a clean id and a mangled one end the same way.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:-\d+)?")
# A random id the redactor took for a phone number in the recording ("[PHONE]fe-4986-..."): which ids are
# hit depends on the random draw, so such tokens are replaced whole.
_MASKS = r"\[(?:PHONE|CARD|IBAN|SECRET|EMAIL)\]"
_MANGLED_ID = re.compile(rf"(?:[0-9a-f]|{_MASKS})(?:[0-9a-f-]|{_MASKS})*")
_ZERO_ID = "00000000-0000-0000-0000-000000000000"
_FILE = re.compile(r'File \\?"([^"\\]+)\\?"')


def _digest(*parts: Any) -> bytes:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()


def _attr(span: dict, key: str) -> Any:
    raw = span["attributes"].get(key)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return raw


def _is_error(span: dict) -> bool:
    return span["status"].get("code") in ("STATUS_CODE_ERROR", "ERROR")


def _own_ms(span: dict, scenario: Scenario) -> float:
    """Simulated time a leaf span takes (parents take their children's time plus a little overhead)."""
    kind = _attr(span, "mlflow.spanType")
    name = span["name"]
    if kind in ("CHAT_MODEL", "LLM"):
        if _is_error(span):
            return 45.0
        usage = _attr(span, "mlflow.chat.tokenUsage") or {}
        return 180.0 + 0.04 * usage.get("input_tokens", 0) + 4.0 * usage.get("output_tokens", 0)
    if kind == "RETRIEVER":
        return 85.0
    if name == "lookup_customer":
        if _is_error(span) and "TimeoutError" in json.dumps(span.get("events")):
            return scenario.tool_timeout_s * 1000.0
        return 35.0
    if name == "create_ticket":
        return 70.0
    if kind == "TOOL":
        return 12.0
    return 3.0


def _retry_wait_ms(span: dict, scenario: Scenario) -> float:
    """Time the client waits after this span before its next attempt (429: the server's Retry-After)."""
    if span["name"] == "ChatOpenAI" and _is_error(span) and "429" in span["status"].get("message", ""):
        return scenario.retry_after_s * 1000.0
    return 0.0


def _children(spans: list[dict]) -> dict[str | None, list[dict]]:
    out: dict[str | None, list[dict]] = {}
    for span in spans:
        out.setdefault(span.get("parent_span_id"), []).append(span)
    for group in out.values():
        group.sort(key=lambda s: (s["start_time_unix_nano"], s["name"]))
    return out


def _graph_step(span: dict) -> int | None:
    """The LangGraph step of a graph task span (``tools``, ``model``); tasks of one step run in parallel."""
    metadata = _attr(span, "metadata")
    if isinstance(metadata, dict) and metadata.get("langgraph_node") == span["name"]:
        step = metadata.get("langgraph_step")
        return step if isinstance(step, int) else None
    return None


def _waves(children: list[dict]) -> list[list[dict]]:
    """Children grouped into waves: the tasks of one LangGraph step (parallel tool calls) form one wave and
    start together; any other child is a wave of its own, in recorded order. The grouping comes from the
    graph, not from the recorded times, so thread timing cannot change it; within a wave the order is by
    name and inputs."""
    waves: list[list[dict]] = []
    steps: dict[int, list[dict]] = {}
    for child in children:
        step = _graph_step(child)
        if step is None:
            waves.append([child])
        elif step in steps:
            steps[step].append(child)
        else:
            steps[step] = [child]
            waves.append(steps[step])
    return [sorted(w, key=lambda s: (s["name"], s["attributes"].get("mlflow.spanInputs", ""))) for w in waves]


def _retime(span: dict, start_ms: float, kids: dict, scenario: Scenario, order: list[dict]) -> float:
    """Lay ``span`` and its subtree out from ``start_ms`` on the simulated clock; returns its end."""
    order.append(span)
    children = kids.get(span["span_id"], [])
    if not children:
        end = start_ms + _own_ms(span, scenario)
    else:
        cursor = start_ms + 1.0
        for wave in _waves(children):
            wave_end = cursor
            for child in wave:
                child_end = _retime(child, cursor, kids, scenario, order)
                wave_end = max(wave_end, child_end + _retry_wait_ms(child, scenario))
            cursor = wave_end + 1.0
        end = cursor + 1.0
    span["_sim"] = (start_ms, end)
    return end


def _iso(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Scrubber:
    """Stable replacements for one trace: random ids zeroed, machine paths made relative."""

    def __init__(self, replacements: dict[str, str]) -> None:
        self.replacements = sorted(replacements.items(), key=lambda kv: -len(kv[0]))

    def _file(self, match: re.Match) -> str:
        path = match.group(1)
        if "site-packages/" in path:
            short = path.split("site-packages/", 1)[1]
        elif "/llmops/" in path:
            short = "llmops/" + path.split("/llmops/", 1)[1]
        else:
            short = "<python>/" + path.rsplit("/", 1)[-1]
        return match.group(0).replace(path, short)

    @staticmethod
    def _mangled(match: re.Match) -> str:
        token = match.group(0)
        # The redactor may also have eaten the id's hyphens: any id-shaped run around a [PHONE] goes.
        if "[" in token and "-" in token and len(token) >= 12:
            return _ZERO_ID
        return token

    def text(self, value: str) -> str:
        if "[" in value:
            value = _MANGLED_ID.sub(self._mangled, value)
        value = _UUID.sub(_ZERO_ID, value)
        if "File " in value:
            value = _FILE.sub(self._file, value)
        for old, new in self.replacements:
            if old and old in value:
                value = value.replace(old, new)
        return value


def canonicalise(raw: list[dict], scenario: Scenario, replacements: dict[str, str]) -> list[dict]:
    """The recorded traces (in scenario order) rewritten for the kit; see the module docstring."""
    traces = []
    positions: dict[str, int] = {}
    for comment, trace in zip(scenario.comments, raw, strict=True):
        session_index = scenario.sessions.index(comment.session_id)
        position = positions.get(comment.session_id, 0)
        positions[comment.session_id] = position + 1
        start_ms = EPOCH_MS + session_index * SESSION_GAP_MS + position * COMMENT_GAP_MS
        traces.append(_canonical_trace(trace, scenario, comment.comment_id, start_ms, replacements))
    return traces


def _canonical_trace(trace: dict, scenario: Scenario, comment_id: str, start_ms: float, replacements: dict) -> dict:
    info = trace["info"]
    old_id = info["trace_id"]
    digest = _digest(scenario.seed, comment_id)
    new_id = "tr-" + digest[:16].hex()
    spans = trace["data"]["spans"]
    kids = _children(spans)
    roots = kids.get(None, [])
    if len(roots) != 1:
        raise ValueError(f"trace of {comment_id} has {len(roots)} root spans")
    order: list[dict] = []
    end_ms = _retime(roots[0], start_ms, kids, scenario, order)
    span_ids = {
        s["span_id"]: base64.b64encode(_digest(scenario.seed, comment_id, "span", i)[:8]).decode()
        for i, s in enumerate(order)
    }
    trace_b64 = base64.b64encode(digest[:16]).decode()
    scrub = _Scrubber({**replacements, old_id: new_id})
    new_spans = []
    for span in order:
        s0, s1 = span.pop("_sim")
        events = []
        for event in span.get("events") or []:
            event = dict(event)
            # Exceptions are recorded as the span ends; on the simulated clock that is the span's end.
            event["time_unix_nano"] = int(round(s1 * 1e6))
            event["attributes"] = {k: scrub.text(v) if isinstance(v, str) else v for k, v in (event.get("attributes") or {}).items()}
            events.append(event)
        new_spans.append(
            {
                "trace_id": trace_b64,
                "span_id": span_ids[span["span_id"]],
                "parent_span_id": span_ids.get(span.get("parent_span_id")) if span.get("parent_span_id") else None,
                "name": span["name"],
                "start_time_unix_nano": int(round(s0 * 1e6)),
                "end_time_unix_nano": int(round(s1 * 1e6)),
                "events": events,
                "status": {"code": span["status"].get("code"), "message": scrub.text(span["status"].get("message") or "")},
                "attributes": _attributes(span["attributes"], scrub),
                "links": span.get("links") or [],
            }
        )
    metadata = {
        k: scrub.text(v) if isinstance(v, str) else v
        for k, v in info.get("trace_metadata", {}).items()
        if k not in _DROP_METADATA and not k.startswith("mlflow.source.")
    }
    tags = {k: scrub.text(v) for k, v in info.get("tags", {}).items() if k not in _DROP_TAGS}
    assessments = []
    for n, assessment in enumerate(info.get("assessments") or []):
        assessment = json.loads(scrub.text(json.dumps(assessment)))
        assessment["assessment_id"] = "a-" + _digest(scenario.seed, comment_id, "assessment", n)[:16].hex()
        assessment["trace_id"] = new_id
        assessment["create_time"] = assessment["last_update_time"] = _iso(end_ms)
        assessments.append(assessment)
    new_info = {
        "trace_id": new_id,
        "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "0"}},
        "request_time": _iso(start_ms),
        "execution_duration_ms": int(round(end_ms - start_ms)),
        "state": info["state"],
        "trace_metadata": metadata,
        "tags": tags,
        "assessments": assessments,
        "request_preview": scrub.text(info.get("request_preview") or ""),
        "response_preview": scrub.text(info.get("response_preview") or ""),
    }
    return {"info": new_info, "data": {"spans": new_spans}}


def _attributes(attributes: dict, scrub: _Scrubber) -> dict:
    out = {k: scrub.text(v) if isinstance(v, str) else v for k, v in attributes.items()}
    # Parallel tool calls append to the action list in thread order: sort it so timing cannot show.
    if isinstance(out.get("llmops.actions_taken"), str):
        try:
            out["llmops.actions_taken"] = json.dumps(sorted(json.loads(out["llmops.actions_taken"])))
        except (TypeError, ValueError):
            pass
    return out


def dumps(trace: dict) -> str:
    """One line of the kit's trace file: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(trace, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
