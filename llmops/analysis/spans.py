"""Traces -> tables: one row per span (:attr:`TraceSet.spans`), one per trace (:attr:`TraceSet.traces`), one
per assessment (:attr:`TraceSet.assessments`).

Load from a trace file (:func:`load_file`), a tracking store (:func:`load_store`) or MLflow ``Trace``
objects you already have (:func:`load_traces`)::

    from llmops.analysis import load_file

    ts = load_file("traces/incident.jsonl")
    ts.spans[ts.spans.is_llm_call].groupby("model").total_tokens.sum()

The loaders read MLflow's trace JSON straight into column lists, never building MLflow entity objects, so
10,000 traces load in seconds. Rows are sorted (traces by start time then id, spans by trace id, start time,
span id) so every result built on them is deterministic.

Span table columns
    ``trace_id``, ``span_id`` (16 hex digits, as ``Span.span_id``), ``parent_id`` (None for the root),
    ``name``, ``span_type`` (AGENT, CHAIN, CHAT_MODEL, LLM, TOOL, RETRIEVER, ...), ``depth`` (root 0),
    ``start_time`` (UTC), ``start_ns``/``end_ns`` (epoch ns), ``offset_ms`` (from the trace's first span),
    ``duration_ms``, ``self_ms`` (duration not covered by any child: where the time was really spent),
    ``status`` (OK, ERROR, UNSET), ``error_type`` and ``error_message`` (from the exception event, else the
    status message), ``http_status`` (a model's HTTP error code, e.g. 429), ``is_llm_call`` (the outermost
    model span of a call: LangChain's ``ChatOpenAI`` wrapping the OpenAI client's ``Completions`` is *one*
    call), ``model``, ``input_tokens``/``output_tokens``/``total_tokens`` (on LLM-call rows only, so a sum
    never counts a call twice), ``invalid_output`` (LLM-call rows whose tool-call arguments are not valid
    JSON: the structured answer was broken), ``tool_name`` (TOOL rows), ``retrieved_doc_ids`` (tuple, RETRIEVER
    rows, first-seen order), ``retrieved_count`` (documents returned, 0 = empty retrieval), ``query``
    (RETRIEVER rows), and the trace's ``prompt_name``, ``prompt_version``, ``session_id``, ``user_id``.

Trace table columns
    ``trace_id``, ``experiment_id``, ``name``, ``start_time``, ``duration_ms``, ``status`` (OK, ERROR,
    IN_PROGRESS), ``session_id``, ``user_id``, ``prompt_name``, ``prompt_version`` (the first prompt version
    linked to the trace), ``spans``, ``llm_calls``, ``tool_calls``, ``tool_errors``, ``error_spans``,
    ``input_tokens``, ``output_tokens``, ``total_tokens``, ``cost_usd`` (the ``llmops.cost_usd`` metadata,
    NaN when absent), ``error_cause`` (the analyzer's ``llmops.error_cause``, else the root exception type of
    a failed trace), ``error_message``, ``retrieved_doc_ids`` (tuple), ``actions_taken``,
    ``unsupported_citations`` (tuples), ``injection_suspected`` (the analyzer's root attributes, None when
    absent), ``request`` (the request preview, at most 300 characters).

Assessment table columns
    ``trace_id``, ``assessment_id``, ``name``, ``kind`` (feedback / expectation), ``value`` (decoded JSON),
    ``source_type``, ``source_id``, ``span_id``, ``rationale``, ``error``, ``valid``, ``created``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmops.analysis.errors import EmptyTraceSetError
from llmops.analysis.io import LineProblem, loads, raise_empty_file, traces_in_file

if TYPE_CHECKING:
    import pandas as pd

MODEL_SPAN_TYPES = frozenset({"CHAT_MODEL", "LLM"})
_STATUS = {"STATUS_CODE_OK": "OK", "STATUS_CODE_ERROR": "ERROR", "STATUS_CODE_UNSET": "UNSET", "OK": "OK", "ERROR": "ERROR", "UNSET": "UNSET"}
_HTTP_STATUS = re.compile(r"(?:Error code|status(?:[ _]code)?|HTTP)[:= ]+(\d{3})\b", re.IGNORECASE)
_HTTP_BY_TYPE = {
    "BadRequestError": 400, "AuthenticationError": 401, "PermissionDeniedError": 403, "NotFoundError": 404,
    "ConflictError": 409, "UnprocessableEntityError": 422, "RateLimitError": 429, "OpenAIRateLimitError": 429,
    "InternalServerError": 500,
}  # fmt: skip
_MAX_MESSAGE = 500
_MAX_REQUEST = 300

SPAN_COLUMNS = (
    "trace_id", "span_id", "parent_id", "name", "span_type", "depth", "start_time", "start_ns", "end_ns",
    "offset_ms", "duration_ms", "self_ms", "status", "error_type", "error_message", "http_status", "is_llm_call",
    "model", "input_tokens", "output_tokens", "total_tokens", "invalid_output", "tool_name", "retrieved_doc_ids",
    "retrieved_count", "query", "prompt_name", "prompt_version", "session_id", "user_id",
)  # fmt: skip
TRACE_COLUMNS = (
    "trace_id", "experiment_id", "name", "start_time", "duration_ms", "status", "session_id", "user_id",
    "prompt_name", "prompt_version", "spans", "llm_calls", "tool_calls", "tool_errors", "error_spans",
    "input_tokens", "output_tokens", "total_tokens", "cost_usd", "error_cause", "error_message",
    "retrieved_doc_ids", "actions_taken", "unsupported_citations", "injection_suspected", "request",
)  # fmt: skip
ASSESSMENT_COLUMNS = (
    "trace_id", "assessment_id", "name", "kind", "value", "source_type", "source_id", "span_id", "rationale",
    "error", "valid", "created",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------------------
# The trace set
# ---------------------------------------------------------------------------------------------------------


@dataclass
class TraceSet:
    """The tables of a set of traces, where they came from, and the input lines that were skipped."""

    spans: pd.DataFrame
    traces: pd.DataFrame
    assessments: pd.DataFrame
    source: str = ""
    problems: list[LineProblem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.traces)

    def __repr__(self) -> str:
        return f"TraceSet({len(self.traces)} traces, {len(self.spans)} spans from {self.source or 'memory'})"

    def require(self) -> TraceSet:
        """Self, or :class:`EmptyTraceSetError` naming the source when there is no trace."""
        if len(self.traces) == 0:
            raise EmptyTraceSetError(f"no traces in {self.source or 'this trace set'}: nothing to analyse")
        return self

    def subset(self, trace_ids: Iterable[str], label: str | None = None) -> TraceSet:
        """The traces with these ids (and their spans and assessments), in this set's order."""
        ids = set(trace_ids)
        return TraceSet(
            spans=self.spans[self.spans.trace_id.isin(ids)].reset_index(drop=True),
            traces=self.traces[self.traces.trace_id.isin(ids)].reset_index(drop=True),
            assessments=self.assessments[self.assessments.trace_id.isin(ids)].reset_index(drop=True),
            source=label or self.source,
            problems=list(self.problems),
        )

    def where(self, mask: Any, label: str | None = None) -> TraceSet:
        """The traces selected by a boolean mask over :attr:`traces`, e.g. ``ts.where(ts.traces.status == "OK")``."""
        return self.subset(self.traces.loc[mask, "trace_id"], label)

    def split(self, column: str) -> dict[Any, TraceSet]:
        """One trace set per value of a trace column (``prompt_version``, ``session_id``...), in sorted
        value order; traces where the column is empty are left out."""
        if column not in self.traces.columns:
            raise KeyError(f"no trace column {column!r}; columns: {', '.join(self.traces.columns)}")
        values = self.traces[column].dropna()
        out: dict[Any, TraceSet] = {}
        for value in sorted(values.unique(), key=_sort_key):
            out[value] = self.where(self.traces[column] == value, f"{self.source} [{column} = {value}]")
        return out

    def trace(self, trace_id: str) -> pd.Series:
        """The row of one trace; :class:`TraceNotFoundError` when it is not in the set."""
        from llmops.analysis.errors import TraceNotFoundError

        rows = self.traces[self.traces.trace_id == trace_id]
        if rows.empty:
            raise TraceNotFoundError(f"trace {trace_id} is not in {self.source or 'this trace set'} ({len(self)} traces)")
        return rows.iloc[0]


