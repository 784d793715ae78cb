"""Failures in a trace set: every problem classified where it started (:func:`issues`), the failed traces
(:func:`failed_traces`) and the error taxonomy (:func:`error_taxonomy`), by the categories of
:data:`ERROR_CATEGORIES`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llmops.analysis.frames import as_list, cached, check_columns, empty_frame, pandas, round_ms

if TYPE_CHECKING:
    import pandas as pd

    from llmops.analysis.traceset import TraceSet

#: The error taxonomy: category -> what it means.
ERROR_CATEGORIES: dict[str, str] = {
    "http_error": "the model endpoint answered with an HTTP error (429 rate limit, 5xx server error...)",
    "timeout": "a model call timed out",
    "connection_error": "the model endpoint could not be reached",
    "tool_exception": "a tool (or the retriever inside it) raised an exception",
    "invalid_structured_output": "the model's structured answer did not parse (broken tool-call JSON) or validate",
    "empty_retrieval": "a retriever returned no document",
    "llm_call_limit": "the agent stopped at its LLM-call limit",
    "other": "any other error (see error_type)",
}

_STRUCTURED_TYPES = ("StructuredOutputError", "OutputParserException", "ValidationError", "JSONDecodeError")

ISSUE_COLUMNS = (
    "trace_id", "span_id", "span_name", "span_type", "category", "detail", "error_type", "error_message",
    "http_status", "trace_status", "prompt_name", "prompt_version", "session_id",
)  # fmt: skip


def _cause_category(cause: str | None) -> tuple[str, str] | None:
    """(category, detail) of the analyzer's ``llmops.error_cause`` or an exception type name; None if unknown."""
    if not cause:
        return None
    text = str(cause)
    low = text.lower()
    if low.startswith("http_") and low[5:].isdigit():
        return "http_error", f"HTTP {low[5:]}"
    if low == "rate_limited" or "ratelimit" in low:
        return "http_error", "HTTP 429"
    if "timeout" in low or "timed out" in low:
        return "timeout", text
    if low in ("model_unreachable",) or "connection" in low:
        return "connection_error", text
    if low in ("invalid_structured_output", "no_structured_output") or text in _STRUCTURED_TYPES:
        return "invalid_structured_output", text
    if "call_limit" in low or "calllimit" in low:
        return "llm_call_limit", text
    return None


def _classify_error(
    span_type: str,
    name: str,
    error_type: str | None,
    message: str | None,
    http: Any,
    cause: str | None,
    model: Any = None,
) -> tuple[str, str]:
    """(category, detail) of an error that started in this span. The detail is the HTTP status, the tool
    name, or the model (timeouts, connection errors), so one row of the taxonomy is one thing to fix."""
    model = model if isinstance(model, str) and model else None
    etype = error_type or ""
    low_type, low_msg = etype.lower(), (message or "").lower()
    if span_type in ("TOOL", "RETRIEVER"):
        return "tool_exception", name
    if "timeout" in low_type or "timed out" in low_msg:
        return "timeout", model or name
    if not pandas().isna(http):
        return "http_error", f"HTTP {int(http)}"
    if "connection" in low_type:
        return "connection_error", model or name
    if etype in _STRUCTURED_TYPES:
        return "invalid_structured_output", name
    mapped = _cause_category(cause) or _cause_category(etype)
    if mapped:
        return mapped
    return "other", etype or name


def issues(ts: TraceSet) -> pd.DataFrame:
    """One row per problem found in the spans, classified by :data:`ERROR_CATEGORIES`.

    A problem is an error where it started (an ERROR span none of whose children is in ERROR: a 500 on the
    OpenAI client's span, not the four spans it bubbled up through), an LLM call whose structured answer is
    broken (``invalid_output``), or a retriever that returned nothing. A failed root span counts only when
    nothing below it already explains the failure. Columns: ``trace_id, span_id, span_name, span_type,
    category, detail, error_type, error_message, http_status, trace_status, prompt_name, prompt_version,
    session_id``; rows in span order (trace id, start time).
    """
    return cached(ts, "issues", _find_issues)


