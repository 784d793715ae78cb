"""Diagnostics over a :class:`~llmops.analysis.traceset.TraceSet`: each a function returning a DataFrame.

Every result is deterministic: rows are sorted by the figure that matters (most frequent, slowest...) and
ties are broken by name or id; percentiles interpolate linearly (``numpy.quantile``'s default). Durations
are milliseconds. An empty trace set gives empty tables with the documented columns.

Questions they answer, for example:

* which tool fails most often, and with which error? -> :func:`tool_usage` (``errors``, ``top_error``)
* which prompt version produced the invalid outputs? -> ``error_taxonomy(ts, by="prompt_version")``
* what is the slowest session, and why? -> :func:`sessions` (``dominant_span``), :func:`slowest_traces`
* how many LLM calls does a successful analysis make? -> :func:`llm_calls`
* which documents should have been retrieved for a trace? -> :func:`expected_documents`
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

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

#: Span types that are a unit of work on the critical path (not descended into).
_WORK_TYPES = frozenset({"TOOL", "RETRIEVER", "EMBEDDING", "RERANKER", "PARSER"})
_STRUCTURED_TYPES = ("StructuredOutputError", "OutputParserException", "ValidationError", "JSONDecodeError")

ISSUE_COLUMNS = (
    "trace_id", "span_id", "span_name", "span_type", "category", "detail", "error_type", "error_message",
    "http_status", "trace_status", "prompt_name", "prompt_version", "session_id",
)  # fmt: skip


# ---------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------


def _pd() -> Any:
    import pandas as pd

    return pd


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return _pd().DataFrame({c: [] for c in columns})


def _quantiles(values: Any, qs: Sequence[float]) -> list[float]:
    import numpy as np

    data = np.asarray([v for v in values if v == v], dtype="float64")  # drop NaN
    if data.size == 0:
        return [float("nan")] * len(qs)
    return [float(x) for x in np.quantile(data, qs)]


def _round(df: pd.DataFrame, digits: int = 1) -> pd.DataFrame:
    """Durations (``*_ms`` columns) rounded for reading; rates and shares are rounded where computed."""
    for column in df.columns:
        if str(column).endswith("_ms") and df[column].dtype.kind == "f":
            df[column] = df[column].round(digits)
    return df


def _work_units(spans: pd.DataFrame) -> pd.Series:
    """Per span, the name of the unit of work its time belongs to: an LLM call's inner model spans (OpenAI's
    ``Completions`` inside LangChain's ``ChatOpenAI``) count as the call; other spans as themselves."""
    import numpy as np

    from llmops.analysis.fields import MODEL_SPAN_TYPES

    inner = (spans["span_type"].isin(MODEL_SPAN_TYPES) & ~spans["is_llm_call"]).to_numpy()
    names = spans["name"].to_numpy(dtype=object).copy()
    if not inner.any():
        return pd_series(names, spans.index)
    trace_ids = spans["trace_id"].to_numpy(dtype=object)
    keys = trace_ids + ":" + spans["span_id"].fillna("").to_numpy(dtype=object)
    parent_keys = trace_ids + ":" + spans["parent_id"].fillna("").to_numpy(dtype=object)
    parent = _pd().Index(keys, dtype=object).get_indexer(parent_keys)
    is_call = spans["is_llm_call"].to_numpy()
    rows = np.flatnonzero(inner)
    call = parent[rows]
    for _ in range(16):  # climb to the enclosing call
        climb = (call >= 0) & ~is_call[np.maximum(call, 0)]
        if not climb.any():
            break
        call[climb] = parent[call[climb]]
    found = call >= 0
    names[rows[found]] = names[call[found]]
    return pd_series(names, spans.index)


def pd_series(values: Any, index: Any) -> pd.Series:
    return _pd().Series(values, index=index, dtype=object)