def _sort_key(value: Any) -> tuple:
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, str(value))


# ---------------------------------------------------------------------------------------------------------
# Small parsers (shared by the file and the SQLite readers)
# ---------------------------------------------------------------------------------------------------------


def _json(value: Any) -> Any:
    """An attribute value as stored by MLflow (a JSON-encoded string) decoded; other values unchanged."""
    if isinstance(value, (str, bytes)):
        try:
            return loads(value)
        except ValueError:
            return value
    return value


def _text(value: Any) -> str | None:
    value = _json(value)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def span_id_hex(value: Any) -> str | None:
    """A span id as 16 hex digits, from MLflow's JSON (base64 bytes), a hex string or ``0x``-prefixed hex."""
    if value is None or value == "":
        return None
    text = str(value)
    if text.startswith("0x"):
        return text[2:]
    if len(text) == 16 and all(c in "0123456789abcdef" for c in text):
        return text
    try:
        return base64.b64decode(text, validate=True).hex()
    except (binascii.Error, ValueError):
        return text


def first_prompt(linked: Any) -> tuple[str | None, int | None]:
    """The (name, version) of the first prompt in an ``mlflow.linkedPrompts`` tag value."""
    prompts = _json(linked) if linked else None
    if not isinstance(prompts, list) or not prompts or not isinstance(prompts[0], dict):
        return None, None
    name = prompts[0].get("name")
    try:
        version = int(prompts[0].get("version"))
    except (TypeError, ValueError):
        version = None
    return name, version


