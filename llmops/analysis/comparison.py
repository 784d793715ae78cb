"""Compare two trace sets (before / after a prompt version, two releases, two days) and flag what changed.

Each row is one figure measured on both sets, with a test suited to it:

* per-trace values (latency, LLM calls, tokens, cost per trace; span latencies) - Mann-Whitney U test with
  the normal approximation and a tie correction (two-sided): robust to the long tails latencies have;
* rates (failed traces, a problem category per trace, a tool's failure rate, empty retrievals) - Fisher's
  exact test when a cell is small (expected count < 5), else the two-proportion z-test (two-sided).

``significant`` is ``p_value < alpha``. With many rows some will pass by chance at alpha=0.05 (one in
twenty): read the effect size (``delta``, ``change``) with it. Implemented with the standard library (no
scipy import), deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from llmops.analysis.traceset import TraceSet

COMPARE_COLUMNS = ("metric", "kind", "a", "b", "delta", "change", "test", "p_value", "significant", "n_a", "n_b")


# ---------------------------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------------------------


def _normal_two_sided(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2.0))


def mann_whitney_u(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation, tie and continuity corrected).
    1.0 when a side is empty or every value is equal."""
    xs = [float(v) for v in a if v == v]
    ys = [float(v) for v in b if v == v]
    n1, n2 = len(xs), len(ys)
    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = sorted([(v, 0) for v in xs] + [(v, 1) for v in ys])
    n = n1 + n2
    rank_sum_a = 0.0
    tie_term = 0.0
    i = 0
    while i < n:
        j = i
        while j + 1 < n and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        rank = (i + j) / 2 + 1
        size = j - i + 1
        tie_term += size**3 - size
        rank_sum_a += rank * sum(1 for k in range(i, j + 1) if pooled[k][1] == 0)
        i = j + 1
    u = rank_sum_a - n1 * (n1 + 1) / 2
    mean = n1 * n2 / 2
    variance = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))) if n > 1 else 0.0
    if variance <= 0:
        return 1.0
    z = (abs(u - mean) - 0.5) / math.sqrt(variance)
    return min(1.0, _normal_two_sided(max(z, 0.0)))


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_exact(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided p-value of Fisher's exact test on successes x1/n1 vs x2/n2."""
    total, successes = n1 + n2, x1 + x2
    if n1 == 0 or n2 == 0:
        return 1.0
    low, high = max(0, successes - n2), min(successes, n1)

    def log_p(k: int) -> float:
        return _log_comb(n1, k) + _log_comb(n2, successes - k) - _log_comb(total, successes)

    observed = log_p(x1)
    p = sum(math.exp(log_p(k)) for k in range(low, high + 1) if log_p(k) <= observed + 1e-7)
    return min(1.0, p)


def proportion_test(x1: int, n1: int, x2: int, n2: int) -> tuple[str, float]:
    """("fisher" or "z", two-sided p-value) for x1/n1 vs x2/n2."""
    if n1 == 0 or n2 == 0:
        return "-", 1.0
    pooled = (x1 + x2) / (n1 + n2)
    expected = min(n1 * pooled, n1 * (1 - pooled), n2 * pooled, n2 * (1 - pooled))
    if expected < 5:
        return "fisher", fisher_exact(x1, n1, x2, n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return "z", 1.0
    return "z", _normal_two_sided((x1 / n1 - x2 / n2) / se)


# ---------------------------------------------------------------------------------------------------------
# the comparison
# ---------------------------------------------------------------------------------------------------------


def compare(a: TraceSet, b: TraceSet, *, alpha: float = 0.05, min_count: int = 1) -> pd.DataFrame:
    """Figures of trace set ``a`` (baseline) and ``b`` (candidate) side by side, with a significance test.

    Rows: trace counts; failure rate; trace latency p50/p95 (tested on all durations); LLM calls, tokens and
    cost per trace; the rate of traces with each problem category (see :func:`issues`); each tool's failure
    rate; the empty-retrieval rate; the median latency of each LLM call, tool and retriever name. Rows about
    something seen fewer than ``min_count`` times in both sets are left out.

    Columns: ``metric, kind`` (count / rate / median / p95 / mean), ``a, b, delta`` (b - a), ``change``
    (delta / a; NaN when a is 0), ``test`` (mann-whitney / z / fisher / -), ``p_value``, ``significant``
    (p < alpha), ``n_a, n_b`` (what the figure is computed over). Sorted: significant rows first, then by
    p-value, then metric name.
    """
    import pandas as pd

    from llmops.analysis.failures import issues

    rows: list[dict[str, Any]] = []
    ta, tb = a.traces, b.traces

    def add(metric: str, kind: str, va: float, vb: float, test: str, p: float | None, na: int, nb: int) -> None:
        delta = vb - va if (va == va and vb == vb) else float("nan")
        change = delta / va if (va and va == va and delta == delta) else float("nan")
        rows.append({
            "metric": metric, "kind": kind, "a": va, "b": vb, "delta": delta, "change": change, "test": test,
            "p_value": p if p is not None else float("nan"), "significant": bool(p is not None and p < alpha),
            "n_a": na, "n_b": nb,
        })  # fmt: skip

    def rate(metric: str, xa: int, na: int, xb: int, nb: int) -> None:
        if max(xa, xb) < min_count and metric != "failed_traces":
            return
        test, p = proportion_test(xa, na, xb, nb)
        add(metric, "rate", xa / na if na else float("nan"), xb / nb if nb else float("nan"), test, p, na, nb)

    def values(metric: str, kind: str, xs: Any, ys: Any) -> None:
        xs = [float(v) for v in xs if v == v and v is not pd.NA]
        ys = [float(v) for v in ys if v == v and v is not pd.NA]
        if max(len(xs), len(ys)) < min_count:
            return
        stat = {"median": _median, "mean": _mean}[kind]
        add(metric, kind, stat(xs), stat(ys), "mann-whitney", mann_whitney_u(xs, ys), len(xs), len(ys))

    add("traces", "count", float(len(ta)), float(len(tb)), "-", None, len(ta), len(tb))
    rate("failed_traces", int((ta["status"] == "ERROR").sum()), len(ta), int((tb["status"] == "ERROR").sum()), len(tb))
    values("trace_latency_ms", "median", ta["duration_ms"], tb["duration_ms"])
    add(
        "trace_latency_ms",
        "p95",
        _quantile(ta["duration_ms"], 0.95),
        _quantile(tb["duration_ms"], 0.95),
        "-",
        None,
        len(ta),
        len(tb),
    )
    values("llm_calls_per_trace", "mean", ta["llm_calls"], tb["llm_calls"])
    values("tokens_per_trace", "mean", ta["total_tokens"].fillna(0), tb["total_tokens"].fillna(0))
    if ta["cost_usd"].notna().any() or tb["cost_usd"].notna().any():
        values("cost_per_trace_usd", "mean", ta["cost_usd"].dropna(), tb["cost_usd"].dropna())

    ia, ib = issues(a), issues(b)
    for category in sorted(set(ia["category"]) | set(ib["category"])):
        xa = ia.loc[ia["category"] == category, "trace_id"].nunique()
        xb = ib.loc[ib["category"] == category, "trace_id"].nunique()
        rate(f"traces_with:{category}", xa, len(ta), xb, len(tb))

    sa, sb = a.spans, b.spans
    tools_a, tools_b = sa[sa["span_type"] == "TOOL"], sb[sb["span_type"] == "TOOL"]
    for tool in sorted(set(tools_a["name"]) | set(tools_b["name"])):
        ga, gb = tools_a[tools_a["name"] == tool], tools_b[tools_b["name"] == tool]
        if len(ga) and len(gb):
            rate(
                f"tool_failure_rate:{tool}",
                int((ga["status"] == "ERROR").sum()),
                len(ga),
                int((gb["status"] == "ERROR").sum()),
                len(gb),
            )
    ra, rb = sa[sa["span_type"] == "RETRIEVER"], sb[sb["span_type"] == "RETRIEVER"]
    if len(ra) and len(rb):
        rate("empty_retrieval_rate", int((ra["retrieved_count"].fillna(-1) == 0).sum()), len(ra),
             int((rb["retrieved_count"].fillna(-1) == 0).sum()), len(rb))  # fmt: skip

    def work(spans: pd.DataFrame) -> pd.DataFrame:
        return spans[spans["is_llm_call"] | spans["span_type"].isin(["TOOL", "RETRIEVER"])]

    wa, wb = work(sa), work(sb)
    for name in sorted(set(wa["name"]) & set(wb["name"])):
        values(
            f"latency_ms:{name}",
            "median",
            wa.loc[wa["name"] == name, "duration_ms"],
            wb.loc[wb["name"] == name, "duration_ms"],
        )

    out = pd.DataFrame(rows, columns=list(COMPARE_COLUMNS))
    for column in ("a", "b", "delta", "change", "p_value"):
        out[column] = out[column].astype("float64").round(4)
    out["_p"] = out["p_value"].fillna(2.0)
    out = out.sort_values(
        ["significant", "_p", "metric", "kind"], ascending=[False, True, True, True], kind="mergesort"
    )
    return out.drop(columns="_p").reset_index(drop=True)


def _median(xs: list[float]) -> float:
    if not xs:
        return float("nan")
    ordered = sorted(xs)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


def _quantile(series: Any, q: float) -> float:
    from llmops.analysis.frames import quantiles

    return quantiles(series, (q,))[0]