def _as_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def _check_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"no {what} column {', '.join(map(repr, missing))}; columns: {', '.join(frame.columns)}")


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
    if not _pd().isna(http):
        return "http_error", f"HTTP {int(http)}"
    if "connection" in low_type:
        return "connection_error", model or name
    if etype in _STRUCTURED_TYPES:
        return "invalid_structured_output", name
    mapped = _cause_category(cause) or _cause_category(etype)
    if mapped:
        return mapped
    return "other", etype or name


# ---------------------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------------------


def _cached(ts: TraceSet, name: str, compute: Any) -> Any:
    """``compute(ts)`` memoised on the trace set while its span table is the same object."""
    cache = ts.__dict__.setdefault("_cache", {})
    key = (name, id(ts.spans), len(ts.spans), id(ts.traces))
    if key not in cache:
        cache.clear() if len(cache) > 16 else None
        cache[key] = compute(ts)
    return cache[key].copy()


def issues(ts: TraceSet) -> pd.DataFrame:
    """One row per problem found in the spans, classified by :data:`ERROR_CATEGORIES`.

    A problem is an error where it started (an ERROR span none of whose children is in ERROR: a 500 on the
    OpenAI client's span, not the four spans it bubbled up through), an LLM call whose structured answer is
    broken (``invalid_output``), or a retriever that returned nothing. A failed root span counts only when
    nothing below it already explains the failure. Columns: ``trace_id, span_id, span_name, span_type,
    category, detail, error_type, error_message, http_status, trace_status, prompt_name, prompt_version,
    session_id``; rows in span order (trace id, start time).
    """
    return _cached(ts, "issues", _find_issues)


def _find_issues(ts: TraceSet) -> pd.DataFrame:
    import numpy as np

    pd = _pd()
    spans = ts.spans
    if spans.empty:
        return _empty(ISSUE_COLUMNS)
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
        return _empty(ISSUE_COLUMNS)
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
        return _empty(columns)
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
    return _round(out.reset_index(drop=True))