def _float(value: Any) -> float | None:
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


def _exception_of(events: Any) -> tuple[str | None, str | None]:
    events = _json(events)
    if not isinstance(events, list):
        return None, None
    for event in events:
        if isinstance(event, dict) and event.get("name") == "exception":
            attrs = event.get("attributes") or {}
            return _text(attrs.get("exception.type")), _text(attrs.get("exception.message"))
    return None, None


def _has_invalid_tool_args(outputs: Any) -> bool:
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
    stack, steps = [outputs], 0
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


def _documents(doc_ids: Any, outputs: Any) -> tuple[tuple[str, ...], int]:
    """(distinct doc ids in first-seen order, number of documents) of a retriever span."""
    ids = _json(doc_ids) if doc_ids is not None else None
    if not isinstance(ids, list):
        docs = _json(outputs) if outputs is not None else None
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


def _query(inputs: Any) -> str | None:
    value = _json(inputs) if inputs is not None else None
    if isinstance(value, dict):
        for key in ("query", "question", "input", "text"):
            if isinstance(value.get(key), str):
                return value[key]
        return None
    return value if isinstance(value, str) else None


def _usage(value: Any) -> tuple[int | None, int | None, int | None]:
    usage = _json(value) if value is not None else None
    if not isinstance(usage, dict):
        return None, None, None
    i, o, t = usage.get("input_tokens"), usage.get("output_tokens"), usage.get("total_tokens")
    if t is None and (i is not None or o is not None):
        t = (i or 0) + (o or 0)
    return i, o, t


def _tuple(value: Any) -> tuple | None:
    value = _json(value) if value is not None else None
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return None


def _bool(value: Any) -> bool | None:
    value = _json(value) if value is not None else None
    return value if isinstance(value, bool) else None


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


# ---------------------------------------------------------------------------------------------------------
# The builder: column lists in, DataFrames out
# ---------------------------------------------------------------------------------------------------------