def _find_issues(ts: TraceSet) -> pd.DataFrame:
    import numpy as np

    pd = pandas()
    spans = ts.spans
    if spans.empty:
        return empty_frame(ISSUE_COLUMNS)
    status = spans["status"].to_numpy()
    span_type = spans["span_type"].to_numpy()
    trace_ids = spans["trace_id"].to_numpy()
    span_ids = spans["span_id"].to_numpy()
    parent_ids = spans["parent_id"].to_numpy()
    error = status == "ERROR"
    error_rows = np.flatnonzero(error)
    errored_parents = set(zip(trace_ids[error_rows].tolist(), parent_ids[error_rows].tolist()))
    origin = error.copy()
    for i in error_rows.tolist():
        if (trace_ids[i], span_ids[i]) in errored_parents:
            origin[i] = False
    invalid = spans["invalid_output"].to_numpy(dtype=bool)
    counts = spans["retrieved_count"].to_numpy(dtype="float64", na_value=np.nan)
    empty = (span_type == "RETRIEVER") & ~error & (counts == 0)
    rows_at = np.flatnonzero(origin | invalid | empty)
    if rows_at.size == 0:
        return empty_frame(ISSUE_COLUMNS)
    sub = spans.iloc[rows_at]
    causes = dict(zip(ts.traces["trace_id"].tolist(), ts.traces["error_cause"].tolist()))
    trace_status = dict(zip(ts.traces["trace_id"].tolist(), ts.traces["status"].tolist()))
    names = ("trace_id", "span_id", "parent_id", "name", "span_type", "error_type", "error_message", "http_status",
             "model", "prompt_name", "prompt_version", "session_id")  # fmt: skip
    columns = {c: sub[c].astype(object).where(sub[c].notna(), None).tolist() for c in names}
    flags = zip(origin[rows_at].tolist(), invalid[rows_at].tolist(), empty[rows_at].tolist())

    out: list[dict[str, Any]] = []
    roots: list[dict[str, Any]] = []
    for k, (is_origin, is_invalid, is_empty) in enumerate(flags):
        base = {c: columns[c][k] for c in names if c not in ("parent_id", "model", "name")}
        base["span_name"] = columns["name"][k]
        if is_origin:
            is_root = columns["parent_id"][k] is None
            category, detail = _classify_error(
                columns["span_type"][k], columns["name"][k], columns["error_type"][k], columns["error_message"][k],
                columns["http_status"][k], causes.get(columns["trace_id"][k]) if is_root else None, columns["model"][k],
            )  # fmt: skip
            row = {**base, "category": category, "detail": detail}
            out.append(row)
            if is_root:
                roots.append(row)
        if is_invalid:
            out.append({**base, "category": "invalid_structured_output", "detail": columns["name"][k],
                        "error_type": base["error_type"] or "invalid tool-call arguments"})  # fmt: skip
        if is_empty:
            out.append({**base, "category": "empty_retrieval", "detail": columns["name"][k], "error_type": None,
                        "error_message": None})  # fmt: skip
    if roots:
        # a failed root whose category a span below it already shows adds nothing
        root_ids = {id(r) for r in roots}
        seen: dict[str, set[str]] = {}
        for row in out:
            if id(row) not in root_ids:
                seen.setdefault(row["trace_id"], set()).add(row["category"])
        drop = {id(r) for r in roots if r["category"] in seen.get(r["trace_id"], ())}
        out = [r for r in out if id(r) not in drop]
    frame = pd.DataFrame(out, columns=[c for c in ISSUE_COLUMNS if c != "trace_status"])
    frame["trace_status"] = [trace_status.get(t) for t in frame["trace_id"]]
    frame["http_status"] = pd.array(frame["http_status"].tolist(), dtype="Int64")
    frame["prompt_version"] = pd.array(frame["prompt_version"].tolist(), dtype="Int64")
    for column in ("trace_id", "span_id", "span_name", "span_type", "category", "detail", "error_type", "error_message",
                   "trace_status", "prompt_name", "session_id"):  # fmt: skip
        frame[column] = frame[column].astype(object)
    return frame.loc[:, list(ISSUE_COLUMNS)].reset_index(drop=True)


