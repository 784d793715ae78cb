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
    model span of a call: in traces made with MLflow's autologs alone, LangChain's ``ChatOpenAI`` wrapping the
    OpenAI client's ``Completions`` is *one* call; ``llmops.tracing.setup()`` records only the outer span), ``model``, ``input_tokens``/``output_tokens``/``total_tokens`` (on LLM-call rows only, so a sum
    never counts a call twice), ``invalid_output`` (LLM-call rows whose own output carries tool-call arguments
    that are not valid JSON: the structured answer was broken), ``tool_name`` (TOOL rows), ``retrieved_doc_ids`` (tuple, RETRIEVER
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
import gc
import numbers
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llmops.analysis.errors import EmptyTraceSetError
from llmops.analysis.io import LineProblem, loads, raise_empty_file, traces_in_file

if TYPE_CHECKING:
    import pandas as pd

MODEL_SPAN_TYPES = frozenset({"CHAT_MODEL", "LLM"})
_STATUS = {
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
_MAX_MESSAGE = 500
_HEX16 = re.compile(r"[0-9a-f]{16}")
_DECODED: dict[str, Any] = {}  # decoded short attribute values (span types, model names): they repeat
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
            raise TraceNotFoundError(
                f"trace {trace_id} is not in {self.source or 'this trace set'} ({len(self)} traces)"
            )
        return rows.iloc[0]


def _sort_key(value: Any) -> tuple:
    """Numbers in numeric order (numpy's too: version 10 after 9), then everything else as text."""
    return (0, float(value), "") if isinstance(value, numbers.Real) else (1, 0.0, str(value))


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


def _short_text(value: Any) -> str | None:
    """``_text`` with a cache, for short values that repeat across spans (span type, model name)."""
    if value is None:
        return None
    hit = _DECODED.get(value)
    if hit is None and isinstance(value, str):
        hit = _text(value)
        if len(_DECODED) < 10_000:
            _DECODED[value] = hit
    return hit


def _text(value: Any) -> str | None:
    value = _json(value)
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


def _error_fields(events: Any, status_message: str | None) -> tuple[str | None, str | None, int | None]:
    """(exception type, message, HTTP status) of a failed span: its exception event, else its status."""
    error_type, error_message = _exception_of(events)
    error_message = error_message or status_message or None
    if error_message and len(error_message) > _MAX_MESSAGE:
        error_message = error_message[: _MAX_MESSAGE - 1] + "…"
    return error_type, error_message, http_status_of(error_type, error_message)


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


def assessment_value(body: dict[str, Any]) -> Any:
    """The value of a feedback or expectation body, including MLflow's JSON-serialised expectation values."""
    value = body.get("value")
    if value is None and "serialized_value" in body:
        value = _json((body.get("serialized_value") or {}).get("value"))
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
        # one tuple per span / trace / assessment (one append each); columns are made once, in build()
        self.span_rows: list[tuple] = []
        self.trace_rows: list[tuple] = []
        self.assessment_rows: list[tuple] = []
        self._model_spans: set[tuple[str, str | None]] = set()  # to recognise a call's inner client span

    @staticmethod
    def _columns(rows: list[tuple], names: tuple[str, ...]) -> dict[str, tuple]:
        if not rows:
            return {k: () for k in names}
        return dict(zip(names, zip(*rows)))  # tuples: every consumer only reads them

    @property
    def s(self) -> dict[str, tuple]:
        return self._columns(self.span_rows, self._SPAN_RAW)

    @property
    def t(self) -> dict[str, tuple]:
        return self._columns(self.trace_rows, self._TRACE_RAW)

    @property
    def a(self) -> dict[str, tuple]:
        return self._columns(self.assessment_rows, ASSESSMENT_COLUMNS)

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
        status = _STATUS.get(status, status or "UNSET")
        error_type = error_message = http = None
        if status == "ERROR":
            error_type, error_message, http = _error_fields(events, status_message)
        model_name = i = o = t = ids = count = query = None
        invalid = False
        if span_type in MODEL_SPAN_TYPES:
            i, o, t = _usage(usage)
            model_name = _short_text(model)
            invalid = _has_invalid_tool_args(outputs)
        elif span_type == "RETRIEVER":
            ids, count = _documents(doc_ids, outputs)
            if doc_ids is None and outputs is None:
                count = None
            query = _query(inputs)
        self.span_rows.append((
            trace_id, span_id, parent_id, name, span_type or "UNKNOWN", start_ns, end_ns, status, error_type,
            error_message, http, model_name, i, o, t, invalid, ids, count, query,
        ))  # fmt: skip

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
        prompt_name, prompt_version = first_prompt(linked_prompts)
        cause = _text(root.get("error_cause"))
        error_type, error_message = _exception_of(root.get("events")) if root.get("status") == "ERROR" else (None, None)
        if status == "ERROR" and not cause:
            cause = error_type or "error"
        message = error_message or root.get("status_message") or None
        self.trace_rows.append((
            trace_id, experiment_id, name, start_ms, duration_ms, status or "UNKNOWN", session_id or None,
            user_id or None, prompt_name, prompt_version, usage[0], usage[1], usage[2], _float(cost_usd),
            cause if status == "ERROR" else None,
            message[:_MAX_MESSAGE] if (message and status == "ERROR") else None,
            _tuple(root.get("actions_taken")), _tuple(root.get("unsupported_citations")),
            _bool(root.get("injection_suspected")), request[:_MAX_REQUEST] if request else None,
        ))  # fmt: skip

    # -- assessments ---------------------------------------------------------------------------------------

    def add_assessment(self, trace_id: str, a: dict[str, Any]) -> None:
        """One assessment in MLflow's dictionary form (``Assessment.to_dictionary()``)."""
        if "feedback" in a and a.get("feedback") is not None:
            kind, body = "feedback", a.get("feedback") or {}
        elif "expectation" in a and a.get("expectation") is not None:
            kind, body = "expectation", a.get("expectation") or {}
        else:
            kind, body = "other", {}
        value = assessment_value(body)
        error = body.get("error")
        source = a.get("source") or {}
        created = a.get("create_time")
        self.assessment_rows.append((
            trace_id, a.get("assessment_id"), a.get("assessment_name") or a.get("name"), kind, value,
            source.get("source_type"), source.get("source_id"), a.get("span_id"), a.get("rationale"),
            (error.get("error_message") or error.get("error_code")) if isinstance(error, dict) else error,
            a.get("valid", True), int(created) if isinstance(created, (int, float)) else iso_to_ms(created),
        ))  # fmt: skip

    # -- MLflow trace dictionaries (files, Trace.to_dict()) --------------------------------------------------

    def add_span_dict(
        self,
        trace_id: str,
        sp: dict[str, Any],
        *,
        span_id: str | None = None,
        parent_id: str | None = None,
        span_type: str | None = None,
        known: bool = False,
    ) -> dict[str, Any] | None:
        """One span in MLflow's dictionary form (``Span.to_dict()``: a trace file's spans, the ``content``
        of the store's spans table). With ``known``, ids and type come from the caller (the store's indexed
        columns). Returns the root facts when the span is the root, else None."""
        attrs = sp.get("attributes") or {}
        get = attrs.get
        if not known:
            span_type = _short_text(get("mlflow.spanType")) or "UNKNOWN"
            span_id = span_id_hex(sp.get("span_id"))
            parent_id = span_id_hex(sp.get("parent_span_id"))
        status = sp.get("status") or {}
        code = _STATUS.get(status.get("code"), "UNSET")
        model_name = i = o = t = ids = count = query = error_type = error_message = http = None
        invalid = False
        if span_type in MODEL_SPAN_TYPES:
            # an LLM call's inner client span only lends its usage and model; the call's own outputs are judged
            inner_call = parent_id is not None and (trace_id, parent_id) in self._model_spans
            self._model_spans.add((trace_id, span_id))
            i, o, t = _usage(get("mlflow.chat.tokenUsage"))
            model_name = _short_text(get("mlflow.llm.model") or get("model"))
            if not inner_call:
                invalid = _has_invalid_tool_args(get("mlflow.spanOutputs"))
        elif span_type == "RETRIEVER":
            doc_ids, outputs = get("retrieval.doc_ids"), get("mlflow.spanOutputs")
            ids, count = _documents(doc_ids, outputs)
            if doc_ids is None and outputs is None:
                count = None
            query = _query(get("mlflow.spanInputs"))
        if code == "ERROR":
            error_type, error_message, http = _error_fields(sp.get("events"), status.get("message"))
        self.span_rows.append((
            trace_id, span_id, parent_id, sp.get("name") or "", span_type or "UNKNOWN", sp.get("start_time_unix_nano"),
            sp.get("end_time_unix_nano"), code, error_type, error_message, http, model_name, i, o, t, invalid, ids,
            count, query,
        ))  # fmt: skip
        if parent_id is not None:
            return None
        return {
            "status": code, "status_message": status.get("message"), "events": sp.get("events"),
            "error_cause": get("llmops.error_cause"), "actions_taken": get("llmops.actions_taken"),
            "unsupported_citations": get("llmops.unsupported_citations"),
            "injection_suspected": get("llmops.injection_suspected"),
        }  # fmt: skip

    def add_trace_dict(self, d: dict[str, Any]) -> None:
        """A trace in MLflow's dictionary form (one line of a trace file)."""
        info = d["info"]
        trace_id = info["trace_id"]
        tags = info.get("tags") or {}
        meta = info.get("trace_metadata") or {}
        root: dict[str, Any] = {}
        add_span_dict = self.add_span_dict
        for sp in d["data"]["spans"]:
            found = add_span_dict(trace_id, sp)
            if found is not None:
                root = found
        location = info.get("trace_location") or {}
        experiment_id = (location.get("mlflow_experiment") or {}).get("experiment_id")
        duration = info.get("execution_duration_ms")
        if duration is None and "execution_duration" in info:
            duration = (
                _float(str(info["execution_duration"]).rstrip("s")) * 1000 if info["execution_duration"] else None
            )
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
    """The DataFrames of a filled builder. Tree relations (parent row, depth, LLM calls, self time) are
    computed on integer row positions with numpy, not string keys: 80,000 spans take well under a second."""
    import numpy as np
    import pandas as pd

    s = builder.s
    n = len(s["trace_id"])
    start = np.array([v if v is not None else np.nan for v in s["start_ns"]], dtype="float64")
    end = np.array([v if v is not None else np.nan for v in s["end_ns"]], dtype="float64")
    trace_ids = _object_array(s["trace_id"])
    span_ids = _object_array([v if v is not None else "" for v in s["span_id"]])
    # stable order: trace id, start time, span id (integer keys: sorting Python strings is slow)
    trace_rank, trace_uniques = pd.factorize(trace_ids, sort=True)
    order = np.lexsort((_span_rank(span_ids), np.nan_to_num(start, nan=np.inf), trace_rank)) if n else np.arange(0)

    def col(name: str, dtype: Any = object) -> Any:
        values = s[name]
        return np.array(values, dtype=dtype)[order] if dtype is not object else _object_array(values)[order]

    trace_ids, span_ids = trace_ids[order], span_ids[order]
    parent_ids = col("parent_id")
    start, end = start[order], end[order]
    span_type = col("span_type")

    # parent row of each span (-1: root or parent not in the set); trace codes index the sorted unique ids
    trace_codes = trace_rank[order]
    parent = _parent_rows(trace_codes, span_ids, parent_ids)
    has_parent = parent >= 0

    depth = np.zeros(n, dtype=np.int64)
    cursor = parent.copy()
    for _ in range(64):  # cycles (corrupt data) stop at 64
        live = cursor >= 0
        if not live.any():
            break
        depth += live
        cursor = np.where(live, parent[np.where(live, cursor, 0)], -1)

    is_model = np.isin(span_type, list(MODEL_SPAN_TYPES))
    parent_is_model = np.zeros(n, dtype=bool)
    parent_is_model[has_parent] = is_model[parent[has_parent]]
    is_call = is_model & ~parent_is_model

    model = col("model")
    tokens = {k: np.array([v if v is not None else np.nan for v in s[k]], dtype="float64")[order]
              for k in ("input_tokens", "output_tokens", "total_tokens")}  # fmt: skip
    invalid = np.array(s["invalid_output"], dtype=bool)[order] if n else np.zeros(0, dtype=bool)
    # a call's usage, model and validity may sit on its inner span (OpenAI's client span under LangChain's)
    inner = np.flatnonzero(is_model & ~is_call & has_parent)
    if inner.size:
        # the enclosing call of each inner span (usually its parent; climb when nested deeper)
        call = parent[inner].copy()
        for _ in range(64):
            climb = (call >= 0) & ~is_call[np.maximum(call, 0)]
            if not climb.any():
                break
            call[climb] = parent[call[climb]]
        keep = call >= 0
        inner, call = inner[keep][::-1], call[keep][::-1]  # reversed: with repeats, the first inner span wins
        for values in tokens.values():
            fill = np.isnan(values[call]) & ~np.isnan(values[inner])
            values[call[fill]] = values[inner[fill]]
        no_model = np.array(
            [model[c] is None and model[i] is not None for c, i in zip(call.tolist(), inner.tolist())], dtype=bool
        )
        model[call[no_model]] = model[inner[no_model]]
        np.logical_or.at(invalid, call, invalid[inner])
    invalid &= is_call
    for name, values in tokens.items():
        values[~is_call] = np.nan  # usage on LLM-call rows only: a sum never counts a call twice
        missing = np.isnan(values)
        column = pd.array(np.where(missing, 0, values).astype("int64"), dtype="Int64")
        column[missing] = pd.NA
        tokens[name] = column

    duration = (end - start) / 1e6
    # self time: duration minus the union of the children's intervals (parallel children are not subtracted
    # twice), each child clipped to its parent
    covered = np.zeros(n, dtype="float64")
    kids = np.flatnonzero(has_parent & ~np.isnan(start) & ~np.isnan(end))
    if kids.size:
        kp = parent[kids]
        ks = np.maximum(start[kids], start[kp])
        ke = np.minimum(end[kids], end[kp])
        frame = pd.DataFrame({"p": kp, "s": ks, "e": ke}).dropna().sort_values(["p", "s"], kind="mergesort")
        running = frame.groupby("p", sort=False)["e"].cummax()
        previous = running.groupby(frame["p"], sort=False).shift(1).fillna(-np.inf)
        part = (frame["e"] - np.maximum(frame["s"], previous)).clip(lower=0)
        sums = part.groupby(frame["p"], sort=False).sum()
        covered[sums.index.to_numpy()] = sums.to_numpy()
    self_ms = np.clip(duration - covered / 1e6, 0, None)

    trace_start = pd.Series(start).groupby(trace_codes).transform("min").to_numpy() if n else start

    def text(values: Any) -> Any:  # object dtype on every pandas version (pandas 3 would infer arrow strings)
        return pd.Series(values, dtype=object, copy=False)

    status = col("status")
    names = col("name")
    retrieved = col("retrieved_doc_ids")
    traces = _build_traces(
        builder, trace_codes, trace_uniques, is_call, status, span_type, tokens, trace_ids, retrieved
    )
    # the trace's prompt, session and user on every span, through integer positions
    row_of_code = pd.Index(traces["trace_id"].to_numpy(dtype=object), dtype=object).get_indexer(trace_uniques)
    span_rows = (
        np.where(row_of_code[trace_codes] >= 0, row_of_code[trace_codes], -1) if n else np.zeros(0, dtype=np.int64)
    )
    per_span = {}
    for column in ("prompt_name", "prompt_version", "session_id", "user_id"):
        values = _object_array(traces[column].astype(object).where(traces[column].notna(), None).tolist() + [None])
        per_span[column] = values[span_rows]
    columns = {
        "trace_id": text(trace_ids), "span_id": text(span_ids), "parent_id": text(parent_ids), "name": text(names),
        "span_type": text(span_type), "depth": depth,
        "start_time": pd.to_datetime(start, unit="ns", utc=True).astype("datetime64[ns, UTC]"),
        "start_ns": _int_array(s["start_ns"], order), "end_ns": _int_array(s["end_ns"], order),
        "offset_ms": (start - trace_start) / 1e6, "duration_ms": duration, "self_ms": self_ms,
        "status": text(status), "error_type": text(col("error_type")), "error_message": text(col("error_message")),
        "http_status": _int_array(s["http_status"], order), "is_llm_call": is_call, "model": text(model), **tokens,
        "invalid_output": invalid, "tool_name": text(np.where(span_type == "TOOL", names, None)),
        "retrieved_doc_ids": text(retrieved), "retrieved_count": _int_array(s["retrieved_count"], order),
        "query": text(col("query")), "prompt_name": text(per_span["prompt_name"]),
        "prompt_version": pd.array(per_span["prompt_version"].tolist(), dtype="Int64"),
        "session_id": text(per_span["session_id"]), "user_id": text(per_span["user_id"]),
    }  # fmt: skip
    spans = pd.DataFrame({name: columns[name] for name in SPAN_COLUMNS})

    a = builder.a
    assessments = pd.DataFrame({k: pd.Series(_object_array(a[k]), dtype=object) for k in ASSESSMENT_COLUMNS})
    assessments["created"] = pd.to_datetime(pd.Series(a["created"], dtype="float64"), unit="ms", utc=True).astype(
        "datetime64[ns, UTC]"
    )
    assessments = assessments.sort_values(["trace_id", "created", "assessment_id"], kind="mergesort").reset_index(
        drop=True
    )
    return TraceSet(spans=spans, traces=traces, assessments=assessments, source=source, problems=problems)


def _span_rank(span_ids: Any) -> Any:
    """Integers ordered like the span ids: the ids' value for 16-hex-digit ids, else their sorted codes."""
    import numpy as np
    import pandas as pd

    try:
        return np.array([int(v, 16) for v in span_ids.tolist()], dtype=np.uint64)
    except (ValueError, TypeError, OverflowError):
        return pd.factorize(span_ids, sort=True)[0]


def _parent_rows(trace_codes: Any, span_ids: Any, parent_ids: Any) -> Any:
    """Row of each span's parent (-1 for a root or a parent missing from the set), by integer keys:
    (trace code, id code) pairs folded into one int64 and matched with a hash index."""
    import numpy as np
    import pandas as pd

    n = len(span_ids)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    id_codes, uniques = pd.factorize(np.concatenate([span_ids, parent_ids]), use_na_sentinel=True)
    width = len(uniques) + 1
    own = trace_codes.astype(np.int64) * width + id_codes[:n]
    wanted = id_codes[n:]
    keys = np.where(wanted >= 0, trace_codes.astype(np.int64) * width + wanted, -1)
    index = pd.Index(own)
    if not index.is_unique:  # repeated span ids in a trace (damaged data): the first one is the parent
        first = ~pd.Index(own).duplicated()
        rows = np.flatnonzero(first)
        found = pd.Index(own[first]).get_indexer(keys)
        return np.where((found >= 0) & (keys >= 0), rows[np.maximum(found, 0)], -1)
    found = index.get_indexer(keys)
    return np.where(keys >= 0, found, -1).astype(np.int64)


def _object_array(values: list[Any]) -> Any:
    """A 1-d object array of ``values`` (tuples stay elements, not rows)."""
    import numpy as np

    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _int_array(values: list[Any], order: Any) -> Any:
    """A nullable Int64 array of ``values`` (None -> NA) in ``order``; fast when nothing is missing."""
    import numpy as np
    import pandas as pd

    try:
        return pd.array(np.array(values, dtype=np.int64)[order], dtype="Int64")
    except (TypeError, ValueError, OverflowError):
        missing = np.array([v is None for v in values], dtype=bool)[order]
        data = np.array([0 if v is None else v for v in values], dtype=np.int64)[order]
        out = pd.array(data, dtype="Int64")
        out[missing] = pd.NA
        return out


def _build_traces(
    builder: TableBuilder, trace_codes: Any, trace_uniques: Any, is_call: Any, status: Any, span_type: Any,
    tokens: dict[str, Any], trace_ids: Any, retrieved: Any,
) -> pd.DataFrame:  # fmt: skip
    """The trace table: the builder's trace rows plus counts and token sums from the span arrays."""
    import numpy as np
    import pandas as pd

    t = builder.t
    traces = pd.DataFrame({k: pd.Series(_object_array(v), dtype=object) for k, v in t.items()})
    for column in ("start_ms", "prompt_version", "trace_input_tokens", "trace_output_tokens", "trace_total_tokens"):
        traces[column] = pd.array(pd.to_numeric(traces[column], errors="coerce"), dtype="Int64")
    traces["duration_ms"] = pd.to_numeric(traces["duration_ms"], errors="coerce").astype("float64")
    traces["cost_usd"] = pd.to_numeric(traces["cost_usd"], errors="coerce").astype("float64")
    traces = traces.drop_duplicates("trace_id", keep="first").reset_index(drop=True)

    # per-trace counts from the spans, on the integer trace codes
    n_traces = len(trace_uniques)

    def per_trace(mask: Any = None, values: Any = None) -> Any:
        codes = trace_codes if mask is None else trace_codes[mask]
        weights = None if values is None else (values if mask is None else values[mask])
        return np.bincount(codes, weights=weights, minlength=n_traces) if n_traces else np.zeros(0)

    error = status == "ERROR"
    tool = span_type == "TOOL"
    counts = {
        "spans": per_trace(), "error_spans": per_trace(error), "llm_calls": per_trace(is_call),
        "tool_calls": per_trace(tool), "tool_errors": per_trace(tool & error),
    }  # fmt: skip
    code_of = pd.Index(_object_array(list(trace_uniques)), dtype=object).get_indexer(
        traces["trace_id"].to_numpy(dtype=object)
    )
    present = code_of >= 0
    codes = np.where(present, code_of, 0)
    for column, values in counts.items():
        traces[column] = np.where(present, values[codes] if n_traces else 0, 0).astype("int64")
    for kind in ("input", "output", "total"):
        column = tokens[f"{kind}_tokens"]
        have = ~np.asarray(column.isna())
        sums = per_trace(have, np.asarray(column.fillna(0), dtype="float64"))
        seen = per_trace(have)
        from_spans = (
            np.where(present & (seen[codes] > 0), sums[codes], np.nan) if n_traces else np.full(len(traces), np.nan)
        )
        # a trace without token usage on its spans keeps the total MLflow recorded for it
        fallback = traces[f"trace_{kind}_tokens"]
        use_spans = ~np.isnan(from_spans)
        merged = pd.array(np.where(use_spans, from_spans, 0).astype("int64"), dtype="Int64")
        merged[~use_spans] = fallback[~use_spans].array
        traces[f"{kind}_tokens"] = merged
    merged_ids: dict[str, tuple[str, ...]] = {}
    for row in np.flatnonzero(span_type == "RETRIEVER").tolist():
        ids = retrieved[row]
        if ids:
            trace_id = trace_ids[row]
            before = merged_ids.get(trace_id)
            # ids are distinct within a span; merge (first-seen order) only when a trace searched twice
            merged_ids[trace_id] = ids if before is None else tuple(dict.fromkeys((*before, *ids)))
    traces["retrieved_doc_ids"] = _object_array([merged_ids.get(i, ()) for i in traces["trace_id"]])
    traces["start_time"] = pd.to_datetime(traces["start_ms"].astype("float64"), unit="ms", utc=True).astype(
        "datetime64[ns, UTC]"
    )
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


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of small, acyclic objects are made (parsed JSON):
    its repeated full passes over a growing heap cost 10-15% of a load. Restored afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_file(path: Path | str) -> TraceSet:
    """The trace set of a trace file (JSONL, MLflow trace JSON per line). Damaged lines are skipped and
    listed in :attr:`TraceSet.problems` with their line numbers; a file with no usable line at all raises
    :class:`~llmops.analysis.errors.TraceFileError` (an empty file gives an empty set)."""
    with _gc_paused():
        return _load_file(Path(path))


def _load_file(path: Path) -> TraceSet:
    builder = TableBuilder()
    problems: list[LineProblem] = []
    count = 0
    for number, item in traces_in_file(path):
        if isinstance(item, LineProblem):
            problems.append(item)
            continue
        try:
            builder_mark = len(builder.span_rows), len(builder.trace_rows), len(builder.assessment_rows)
            builder.add_trace_dict(item)
            count += 1
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            _rollback(builder, builder_mark)
            problems.append(LineProblem(number, f"not a usable MLflow trace ({type(exc).__name__}: {exc})"))
    if count == 0 and problems:
        raise_empty_file(path, problems)
    return builder.build(source=str(path), problems=problems)


def _rollback(builder: TableBuilder, mark: tuple[int, int, int]) -> None:
    del builder.span_rows[mark[0] :]
    del builder.trace_rows[mark[1] :]
    del builder.assessment_rows[mark[2] :]


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
    database_uri: str | None = None,
) -> TraceSet:
    """The trace set of an experiment (default: the configured one) of a tracking store, optionally narrowed
    by an MLflow ``search_traces`` filter (``"trace.status = 'ERROR'"``, ``"tags.k = 'v'"``...).

    ``method="auto"`` reads a SQLite or PostgreSQL store's tables directly, and a tracking server's database
    when it is named (``database_uri``, else ``LLMOPS_BACKEND_STORE_URI``); filters are still evaluated by
    MLflow, which returns the matching trace ids. Any other store is read through MLflow's search;
    ``"sql"`` and ``"mlflow"`` force one path. A filter MLflow rejects raises
    :class:`~llmops.analysis.errors.TraceFilterError` quoting MLflow's reason.
    """
    from llmops.analysis import store
    from llmops.analysis.io import check_sqlite_store, experiment_id_for, resolve_tracking_uri
    from llmops.settings import get_settings

    settings = get_settings()  # also keeps MLflow offline when the offline model is selected
    uri = resolve_tracking_uri(tracking_uri)
    check_sqlite_store(uri)
    name = experiment or settings.experiment_name
    if method not in ("auto", "sql", "mlflow"):
        raise ValueError(f"method must be auto, sql or mlflow, not {method!r}")
    db = store.direct_database(uri, database_uri)
    experiment_id = None
    if method != "mlflow" and db is not None and not filter_string:
        experiment_id = store.experiment_id_direct(db, name)
    if experiment_id is None:
        experiment_id = experiment_id_for(name, uri)
    source = f"experiment {name!r} of {uri}" + (f" matching {filter_string!r}" if filter_string else "")
    if method != "mlflow" and db is not None:
        trace_ids = store.matching_trace_ids(uri, experiment_id, filter_string) if filter_string else None
        with _gc_paused():
            builder = store.read_direct(db, experiment_id, trace_ids, tracking_uri=uri, strict=method == "sql")
            if builder is not None:
                return builder.build(source=source)
    if method == "sql":
        raise ValueError(f"{uri} is not a SQL store and names no database; use method='auto' or 'mlflow'")
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
