"""DataFrame helpers shared by the diagnostics: lazy pandas, empty tables, percentiles, units of work, caching."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from llmops.analysis.traceset import TraceSet


def pandas() -> Any:
    import pandas as pd

    return pd


def empty_frame(columns: Sequence[str]) -> pd.DataFrame:
    return pandas().DataFrame({c: [] for c in columns})


def quantiles(values: Any, qs: Sequence[float]) -> list[float]:
    import numpy as np

    data = np.asarray([v for v in values if v == v], dtype="float64")  # drop NaN
    if data.size == 0:
        return [float("nan")] * len(qs)
    return [float(x) for x in np.quantile(data, qs)]


def round_ms(df: pd.DataFrame, digits: int = 1) -> pd.DataFrame:
    """Durations (``*_ms`` columns) rounded for reading; rates and shares are rounded where computed."""
    for column in df.columns:
        if str(column).endswith("_ms") and df[column].dtype.kind == "f":
            df[column] = df[column].round(digits)
    return df


def work_units(spans: pd.DataFrame) -> pd.Series:
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
    parent = pandas().Index(keys, dtype=object).get_indexer(parent_keys)
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
    return pandas().Series(values, index=index, dtype=object)


def as_list(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return []
    return [by] if isinstance(by, str) else list(by)


def check_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"no {what} column {', '.join(map(repr, missing))}; columns: {', '.join(frame.columns)}")


def cached(ts: TraceSet, name: str, compute: Any) -> Any:
    """``compute(ts)`` memoised on the trace set while its span table is the same object."""
    cache = ts.__dict__.setdefault("_cache", {})
    key = (name, id(ts.spans), len(ts.spans), id(ts.traces))
    if key not in cache:
        cache.clear() if len(cache) > 16 else None
        cache[key] = compute(ts)
    return cache[key].copy()