def failed_traces(ts: TraceSet) -> pd.DataFrame:
    """One row per failed trace (status ERROR) with the category of its failure.

    The category comes from the analyzer's ``llmops.error_cause`` when recorded (``http_500`` ->
    http_error / HTTP 500), else from the last problem found in the trace. Columns: ``trace_id, category,
    detail, error_cause, error_message, duration_ms, llm_calls, prompt_name, prompt_version, session_id,
    user_id``; rows by start time, then id.
    """
    columns = ("trace_id", "category", "detail", "error_cause", "error_message", "duration_ms", "llm_calls",
               "prompt_name", "prompt_version", "session_id", "user_id")  # fmt: skip
    failed = ts.traces[ts.traces["status"] == "ERROR"]
    if failed.empty:
        return empty_frame(columns)
    found = issues(ts)
    by_trace: dict[str, list[tuple[str, str]]] = {}
    for trace_id, category, detail in zip(
        found["trace_id"].tolist(), found["category"].tolist(), found["detail"].tolist()
    ):
        by_trace.setdefault(trace_id, []).append((category, detail))
    categories, details = [], []
    for trace_id, cause in zip(failed["trace_id"].tolist(), failed["error_cause"].tolist()):
        mapped = _cause_category(cause)
        seen = by_trace.get(trace_id)
        if seen:
            if mapped is None:
                # no recorded cause: the last problem in the trace is the one that ended it
                mapped = seen[-1]
            else:
                # same category seen in the spans: use its detail (the tool, the model, the span) for one row
                same = [problem for problem in seen if problem[0] == mapped[0]]
                if same:
                    mapped = (mapped[0], same[-1][1])
        mapped = mapped or ("other", cause or "error")
        categories.append(mapped[0])
        details.append(mapped[1])
    out = failed.assign(category=categories, detail=details).loc[:, list(columns)]
    return round_ms(out.reset_index(drop=True))


def error_taxonomy(ts: TraceSet, by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Problems grouped by category and detail (and ``by``: e.g. ``"prompt_version"`` or ``"session_id"``).

    Columns: [by...], ``category, detail, occurrences`` (problems found), ``traces`` (traces with one),
    ``failed_traces`` (traces that failed because of it), ``share`` (of all problems), ``error_types``
    (distinct exception types), ``example_trace_id`` (the smallest trace id); sorted by occurrences, failed
    traces (both descending), then category and detail. This is the error Pareto.
    """
    pd = pandas()
    keys = as_list(by)
    check_columns(ts.traces, keys, "trace")
    columns = (*keys, "category", "detail", "occurrences", "traces", "failed_traces", "share", "error_types",
               "example_trace_id")  # fmt: skip
    found = issues(ts)
    failed = failed_traces(ts)
    if found.empty and failed.empty:
        return empty_frame(columns)
    trace_cols = ts.traces.set_index("trace_id")
    for key in keys:
        found[key] = found["trace_id"].map(trace_cols[key])
        failed[key] = failed["trace_id"].map(trace_cols[key])
    group = [*keys, "category", "detail"]
    if found.empty:
        agg = pd.DataFrame(columns=[*group, "occurrences", "traces", "error_types", "example_trace_id"])
    else:
        agg = (
            found.groupby(group, dropna=False, sort=False)
            .agg(
                occurrences=("trace_id", "size"),
                traces=("trace_id", "nunique"),
                error_types=(
                    "error_type",
                    lambda s: ", ".join(sorted({str(v) for v in s if v is not None and v == v})),
                ),
                example_trace_id=("trace_id", "min"),
            )
            .reset_index()
        )
    fails = (
        failed.groupby(group, dropna=False, sort=False)
        .agg(failed_traces=("trace_id", "nunique"), failed_example=("trace_id", "min"))
        .reset_index()
        if len(failed)
        else pd.DataFrame(columns=[*group, "failed_traces", "failed_example"])
    )
    out = agg.merge(fails, on=group, how="outer")
    out["occurrences"] = out["occurrences"].fillna(0).astype("int64")
    out["traces"] = out["traces"].fillna(out["failed_traces"]).fillna(0).astype("int64")
    out["failed_traces"] = out["failed_traces"].fillna(0).astype("int64")
    out["error_types"] = out["error_types"].fillna("")
    out["example_trace_id"] = out["example_trace_id"].fillna(out["failed_example"])
    total = int(out["occurrences"].sum())
    out["share"] = (out["occurrences"] / total).round(4) if total else 0.0
    out = out.sort_values(
        ["occurrences", "failed_traces", "category", "detail", *keys], ascending=[False, False, True, True, *[True] * len(keys)],
        kind="mergesort",
    )  # fmt: skip
    return out.loc[:, list(columns)].reset_index(drop=True)