def error_taxonomy(ts: TraceSet, by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Problems grouped by category and detail (and ``by``: e.g. ``"prompt_version"`` or ``"session_id"``).

    Columns: [by...], ``category, detail, occurrences`` (problems found), ``traces`` (traces with one),
    ``failed_traces`` (traces that failed because of it), ``share`` (of all problems), ``error_types``
    (distinct exception types), ``example_trace_id`` (the smallest trace id); sorted by occurrences, failed
    traces (both descending), then category and detail. This is the error Pareto.
    """
    pd = _pd()
    keys = _as_list(by)
    _check_columns(ts.traces, keys, "trace")
    columns = (*keys, "category", "detail", "occurrences", "traces", "failed_traces", "share", "error_types",
               "example_trace_id")  # fmt: skip
    found = issues(ts)
    failed = failed_traces(ts)
    if found.empty and failed.empty:
        return _empty(columns)
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


# ---------------------------------------------------------------------------------------------------------
# latency
# ---------------------------------------------------------------------------------------------------------


def latency_breakdown(ts: TraceSet, by: str | Sequence[str] = ("span_type", "name")) -> pd.DataFrame:
    """Where the time goes, per span type and name (or any span columns in ``by``).

    Columns: [by...], ``count, traces, p50_ms, p95_ms, p99_ms, mean_ms, max_ms, total_ms, self_ms``
    (time in these spans not covered by a child), ``time_share`` (self_ms / the sum of all trace durations:
    the shares of all rows add up to 1, or a little more when spans ran in parallel, like the analyzer's
    concurrent tool calls). Sorted by self_ms descending, then the keys.
    """
    keys = _as_list(by)
    _check_columns(ts.spans, keys, "span")
    columns = (
        *keys,
        "count",
        "traces",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "mean_ms",
        "max_ms",
        "total_ms",
        "self_ms",
        "time_share",
    )
    spans = ts.spans.dropna(subset=["duration_ms"])
    if spans.empty:
        return _empty(columns)
    roots = spans[spans["parent_id"].isna()]
    trace_total = float(roots["duration_ms"].sum()) or float(spans["self_ms"].sum())
    grouped = spans.groupby(keys, dropna=False, sort=True)
    out = grouped.agg(
        count=("span_id", "size"), traces=("trace_id", "nunique"), mean_ms=("duration_ms", "mean"),
        max_ms=("duration_ms", "max"), total_ms=("duration_ms", "sum"), self_ms=("self_ms", "sum"),
    )  # fmt: skip
    q = grouped["duration_ms"].quantile([0.5, 0.95, 0.99]).unstack()
    out["p50_ms"], out["p95_ms"], out["p99_ms"] = q[0.5], q[0.95], q[0.99]
    out["time_share"] = (out["self_ms"] / trace_total).round(4) if trace_total else 0.0
    out = out.reset_index().sort_values(["self_ms", *keys], ascending=[False, *[True] * len(keys)], kind="mergesort")
    return _round(out.loc[:, list(columns)].reset_index(drop=True), 2)


def _path_steps(spans: pd.DataFrame) -> list[int]:
    """Row labels of the work units on the critical path of one trace's spans, in time order."""
    by_parent: dict[Any, list[int]] = {}
    for idx, parent in zip(spans.index, spans["parent_id"]):
        by_parent.setdefault(parent, []).append(idx)
    start, end = spans["start_ns"].to_dict(), spans["end_ns"].to_dict()
    span_id, span_type, is_call = (
        spans["span_id"].to_dict(),
        spans["span_type"].to_dict(),
        spans["is_llm_call"].to_dict(),
    )

    def walk(idx: int) -> list[int]:
        kids = [k for k in by_parent.get(span_id[idx], []) if end[k] is not None and end[k] is not _pd().NA]
        if not kids or is_call[idx] or span_type[idx] in _WORK_TYPES:
            return [idx]
        kids.sort(key=lambda k: (-int(end[k]), -int(start[k]), str(span_id[k])))
        limit = int(end[idx])
        chosen: list[int] = []
        for k in kids:
            if int(end[k]) <= limit:
                chosen.append(k)
                limit = int(start[k])
        steps: list[int] = []
        for k in reversed(chosen):
            steps.extend(walk(k))
        return steps

    roots = [i for i in by_parent.get(None, [])]
    if not roots:
        return []
    root = min(roots, key=lambda i: (int(start[i]), str(span_id[i])))
    return walk(root)


def _path_text(steps: pd.DataFrame, total_ms: float) -> str:
    """Critical-path steps as text: LLM calls, tools, retrievers, and any other step of >= 5% of the trace;
    the rest are counted, not named."""
    shown, hidden = [], 0
    for name, span_type, is_call, duration in zip(
        steps["name"], steps["span_type"], steps["is_llm_call"], steps["duration_ms"]
    ):
        if is_call or span_type in _WORK_TYPES or (total_ms and duration >= 0.05 * total_ms):
            shown.append(f"{name} {duration:.0f} ms")
        else:
            hidden += 1
    text = " → ".join(shown)
    return f"{text} (+{hidden} short step{'s' if hidden > 1 else ''})" if hidden else text


def critical_path(ts: TraceSet, trace_id: str) -> pd.DataFrame:
    """The spans that determined a trace's duration, in time order.

    From the root, take the child that finished last, then the one that finished last before that child
    started, and so on, descending into each; LLM calls, tools and retrievers are units of work (not split
    further). Columns: ``step, span_id, name, span_type, offset_ms, duration_ms, share`` (of the trace
    duration), ``status``.
    """
    ts.trace(trace_id)  # TraceNotFoundError when unknown
    spans = ts.spans[ts.spans["trace_id"] == trace_id].dropna(subset=["end_ns"])
    columns = ("step", "span_id", "name", "span_type", "offset_ms", "duration_ms", "share", "status")
    if spans.empty:
        return _empty(columns)
    steps = _path_steps(spans)
    total = float(spans.loc[spans["parent_id"].isna(), "duration_ms"].max())
    out = spans.loc[steps, ["span_id", "name", "span_type", "offset_ms", "duration_ms", "status"]].copy()
    out.insert(0, "step", range(1, len(out) + 1))
    out["share"] = (out["duration_ms"] / total).round(4) if total else 0.0
    return _round(out.loc[:, list(columns)].reset_index(drop=True), 1)


def slowest_traces(ts: TraceSet, n: int = 10) -> pd.DataFrame:
    """The ``n`` slowest traces with their critical path.

    Columns: ``trace_id, duration_ms, status, session_id, prompt_version, llm_calls, critical_path`` (the
    steps as ``name duration`` joined by arrows), ``dominant_step`` (the longest step), ``dominant_ms``,
    ``dominant_share`` (of the trace duration). Sorted by duration descending, then id.
    """
    columns = ("trace_id", "duration_ms", "status", "session_id", "prompt_version", "llm_calls", "critical_path",
               "dominant_step", "dominant_ms", "dominant_share")  # fmt: skip
    traces = ts.traces.sort_values(["duration_ms", "trace_id"], ascending=[False, True], kind="mergesort").head(n)
    if traces.empty:
        return _empty(columns)
    spans_by_trace = {k: v for k, v in ts.spans[ts.spans["trace_id"].isin(set(traces["trace_id"]))].groupby("trace_id")}
    rows = []
    for trace in traces.itertuples(index=False):
        spans = spans_by_trace.get(trace.trace_id)
        path, dominant, dominant_ms = "", None, float("nan")
        if spans is not None:
            spans = spans.dropna(subset=["end_ns"])
            steps = spans.loc[_path_steps(spans)] if len(spans) else spans
            if len(steps):
                path = _path_text(steps, float(trace.duration_ms or 0))
                longest = steps.sort_values(
                    ["duration_ms", "start_ns"], ascending=[False, True], kind="mergesort"
                ).iloc[0]
                dominant, dominant_ms = longest["name"], float(longest["duration_ms"])
        rows.append({
            "trace_id": trace.trace_id, "duration_ms": trace.duration_ms, "status": trace.status,
            "session_id": trace.session_id, "prompt_version": trace.prompt_version, "llm_calls": trace.llm_calls,
            "critical_path": path, "dominant_step": dominant, "dominant_ms": dominant_ms,
            "dominant_share": round(dominant_ms / trace.duration_ms, 4) if trace.duration_ms else float("nan"),
        })  # fmt: skip
    out = _pd().DataFrame(rows, columns=list(columns))
    out["prompt_version"] = out["prompt_version"].astype("Int64")
    return _round(out, 1)


# ---------------------------------------------------------------------------------------------------------
# tokens, cost, LLM calls
# ---------------------------------------------------------------------------------------------------------


def token_usage(ts: TraceSet, by: str | Sequence[str] = "model") -> pd.DataFrame:
    """Token and cost roll-up per model, or per any trace column (``prompt_version``, ``session_id``...).

    Per ``model`` (LLM calls): ``model, calls, traces, input_tokens, output_tokens, total_tokens,
    tokens_per_call, cost_usd`` (priced with :func:`llmops.tracing.price_for`; NaN for an unknown model).
    Per trace columns: [by...], ``traces, llm_calls, input_tokens, output_tokens, total_tokens,
    tokens_per_trace, cost_usd`` (sum of the traces' ``llmops.cost_usd``), ``cost_per_trace``.
    Sorted by total tokens descending, then the keys.
    """
    keys = _as_list(by)
    if keys == ["model"]:
        columns = (
            "model",
            "calls",
            "traces",
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "tokens_per_call",
            "cost_usd",
        )
        calls = ts.spans[ts.spans["is_llm_call"]].copy()
        if calls.empty:
            return _empty(columns)
        calls["model"] = calls["model"].fillna("(unknown)")
        out = calls.groupby("model", sort=True).agg(
            calls=("span_id", "size"), traces=("trace_id", "nunique"), input_tokens=("input_tokens", "sum"),
            output_tokens=("output_tokens", "sum"), total_tokens=("total_tokens", "sum"),
        ).reset_index()  # fmt: skip
        out["tokens_per_call"] = out["total_tokens"].astype("float64") / out["calls"]
        out["cost_usd"] = [_price(m, i, o) for m, i, o in zip(out["model"], out["input_tokens"], out["output_tokens"])]
    else:
        _check_columns(ts.traces, keys, "trace")
        columns = (*keys, "traces", "llm_calls", "input_tokens", "output_tokens", "total_tokens", "tokens_per_trace",
                   "cost_usd", "cost_per_trace")  # fmt: skip
        if ts.traces.empty:
            return _empty(columns)
        out = ts.traces.groupby(keys, dropna=False, sort=True).agg(
            traces=("trace_id", "size"), llm_calls=("llm_calls", "sum"), input_tokens=("input_tokens", "sum"),
            output_tokens=("output_tokens", "sum"), total_tokens=("total_tokens", "sum"),
            cost_usd=("cost_usd", lambda s: s.sum(min_count=1)),
        ).reset_index()  # fmt: skip
        out["tokens_per_trace"] = out["total_tokens"].astype("float64") / out["traces"]
        out["cost_per_trace"] = out["cost_usd"] / out["traces"]
    for column in ("input_tokens", "output_tokens", "total_tokens"):
        out[column] = out[column].astype("int64")
    out = out.sort_values(["total_tokens", *keys], ascending=[False, *[True] * len(keys)], kind="mergesort")
    out = out.loc[:, list(columns)].reset_index(drop=True)
    out["cost_usd"] = out["cost_usd"].astype("float64").round(6)
    if "cost_per_trace" in out:
        out["cost_per_trace"] = out["cost_per_trace"].astype("float64").round(6)
    for column in ("tokens_per_call", "tokens_per_trace"):
        if column in out:
            out[column] = out[column].round(1)
    return out


def _price(model: str, input_tokens: Any, output_tokens: Any) -> float:
    from llmops.tracing.cost import price_for

    price = price_for(str(model)) if model and model != "(unknown)" else None
    if price is None:
        return float("nan")
    return (int(input_tokens or 0) * price.input + int(output_tokens or 0) * price.output) / 1e6


def llm_calls(ts: TraceSet) -> pd.DataFrame:
    """LLM calls per trace, by trace status (OK, ERROR, ...) and for all traces.

    Columns: ``status, traces, calls, mean, median, min, max, most_common`` (the most frequent number of
    calls, the smaller one on a tie). "How many LLM calls does a successful analysis make?" is the OK row.
    """
    pd = _pd()
    columns = ("status", "traces", "calls", "mean", "median", "min", "max", "most_common")
    traces = ts.traces
    if traces.empty:
        return _empty(columns)
    order = {"OK": 0, "ERROR": 1}
    rows = []
    groups = sorted(traces.groupby("status"), key=lambda kv: (order.get(kv[0], 2), str(kv[0])))
    for status, group in [*groups, ("all", traces)]:
        calls = group["llm_calls"]
        counts = calls.value_counts()
        most = int(min(counts[counts == counts.max()].index))
        rows.append({
            "status": status, "traces": len(group), "calls": int(calls.sum()), "mean": round(float(calls.mean()), 2),
            "median": float(calls.median()), "min": int(calls.min()), "max": int(calls.max()), "most_common": most,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=list(columns))


# ---------------------------------------------------------------------------------------------------------
# tools and retrieval
# ---------------------------------------------------------------------------------------------------------


def tool_usage(ts: TraceSet) -> pd.DataFrame:
    """Per tool: ``tool, calls, traces, errors, failure_rate, p50_ms, p95_ms, top_error`` (the most frequent
    ``ErrorType: message``, alphabetical on a tie), ``top_error_count``. Sorted by errors, then failure rate
    (descending), then tool name: the first row is the tool that fails most often."""
    pd = _pd()
    columns = ("tool", "calls", "traces", "errors", "failure_rate", "p50_ms", "p95_ms", "top_error", "top_error_count")
    tools = ts.spans[ts.spans["span_type"] == "TOOL"]
    if tools.empty:
        return _empty(columns)
    rows = []
    for tool, group in tools.groupby("name", sort=True):
        failed = group[group["status"] == "ERROR"]
        top, top_count = None, 0
        if len(failed):
            labels = [
                f"{t}: {m}" if t and m else (t or m or "error")
                for t, m in zip(failed["error_type"], failed["error_message"])
            ]
            counts = pd.Series(labels).value_counts()
            best = counts.max()
            top, top_count = sorted(counts[counts == best].index)[0], int(best)
        p50, p95 = _quantiles(group["duration_ms"], (0.5, 0.95))
        rows.append({
            "tool": tool, "calls": len(group), "traces": group["trace_id"].nunique(), "errors": len(failed),
            "failure_rate": round(len(failed) / len(group), 4), "p50_ms": p50, "p95_ms": p95, "top_error": top,
            "top_error_count": top_count,
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=list(columns))
    out = out.sort_values(["errors", "failure_rate", "tool"], ascending=[False, False, True], kind="mergesort")
    return _round(out.reset_index(drop=True), 1)


def retrieval_stats(ts: TraceSet) -> pd.DataFrame:
    """Per retriever span name: ``retriever, calls, traces, empty, empty_rate, mean_docs, distinct_docs,
    p50_ms, p95_ms``; sorted by calls descending, then name."""
    pd = _pd()
    columns = ("retriever", "calls", "traces", "empty", "empty_rate", "mean_docs", "distinct_docs", "p50_ms", "p95_ms")
    spans = ts.spans[ts.spans["span_type"] == "RETRIEVER"]
    if spans.empty:
        return _empty(columns)
    rows = []
    for name, group in spans.groupby("name", sort=True):
        counts = group["retrieved_count"].astype("float64")
        empty = int((counts == 0).sum())
        docs = {d for ids in group["retrieved_doc_ids"] for d in (ids or ())}
        p50, p95 = _quantiles(group["duration_ms"], (0.5, 0.95))
        rows.append({
            "retriever": name, "calls": len(group), "traces": group["trace_id"].nunique(), "empty": empty,
            "empty_rate": round(empty / len(group), 4), "mean_docs": round(float(counts.mean()), 2) if counts.notna().any() else float("nan"),
            "distinct_docs": len(docs), "p50_ms": p50, "p95_ms": p95,
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=list(columns))
    out = out.sort_values(["calls", "retriever"], ascending=[False, True], kind="mergesort")
    return _round(out.reset_index(drop=True), 1)


def document_frequency(ts: TraceSet) -> pd.DataFrame:
    """How often each document was retrieved: ``doc_id, retrievals`` (retriever calls that returned it),
    ``traces``, ``trace_share`` (of all traces); sorted by retrievals descending, then doc id."""
    pd = _pd()
    columns = ("doc_id", "retrievals", "traces", "trace_share")
    spans = ts.spans[ts.spans["span_type"] == "RETRIEVER"]
    pairs = [(doc, trace) for ids, trace in zip(spans["retrieved_doc_ids"], spans["trace_id"]) for doc in (ids or ())]
    if not pairs:
        return _empty(columns)
    frame = pd.DataFrame(pairs, columns=["doc_id", "trace_id"])
    out = (
        frame.groupby("doc_id", sort=True)
        .agg(retrievals=("trace_id", "size"), traces=("trace_id", "nunique"))
        .reset_index()
    )
    out["trace_share"] = (out["traces"] / max(len(ts.traces), 1)).round(4)
    out = out.sort_values(["retrievals", "doc_id"], ascending=[False, True], kind="mergesort")
    return out.loc[:, list(columns)].reset_index(drop=True)


def expected_documents(ts: TraceSet, name: str = "expected_doc_ids") -> pd.DataFrame:
    """Traces with an expectation ``name`` listing document ids, against what was retrieved.

    Columns: ``trace_id, expected, retrieved, missing`` (expected but not retrieved), ``recall``; sorted by
    recall ascending, then trace id: the first rows are the retrievals that missed the most.
    """
    pd = _pd()
    columns = ("trace_id", "expected", "retrieved", "missing", "recall")
    a = ts.assessments
    expectations = a[(a["kind"] == "expectation") & (a["name"] == name)] if len(a) else a
    if expectations.empty:
        return _empty(columns)
    retrieved = ts.traces.set_index("trace_id")["retrieved_doc_ids"]
    rows = []
    for trace_id, group in expectations.groupby("trace_id", sort=True):
        value = group.iloc[-1]["value"]
        expected = tuple(value) if isinstance(value, (list, tuple)) else ((str(value),) if value else ())
        got = tuple(retrieved.get(trace_id, ()) or ())
        missing = tuple(d for d in expected if d not in got)
        recall = (len(expected) - len(missing)) / len(expected) if expected else float("nan")
        rows.append(
            {
                "trace_id": trace_id,
                "expected": expected,
                "retrieved": got,
                "missing": missing,
                "recall": round(recall, 4),
            }
        )
    out = pd.DataFrame(rows, columns=list(columns))
    return out.sort_values(["recall", "trace_id"], kind="mergesort").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------------
# sessions
# ---------------------------------------------------------------------------------------------------------


def sessions(ts: TraceSet) -> pd.DataFrame:
    """Per session: ``session_id, traces, users, failed, error_rate, first_start, wall_ms`` (first start to
    last end), ``total_ms`` (sum of trace durations), ``mean_ms, p95_ms, llm_calls, total_tokens, cost_usd,
    slowest_trace_id, slowest_ms, dominant_span`` (the span name with the most self time in the session: where
    its time went; an LLM call's inner client span counts as the call), ``dominant_share`` (of the session's
    total time). Sorted by total_ms descending, then id;
    traces without a session are grouped under ``(none)``."""
    columns = ("session_id", "traces", "users", "failed", "error_rate", "first_start", "wall_ms", "total_ms",
               "mean_ms", "p95_ms", "llm_calls", "total_tokens", "cost_usd", "slowest_trace_id", "slowest_ms",
               "dominant_span", "dominant_share")  # fmt: skip
    traces = ts.traces.copy()
    if traces.empty:
        return _empty(columns)
    traces["session_id"] = traces["session_id"].fillna("(none)")
    traces["start_ms"] = traces["start_time"].astype("datetime64[ns, UTC]").astype("int64") / 1e6
    traces["end_ms"] = traces["start_ms"] + traces["duration_ms"]
    traces["failed"] = (traces["status"] == "ERROR").astype("int64")
    traces["tokens"] = traces["total_tokens"].fillna(0).astype("int64")
    spans = ts.spans.assign(session_id=ts.spans["session_id"].fillna("(none)"), name=_work_units(ts.spans))
    selftime = spans.groupby(["session_id", "name"], sort=True)["self_ms"].sum().reset_index()
    selftime = selftime.sort_values(["session_id", "self_ms", "name"], ascending=[True, False, True], kind="mergesort")
    dominant = selftime.groupby("session_id", sort=False).head(1).set_index("session_id")
    slowest = traces.sort_values(["duration_ms", "trace_id"], ascending=[False, True], kind="mergesort")
    slowest = slowest.groupby("session_id", sort=False).head(1).set_index("session_id")

    grouped = traces.groupby("session_id", sort=True)
    out = grouped.agg(
        traces=("trace_id", "size"), users=("user_id", "nunique"), failed=("failed", "sum"),
        first_start=("start_time", "min"), first_ms=("start_ms", "min"), last_ms=("end_ms", "max"),
        total_ms=("duration_ms", "sum"), mean_ms=("duration_ms", "mean"), llm_calls=("llm_calls", "sum"),
        total_tokens=("tokens", "sum"), cost_usd=("cost_usd", lambda v: v.sum(min_count=1)),
    )  # fmt: skip
    out["p95_ms"] = grouped["duration_ms"].quantile(0.95)
    out["wall_ms"] = out["last_ms"] - out["first_ms"]
    out["error_rate"] = (out["failed"] / out["traces"]).round(4)
    out["slowest_trace_id"] = slowest["trace_id"]
    out["slowest_ms"] = slowest["duration_ms"]
    out["dominant_span"] = dominant["name"].reindex(out.index)
    share = dominant["self_ms"].reindex(out.index) / out["total_ms"]
    out["dominant_share"] = share.where(out["total_ms"] > 0).round(4)
    out = out.reset_index()
    for column in ("users", "failed", "llm_calls", "total_tokens"):
        out[column] = out[column].astype("int64")
    out = out.sort_values(["total_ms", "session_id"], ascending=[False, True], kind="mergesort")
    return _round(out.loc[:, list(columns)].reset_index(drop=True), 1)


# ---------------------------------------------------------------------------------------------------------
# summary
# ---------------------------------------------------------------------------------------------------------


def summary(ts: TraceSet) -> pd.DataFrame:
    """The trace set in one table of ``metric, value`` rows: counts, time range, failures, trace latency
    percentiles, LLM calls, tokens, cost, tools, retrieval, problems, prompt versions, skipped lines."""
    pd = _pd()
    traces, spans = ts.traces, ts.spans
    n = len(traces)
    ok = int((traces["status"] == "OK").sum())
    failed = int((traces["status"] == "ERROR").sum())
    p50, p95, p99 = _quantiles(traces["duration_ms"], (0.5, 0.95, 0.99))
    calls = spans[spans["is_llm_call"]] if len(spans) else spans
    tools = spans[spans["span_type"] == "TOOL"] if len(spans) else spans
    retrievers = spans[spans["span_type"] == "RETRIEVER"] if len(spans) else spans
    found = issues(ts)
    top = error_taxonomy(ts).head(1)
    versions = traces.dropna(subset=["prompt_version"]).groupby(["prompt_name", "prompt_version"], sort=True).size()
    ok_calls = traces.loc[traces["status"] == "OK", "llm_calls"]

    def when(value: Any) -> str | None:
        return None if value is None or value is pd.NaT or value != value else value.isoformat()

    rows = [
        ("traces", n),
        ("spans", len(spans)),
        ("first_trace", when(traces["start_time"].min()) if n else None),
        ("last_trace", when(traces["start_time"].max()) if n else None),
        ("sessions", int(traces["session_id"].nunique())),
        ("users", int(traces["user_id"].nunique())),
        ("ok_traces", ok),
        ("failed_traces", failed),
        ("error_rate", round(failed / n, 4) if n else None),
        ("latency_p50_ms", round(p50, 1) if p50 == p50 else None),
        ("latency_p95_ms", round(p95, 1) if p95 == p95 else None),
        ("latency_p99_ms", round(p99, 1) if p99 == p99 else None),
        ("latency_max_ms", round(float(traces["duration_ms"].max()), 1) if n else None),
        ("llm_calls", len(calls)),
        ("llm_calls_per_trace", round(len(calls) / n, 2) if n else None),
        ("llm_calls_per_ok_trace_median", float(ok_calls.median()) if len(ok_calls) else None),
        ("input_tokens", int(traces["input_tokens"].fillna(0).sum())),
        ("output_tokens", int(traces["output_tokens"].fillna(0).sum())),
        ("total_tokens", int(traces["total_tokens"].fillna(0).sum())),
        ("cost_usd", round(float(traces["cost_usd"].sum()), 6) if traces["cost_usd"].notna().any() else None),
        ("tool_calls", len(tools)),
        ("tool_errors", int((tools["status"] == "ERROR").sum()) if len(tools) else 0),
        ("retrievals", len(retrievers)),
        ("empty_retrievals", int((retrievers["retrieved_count"].fillna(-1) == 0).sum()) if len(retrievers) else 0),
        ("problems", len(found)),
        (
            "top_problem",
            f"{top.iloc[0]['category']} / {top.iloc[0]['detail']} ({top.iloc[0]['occurrences']})" if len(top) else None,
        ),
        (
            "prompt_versions",
            ", ".join(f"{name} v{version} ({count})" for (name, version), count in versions.items()) or None,
        ),
        ("skipped_lines", len(ts.problems)),
    ]
    return pd.DataFrame(rows, columns=["metric", "value"])