class TableBuilder:
    """Accumulates spans, traces and assessments as column lists, then builds the DataFrames."""

    _SPAN_RAW = (
        "trace_id", "span_id", "parent_id", "name", "span_type", "start_ns", "end_ns", "status", "error_type",
        "error_message", "http_status", "model", "input_tokens", "output_tokens", "total_tokens", "invalid_output",
        "retrieved_doc_ids", "retrieved_count", "query",
    )  # fmt: skip
    _TRACE_RAW = (
        "trace_id", "experiment_id", "name", "start_ms", "duration_ms", "status", "session_id", "user_id",
        "prompt_name", "prompt_version", "trace_input_tokens", "trace_output_tokens", "trace_total_tokens",
        "cost_usd", "error_cause", "error_message", "actions_taken", "unsupported_citations",
        "injection_suspected", "request",
    )  # fmt: skip

    def __init__(self) -> None:
        self.s: dict[str, list] = {k: [] for k in self._SPAN_RAW}
        self.t: dict[str, list] = {k: [] for k in self._TRACE_RAW}
        self.a: dict[str, list] = {k: [] for k in ASSESSMENT_COLUMNS}

    # -- spans ---------------------------------------------------------------------------------------------

    def add_span(
        self,
        trace_id: str,
        span_id: str | None,
        parent_id: str | None,
        name: str,
        span_type: str,
        status: str,
        start_ns: int | None,
        end_ns: int | None,
        *,
        status_message: str | None = None,
        events: Any = None,
        usage: Any = None,
        model: Any = None,
        outputs: Any = None,
        doc_ids: Any = None,
        inputs: Any = None,
    ) -> None:
        """One span; the keyword values are MLflow's stored attribute values (JSON-encoded strings)."""
        s = self.s
        status = _STATUS.get(status, status or "UNSET")
        error_type = error_message = http = None
        if status == "ERROR":
            error_type, error_message = _exception_of(events)
            error_message = error_message or status_message or None
            if error_message and len(error_message) > _MAX_MESSAGE:
                error_message = error_message[: _MAX_MESSAGE - 1] + "…"
            http = http_status_of(error_type, error_message)
        s["trace_id"].append(trace_id)
        s["span_id"].append(span_id)
        s["parent_id"].append(parent_id)
        s["name"].append(name)
        s["span_type"].append(span_type or "UNKNOWN")
        s["start_ns"].append(start_ns)
        s["end_ns"].append(end_ns)
        s["status"].append(status)
        s["error_type"].append(error_type)
        s["error_message"].append(error_message)
        s["http_status"].append(http)
        if span_type in MODEL_SPAN_TYPES:
            i, o, t = _usage(usage)
            s["model"].append(_text(model))
            s["input_tokens"].append(i)
            s["output_tokens"].append(o)
            s["total_tokens"].append(t)
            s["invalid_output"].append(_has_invalid_tool_args(outputs))
        else:
            s["model"].append(None)
            s["input_tokens"].append(None)
            s["output_tokens"].append(None)
            s["total_tokens"].append(None)
            s["invalid_output"].append(False)
        if span_type == "RETRIEVER":
            ids, count = _documents(doc_ids, outputs)
            s["retrieved_doc_ids"].append(ids)
            s["retrieved_count"].append(count if (doc_ids is not None or outputs is not None) else None)
            s["query"].append(_query(inputs))
        else:
            s["retrieved_doc_ids"].append(None)
            s["retrieved_count"].append(None)
            s["query"].append(None)

    # -- traces --------------------------------------------------------------------------------------------

    def add_trace(
        self,
        trace_id: str,
        *,
        experiment_id: str | None,
        name: str | None,
        start_ms: int | None,
        duration_ms: float | None,
        status: str | None,
        session_id: str | None,
        user_id: str | None,
        linked_prompts: Any,
        usage: tuple[int | None, int | None, int | None],
        cost_usd: Any,
        request: str | None,
        root: dict[str, Any],
    ) -> None:
        """One trace; ``root`` holds the root span's status, error and llmops attributes (stored values)."""
        t = self.t
        prompt_name, prompt_version = first_prompt(linked_prompts)
        t["trace_id"].append(trace_id)
        t["experiment_id"].append(experiment_id)
        t["name"].append(name)
        t["start_ms"].append(start_ms)
        t["duration_ms"].append(duration_ms)
        t["status"].append(status or "UNKNOWN")
        t["session_id"].append(session_id or None)
        t["user_id"].append(user_id or None)
        t["prompt_name"].append(prompt_name)
        t["prompt_version"].append(prompt_version)
        t["trace_input_tokens"].append(usage[0])
        t["trace_output_tokens"].append(usage[1])
        t["trace_total_tokens"].append(usage[2])
        t["cost_usd"].append(_float(cost_usd))
        cause = _text(root.get("error_cause"))
        error_type, error_message = _exception_of(root.get("events")) if root.get("status") == "ERROR" else (None, None)
        if status == "ERROR" and not cause:
            cause = error_type or "error"
        t["error_cause"].append(cause if status == "ERROR" else None)
        message = error_message or root.get("status_message") or None
        t["error_message"].append(message[:_MAX_MESSAGE] if (message and status == "ERROR") else None)
        t["actions_taken"].append(_tuple(root.get("actions_taken")))
        t["unsupported_citations"].append(_tuple(root.get("unsupported_citations")))
        t["injection_suspected"].append(_bool(root.get("injection_suspected")))
        t["request"].append(request[:_MAX_REQUEST] if request else None)

    # -- assessments ---------------------------------------------------------------------------------------

    def add_assessment(self, trace_id: str, a: dict[str, Any]) -> None:
        """One assessment in MLflow's dictionary form (``Assessment.to_dictionary()``)."""
        col = self.a
        if "feedback" in a and a.get("feedback") is not None:
            kind, body = "feedback", a.get("feedback") or {}
        elif "expectation" in a and a.get("expectation") is not None:
            kind, body = "expectation", a.get("expectation") or {}
        else:
            kind, body = "other", {}
        value = body.get("value")
        if value is None and "serialized_value" in body:
            value = _json((body.get("serialized_value") or {}).get("value"))
        error = body.get("error")
        source = a.get("source") or {}
        col["trace_id"].append(trace_id)
        col["assessment_id"].append(a.get("assessment_id"))
        col["name"].append(a.get("assessment_name") or a.get("name"))
        col["kind"].append(kind)
        col["value"].append(value)
        col["source_type"].append(source.get("source_type"))
        col["source_id"].append(source.get("source_id"))
        col["span_id"].append(a.get("span_id"))
        col["rationale"].append(a.get("rationale"))
        col["error"].append((error.get("error_message") or error.get("error_code")) if isinstance(error, dict) else error)
        col["valid"].append(a.get("valid", True))
        col["created"].append(iso_to_ms(a.get("create_time")) if not isinstance(a.get("create_time"), (int, float)) else int(a["create_time"]))

    # -- MLflow trace dictionaries (files, Trace.to_dict()) --------------------------------------------------

    def add_trace_dict(self, d: dict[str, Any]) -> None:
        """A trace in MLflow's dictionary form (one line of a trace file)."""
        info = d["info"]
        trace_id = info["trace_id"]
        tags = info.get("tags") or {}
        meta = info.get("trace_metadata") or {}
        root: dict[str, Any] = {}
        for sp in d["data"]["spans"]:
            attrs = sp.get("attributes") or {}
            span_type = _text(attrs.get("mlflow.spanType")) or "UNKNOWN"
            status = sp.get("status") or {}
            code = _STATUS.get(status.get("code"), "UNSET")
            parent = span_id_hex(sp.get("parent_span_id"))
            model_type = span_type in MODEL_SPAN_TYPES
            retriever = span_type == "RETRIEVER"
            self.add_span(
                trace_id, span_id_hex(sp.get("span_id")), parent, sp.get("name") or "", span_type, code,
                sp.get("start_time_unix_nano"), sp.get("end_time_unix_nano"),
                status_message=status.get("message"),
                events=sp.get("events") if code == "ERROR" else None,
                usage=attrs.get("mlflow.chat.tokenUsage") if model_type else None,
                model=(attrs.get("mlflow.llm.model") or attrs.get("model")) if model_type else None,
                outputs=attrs.get("mlflow.spanOutputs") if (model_type or retriever) else None,
                doc_ids=attrs.get("retrieval.doc_ids") if retriever else None,
                inputs=attrs.get("mlflow.spanInputs") if retriever else None,
            )  # fmt: skip
            if parent is None:
                root = {
                    "status": code, "status_message": status.get("message"), "events": sp.get("events"),
                    "error_cause": attrs.get("llmops.error_cause"), "actions_taken": attrs.get("llmops.actions_taken"),
                    "unsupported_citations": attrs.get("llmops.unsupported_citations"),
                    "injection_suspected": attrs.get("llmops.injection_suspected"),
                }  # fmt: skip
        location = info.get("trace_location") or {}
        experiment_id = (location.get("mlflow_experiment") or {}).get("experiment_id")
        duration = info.get("execution_duration_ms")
        if duration is None and "execution_duration" in info:
            duration = _float(str(info["execution_duration"]).rstrip("s")) * 1000 if info["execution_duration"] else None
        self.add_trace(
            trace_id,
            experiment_id=experiment_id,
            name=tags.get("mlflow.traceName"),
            start_ms=iso_to_ms(info.get("request_time")),
            duration_ms=_float(duration),
            status=info.get("state"),
            session_id=meta.get("mlflow.trace.session"),
            user_id=meta.get("mlflow.trace.user"),
            linked_prompts=tags.get("mlflow.linkedPrompts"),
            usage=_usage(meta.get("mlflow.trace.tokenUsage")),
            cost_usd=meta.get("llmops.cost_usd"),
            request=info.get("request_preview"),
            root=root,
        )
        for assessment in info.get("assessments") or ():
            self.add_assessment(trace_id, assessment)

    # -- DataFrames ----------------------------------------------------------------------------------------

    def build(self, source: str = "", problems: list[LineProblem] | None = None) -> TraceSet:
        return build_trace_set(self, source, problems or [])


