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

from llmops.analysis.failures import error_taxonomy, issues
from llmops.analysis.frames import as_list, check_columns, empty_frame, pandas, quantiles, round_ms, work_units

if TYPE_CHECKING:
    import pandas as pd

    from llmops.analysis.traceset import TraceSet

#: Span types that are a unit of work on the critical path (not descended into).
_WORK_TYPES = frozenset({"TOOL", "RETRIEVER", "EMBEDDING", "RERANKER", "PARSER"})


# latency
# ---------------------------------------------------------------------------------------------------------


def latency_breakdown(ts: TraceSet, by: str | Sequence[str] = ("span_type", "name")) -> pd.DataFrame:
    """Where the time goes, per span type and name (or any span columns in ``by``).

    Columns: [by...], ``count, traces, p50_ms, p95_ms, p99_ms, mean_ms, max_ms, total_ms, self_ms``
    (time in these spans not covered by a child), ``time_share`` (self_ms / the sum of all trace durations:
    the shares of all rows add up to 1, or a little more when spans ran in parallel, like the analyzer's
    concurrent tool calls). Sorted by self_ms descending, then the keys.
    """
    keys = as_list(by)
    check_columns(ts.spans, keys, "span")
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
        return empty_frame(columns)
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
    return round_ms(out.loc[:, list(columns)].reset_index(drop=True), 2)


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
        kids = [k for k in by_parent.get(span_id[idx], []) if end[k] is not None and end[k] is not pandas().NA]
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
        return empty_frame(columns)
    steps = _path_steps(spans)
    total = float(spans.loc[spans["parent_id"].isna(), "duration_ms"].max())
    out = spans.loc[steps, ["span_id", "name", "span_type", "offset_ms", "duration_ms", "status"]].copy()
    out.insert(0, "step", range(1, len(out) + 1))
    out["share"] = (out["duration_ms"] / total).round(4) if total else 0.0
    return round_ms(out.loc[:, list(columns)].reset_index(drop=True), 1)


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
        return empty_frame(columns)
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
    out = pandas().DataFrame(rows, columns=list(columns))
    out["prompt_version"] = out["prompt_version"].astype("Int64")
    return round_ms(out, 1)


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
    keys = as_list(by)
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
            return empty_frame(columns)
        calls["model"] = calls["model"].fillna("(unknown)")
        out = calls.groupby("model", sort=True).agg(
            calls=("span_id", "size"), traces=("trace_id", "nunique"), input_tokens=("input_tokens", "sum"),
            output_tokens=("output_tokens", "sum"), total_tokens=("total_tokens", "sum"),
        ).reset_index()  # fmt: skip
        out["tokens_per_call"] = out["total_tokens"].astype("float64") / out["calls"]
        out["cost_usd"] = [_price(m, i, o) for m, i, o in zip(out["model"], out["input_tokens"], out["output_tokens"])]
    else:
        check_columns(ts.traces, keys, "trace")
        columns = (*keys, "traces", "llm_calls", "input_tokens", "output_tokens", "total_tokens", "tokens_per_trace",
                   "cost_usd", "cost_per_trace")  # fmt: skip
        if ts.traces.empty:
            return empty_frame(columns)
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
    pd = pandas()
    columns = ("status", "traces", "calls", "mean", "median", "min", "max", "most_common")
    traces = ts.traces
    if traces.empty:
        return empty_frame(columns)
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
    pd = pandas()
    columns = ("tool", "calls", "traces", "errors", "failure_rate", "p50_ms", "p95_ms", "top_error", "top_error_count")
    tools = ts.spans[ts.spans["span_type"] == "TOOL"]
    if tools.empty:
        return empty_frame(columns)
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
        p50, p95 = quantiles(group["duration_ms"], (0.5, 0.95))
        rows.append({
            "tool": tool, "calls": len(group), "traces": group["trace_id"].nunique(), "errors": len(failed),
            "failure_rate": round(len(failed) / len(group), 4), "p50_ms": p50, "p95_ms": p95, "top_error": top,
            "top_error_count": top_count,
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=list(columns))
    out = out.sort_values(["errors", "failure_rate", "tool"], ascending=[False, False, True], kind="mergesort")
    return round_ms(out.reset_index(drop=True), 1)


def retrieval_stats(ts: TraceSet) -> pd.DataFrame:
    """Per retriever span name: ``retriever, calls, traces, empty, empty_rate, mean_docs, distinct_docs,
    p50_ms, p95_ms``; sorted by calls descending, then name."""
    pd = pandas()
    columns = ("retriever", "calls", "traces", "empty", "empty_rate", "mean_docs", "distinct_docs", "p50_ms", "p95_ms")
    spans = ts.spans[ts.spans["span_type"] == "RETRIEVER"]
    if spans.empty:
        return empty_frame(columns)
    rows = []
    for name, group in spans.groupby("name", sort=True):
        counts = group["retrieved_count"].astype("float64")
        empty = int((counts == 0).sum())
        docs = {d for ids in group["retrieved_doc_ids"] for d in (ids or ())}
        p50, p95 = quantiles(group["duration_ms"], (0.5, 0.95))
        rows.append({
            "retriever": name, "calls": len(group), "traces": group["trace_id"].nunique(), "empty": empty,
            "empty_rate": round(empty / len(group), 4), "mean_docs": round(float(counts.mean()), 2) if counts.notna().any() else float("nan"),
            "distinct_docs": len(docs), "p50_ms": p50, "p95_ms": p95,
        })  # fmt: skip
    out = pd.DataFrame(rows, columns=list(columns))
    out = out.sort_values(["calls", "retriever"], ascending=[False, True], kind="mergesort")
    return round_ms(out.reset_index(drop=True), 1)


def document_frequency(ts: TraceSet) -> pd.DataFrame:
    """How often each document was retrieved: ``doc_id, retrievals`` (retriever calls that returned it),
    ``traces``, ``trace_share`` (of all traces); sorted by retrievals descending, then doc id."""
    pd = pandas()
    columns = ("doc_id", "retrievals", "traces", "trace_share")
    spans = ts.spans[ts.spans["span_type"] == "RETRIEVER"]
    pairs = [(doc, trace) for ids, trace in zip(spans["retrieved_doc_ids"], spans["trace_id"]) for doc in (ids or ())]
    if not pairs:
        return empty_frame(columns)
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
    pd = pandas()
    columns = ("trace_id", "expected", "retrieved", "missing", "recall")
    a = ts.assessments
    expectations = a[(a["kind"] == "expectation") & (a["name"] == name)] if len(a) else a
    if expectations.empty:
        return empty_frame(columns)
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
        return empty_frame(columns)
    traces["session_id"] = traces["session_id"].fillna("(none)")
    traces["start_ms"] = traces["start_time"].astype("datetime64[ns, UTC]").astype("int64") / 1e6
    traces["end_ms"] = traces["start_ms"] + traces["duration_ms"]
    traces["failed"] = (traces["status"] == "ERROR").astype("int64")
    traces["tokens"] = traces["total_tokens"].fillna(0).astype("int64")
    spans = ts.spans.assign(session_id=ts.spans["session_id"].fillna("(none)"), name=work_units(ts.spans))
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
    return round_ms(out.loc[:, list(columns)].reset_index(drop=True), 1)


# ---------------------------------------------------------------------------------------------------------
# summary
# ---------------------------------------------------------------------------------------------------------


def summary(ts: TraceSet) -> pd.DataFrame:
    """The trace set in one table of ``metric, value`` rows: counts, time range, failures, trace latency
    percentiles, LLM calls, tokens, cost, tools, retrieval, problems, prompt versions, skipped lines."""
    pd = pandas()
    traces, spans = ts.traces, ts.spans
    n = len(traces)
    ok = int((traces["status"] == "OK").sum())
    failed = int((traces["status"] == "ERROR").sum())
    p50, p95, p99 = quantiles(traces["duration_ms"], (0.5, 0.95, 0.99))
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