def build_trace_set(builder: TableBuilder, source: str, problems: list[LineProblem]) -> TraceSet:
    import numpy as np
    import pandas as pd

    s = builder.s
    spans = pd.DataFrame(
        {
            "trace_id": pd.Series(s["trace_id"], dtype=object),
            "span_id": pd.Series(s["span_id"], dtype=object),
            "parent_id": pd.Series(s["parent_id"], dtype=object),
            "name": pd.Series(s["name"], dtype=object),
            "span_type": pd.Series(s["span_type"], dtype=object),
            "start_ns": pd.Series(s["start_ns"], dtype="Int64"),
            "end_ns": pd.Series(s["end_ns"], dtype="Int64"),
            "status": pd.Series(s["status"], dtype=object),
            "error_type": pd.Series(s["error_type"], dtype=object),
            "error_message": pd.Series(s["error_message"], dtype=object),
            "http_status": pd.Series(s["http_status"], dtype="Int64"),
            "model": pd.Series(s["model"], dtype=object),
            "input_tokens": pd.Series(s["input_tokens"], dtype="Int64"),
            "output_tokens": pd.Series(s["output_tokens"], dtype="Int64"),
            "total_tokens": pd.Series(s["total_tokens"], dtype="Int64"),
            "invalid_output": pd.Series(s["invalid_output"], dtype=bool),
            "retrieved_doc_ids": pd.Series(s["retrieved_doc_ids"], dtype=object),
            "retrieved_count": pd.Series(s["retrieved_count"], dtype="Int64"),
            "query": pd.Series(s["query"], dtype=object),
        }
    )
    spans = spans.sort_values(["trace_id", "start_ns", "span_id"], kind="mergesort", na_position="last").reset_index(drop=True)
    start = spans["start_ns"].astype("float64")
    end = spans["end_ns"].astype("float64")
    spans["duration_ms"] = (end - start) / 1e6

    key = spans["trace_id"] + ":" + spans["span_id"].fillna("")
    parent_key = (spans["trace_id"] + ":" + spans["parent_id"]).where(spans["parent_id"].notna())
    type_by_key = pd.Series(spans["span_type"].to_numpy(), index=key.to_numpy())
    type_by_key = type_by_key[~type_by_key.index.duplicated()]
    parent_by_key = pd.Series(parent_key.to_numpy(), index=key.to_numpy())
    parent_by_key = parent_by_key[~parent_by_key.index.duplicated()]

    # depth: follow parents up (a handful of vectorised steps; cycles are cut at 64)
    depth = np.zeros(len(spans), dtype=np.int64)
    cursor = parent_key
    for _ in range(64):
        present = cursor.notna() & cursor.isin(parent_by_key.index)
        if not present.any():
            break
        depth += present.to_numpy()
        cursor = cursor.where(present).map(parent_by_key)
    spans["depth"] = depth

    # an LLM call is a model span whose parent is not a model span
    is_model = spans["span_type"].isin(MODEL_SPAN_TYPES)
    parent_type = parent_key.map(type_by_key)
    is_call = is_model & ~parent_type.isin(MODEL_SPAN_TYPES)
    spans["is_llm_call"] = is_call.to_numpy()

    # a call's usage, model and validity may be recorded on its inner span (OpenAI's under LangChain's)
    inner = spans[is_model & ~is_call].assign(parent_key=parent_key[is_model & ~is_call])
    if not inner.empty:
        firsts = inner.groupby("parent_key", sort=False).agg(
            model=("model", "first"), input_tokens=("input_tokens", "first"), output_tokens=("output_tokens", "first"),
            total_tokens=("total_tokens", "first"), invalid_output=("invalid_output", "max"),
        )  # fmt: skip
        call_keys = key[is_call]
        for column in ("model", "input_tokens", "output_tokens", "total_tokens"):
            filled = call_keys.map(firsts[column])
            spans.loc[is_call, column] = spans.loc[is_call, column].where(spans.loc[is_call, column].notna(), filled)
        spans.loc[is_call, "invalid_output"] = spans.loc[is_call, "invalid_output"] | call_keys.map(firsts["invalid_output"]).fillna(False).astype(bool)
    for column in ("input_tokens", "output_tokens", "total_tokens"):
        spans.loc[~is_call, column] = pd.NA
    spans.loc[~is_call, "invalid_output"] = False
    spans["invalid_output"] = spans["invalid_output"].astype(bool)
    spans["tool_name"] = spans["name"].where(spans["span_type"] == "TOOL", None)

    # self time: duration minus the union of the children's intervals (parallel children are not double
    # subtracted), children clipped to their parent
    spans["self_ms"] = spans["duration_ms"]
    has_parent = parent_key.notna() & parent_key.isin(parent_by_key.index)
    if has_parent.any():
        starts = pd.Series(start.to_numpy(), index=key.to_numpy())
        starts = starts[~starts.index.duplicated()]
        ends = pd.Series(end.to_numpy(), index=key.to_numpy())
        ends = ends[~ends.index.duplicated()]
        kids = pd.DataFrame({"parent": parent_key[has_parent], "start": start[has_parent], "end": end[has_parent]})
        kids["start"] = np.maximum(kids["start"], kids["parent"].map(starts))
        kids["end"] = np.minimum(kids["end"], kids["parent"].map(ends))
        kids = kids.dropna().sort_values(["parent", "start"], kind="mergesort")
        running = kids.groupby("parent", sort=False)["end"].cummax()
        previous_end = running.groupby(kids["parent"], sort=False).shift(1)
        covered = (kids["end"] - np.maximum(kids["start"], previous_end.fillna(-np.inf))).clip(lower=0)
        covered_by_parent = covered.groupby(kids["parent"], sort=False).sum() / 1e6
        spans["self_ms"] = (spans["duration_ms"] - key.map(covered_by_parent).fillna(0.0)).clip(lower=0)

    trace_start = start.groupby(spans["trace_id"]).transform("min")
    spans["offset_ms"] = (start - trace_start) / 1e6
    spans["start_time"] = pd.to_datetime(spans["start_ns"].astype("float64"), unit="ns", utc=True).astype("datetime64[ns, UTC]")

    traces = _build_traces(builder, spans)
    by_trace = traces.set_index("trace_id")
    for column in ("prompt_name", "prompt_version", "session_id", "user_id"):
        spans[column] = spans["trace_id"].map(by_trace[column]) if len(by_trace) else None
    spans["prompt_version"] = spans["prompt_version"].astype("Int64")
    spans = spans.loc[:, list(SPAN_COLUMNS)]

    a = builder.a
    assessments = pd.DataFrame({k: pd.Series(a[k], dtype=object) for k in ASSESSMENT_COLUMNS})
    assessments["created"] = pd.to_datetime(pd.Series(a["created"], dtype="float64"), unit="ms", utc=True).astype("datetime64[ns, UTC]")
    assessments = assessments.sort_values(["trace_id", "created", "assessment_id"], kind="mergesort").reset_index(drop=True)
    return TraceSet(spans=spans, traces=traces, assessments=assessments, source=source, problems=problems)


def _build_traces(builder: TableBuilder, spans: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    t = builder.t
    traces = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in t.items()})
    for column in ("start_ms", "prompt_version", "trace_input_tokens", "trace_output_tokens", "trace_total_tokens"):
        traces[column] = pd.to_numeric(traces[column], errors="coerce").astype("Int64")
    traces["duration_ms"] = pd.to_numeric(traces["duration_ms"], errors="coerce").astype("float64")
    traces["cost_usd"] = pd.to_numeric(traces["cost_usd"], errors="coerce").astype("float64")
    traces = traces.drop_duplicates("trace_id", keep="first")

    grouped = spans.groupby("trace_id", sort=False)
    calls = spans[spans["is_llm_call"]].groupby("trace_id", sort=False)
    tools = spans[spans["span_type"] == "TOOL"].groupby("trace_id", sort=False)
    counts = pd.DataFrame(
        {
            "spans": grouped.size(),
            "error_spans": grouped["status"].agg(lambda s: int((s == "ERROR").sum())) if len(spans) else pd.Series(dtype="int64"),
            "llm_calls": calls.size(),
            "span_input_tokens": calls["input_tokens"].sum(min_count=1),
            "span_output_tokens": calls["output_tokens"].sum(min_count=1),
            "span_total_tokens": calls["total_tokens"].sum(min_count=1),
            "tool_calls": tools.size(),
            "tool_errors": tools["status"].agg(lambda s: int((s == "ERROR").sum())) if len(spans) else pd.Series(dtype="int64"),
        }
    )
    retrieved = spans[spans["span_type"] == "RETRIEVER"].groupby("trace_id", sort=False)["retrieved_doc_ids"].agg(_merge_ids)
    ids = traces["trace_id"]
    for column in ("spans", "error_spans", "llm_calls", "tool_calls", "tool_errors"):
        traces[column] = ids.map(counts[column]).fillna(0).astype("int64") if len(counts) else 0
    for kind in ("input", "output", "total"):
        from_spans = ids.map(counts[f"span_{kind}_tokens"]) if len(counts) else pd.Series(pd.NA, index=traces.index)
        traces[f"{kind}_tokens"] = pd.to_numeric(from_spans, errors="coerce").astype("Int64").fillna(traces[f"trace_{kind}_tokens"])
    traces["retrieved_doc_ids"] = ids.map(retrieved) if len(retrieved) else None
    traces["retrieved_doc_ids"] = traces["retrieved_doc_ids"].apply(lambda v: v if isinstance(v, tuple) else ())
    traces["start_time"] = pd.to_datetime(traces["start_ms"].astype("float64"), unit="ms", utc=True).astype("datetime64[ns, UTC]")
    traces = traces.sort_values(["start_ms", "trace_id"], kind="mergesort", na_position="last").reset_index(drop=True)
    return traces.loc[:, list(TRACE_COLUMNS)]


def _merge_ids(values: Iterable[Any]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for ids in values:
        for doc_id in ids or ():
            seen.setdefault(doc_id, None)
    return tuple(seen)


# ---------------------------------------------------------------------------------------------------------
# Loaders
# ---------------------------------------------------------------------------------------------------------


def load_file(path: Path | str) -> TraceSet:
    """The trace set of a trace file (JSONL, MLflow trace JSON per line). Damaged lines are skipped and
    listed in :attr:`TraceSet.problems` with their line numbers; a file with no usable line at all raises
    :class:`~llmops.analysis.errors.TraceFileError` (an empty file gives an empty set)."""
    path = Path(path)
    builder = TableBuilder()
    problems: list[LineProblem] = []
    count = 0
    for number, item in traces_in_file(path):
        if isinstance(item, LineProblem):
            problems.append(item)
            continue
        try:
            builder_mark = len(builder.s["trace_id"]), len(builder.t["trace_id"]), len(builder.a["trace_id"])
            builder.add_trace_dict(item)
            count += 1
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            _rollback(builder, builder_mark)
            problems.append(LineProblem(number, f"not a usable MLflow trace ({type(exc).__name__}: {exc})"))
    if count == 0 and problems:
        raise_empty_file(path, problems)
    return builder.build(source=str(path), problems=problems)


def _rollback(builder: TableBuilder, mark: tuple[int, int, int]) -> None:
    for columns, size in ((builder.s, mark[0]), (builder.t, mark[1]), (builder.a, mark[2])):
        for values in columns.values():
            del values[size:]


def load_traces(traces: Iterable[Any], source: str = "memory") -> TraceSet:
    """The trace set of MLflow ``Trace`` objects (e.g. ``mlflow.search_traces(return_type="list")``) or of
    trace dictionaries (``Trace.to_dict()``)."""
    builder = TableBuilder()
    for trace in traces:
        builder.add_trace_dict(trace if isinstance(trace, dict) else trace.to_dict())
    return builder.build(source=source)


def load_store(
    experiment: str | None = None,
    filter_string: str | None = None,
    *,
    tracking_uri: str | None = None,
    method: str = "auto",
) -> TraceSet:
    """The trace set of an experiment (default: the configured one) of a tracking store, optionally narrowed
    by an MLflow ``search_traces`` filter (``"trace.status = 'ERROR'"``, ``"tags.k = 'v'"``...).

    ``method="auto"`` reads a SQLite store's tables directly (filters are still evaluated by MLflow, which
    returns the matching trace ids) and any other store through ``TracingClient.search_traces``;
    ``"sql"`` and ``"mlflow"`` force one path. A filter MLflow rejects raises
    :class:`~llmops.analysis.errors.TraceFilterError` quoting MLflow's reason.
    """
    from llmops.analysis import store
    from llmops.analysis.io import check_sqlite_store, experiment_id_for, resolve_tracking_uri, sqlite_path
    from llmops.settings import get_settings

    settings = get_settings()  # also keeps MLflow offline when the offline model is selected
    uri = resolve_tracking_uri(tracking_uri)
    check_sqlite_store(uri)
    name = experiment or settings.experiment_name
    if method not in ("auto", "sql", "mlflow"):
        raise ValueError(f"method must be auto, sql or mlflow, not {method!r}")
    db = sqlite_path(uri)
    experiment_id = None
    if method != "mlflow" and db is not None and not filter_string:
        experiment_id = store.experiment_id_sqlite(db, name)
    if experiment_id is None:
        experiment_id = experiment_id_for(name, uri)
    source = f"experiment {name!r} of {uri}" + (f" matching {filter_string!r}" if filter_string else "")
    if method != "mlflow" and db is not None:
        trace_ids = store.matching_trace_ids(uri, experiment_id, filter_string) if filter_string else None
        builder = store.read_sqlite(db, experiment_id, trace_ids, tracking_uri=uri, strict=method == "sql")
        if builder is not None:
            return builder.build(source=source)
    if method == "sql":
        raise ValueError(f"{uri} is not a SQLite store; use method='auto' or 'mlflow'")
    builder = TableBuilder()
    from llmops.analysis.io import search_trace_pages

    for page in search_trace_pages(uri, experiment_id, filter_string, include_spans=True):
        for trace in page:
            builder.add_trace_dict(trace.to_dict())
    return builder.build(source=source)


def load(
    source: Path | str | None = None,
    *,
    experiment: str | None = None,
    filter_string: str | None = None,
    tracking_uri: str | None = None,
) -> TraceSet:
    """A trace file when ``source`` is given (``filter_string`` is then refused), else the store."""
    if source is not None:
        if filter_string:
            from llmops.analysis.errors import TraceFilterError

            raise TraceFilterError(
                "--filter selects traces in a tracking store with MLflow's search syntax; it does not apply to "
                f"a trace file ({source}). Import the file first (llmops traces import) or drop --filter."
            )
        return load_file(source)
    return load_store(experiment, filter_string, tracking_uri=tracking_uri)
