"""Token cost per trace, from the token usage MLflow records on LLM spans and a price table.

MLflow records usage on the spans that call a model (``mlflow.chat.tokenUsage``: input/output/total
tokens, written by the OpenAI and LangChain autologs or by :func:`llmops.tracing.record_usage`) and the
model name (``mlflow.llm.model``). :func:`trace_cost` prices that usage with a small, overridable table in
USD per million tokens. When an outer span (LangChain's ``ChatOpenAI``) and an inner one (OpenAI's
``Completions``) both report the same call (MLflow's autologs alone; :func:`llmops.tracing.setup` records
only the outer one), only the outermost is counted, as MLflow does for its own token totals.

:func:`llmops.tracing.setup` writes the total on every trace that used tokens, as the metadata
``llmops.cost_usd`` (a decimal string), when its root span ends. Models missing from the table are listed
in ``llmops.cost_unpriced_models`` instead of being silently priced at zero.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

COST_METADATA_KEY = "llmops.cost_usd"
UNPRICED_METADATA_KEY = "llmops.cost_unpriced_models"

_USAGE_ATTRIBUTE = "mlflow.chat.tokenUsage"
_MODEL_ATTRIBUTES = ("mlflow.llm.model", "gen_ai.response.model", "gen_ai.request.model")


@dataclass(frozen=True)
class Price:
    """USD per one million tokens. ``cached_input`` applies to cache-read input tokens when known."""

    input: float
    output: float
    cached_input: float | None = None


#: OpenAI list prices (standard tier, USD per 1M tokens) as published in 2025. Check
#: https://openai.com/api/pricing before quoting them; override with ``setup(prices=...)``.
DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4o": Price(2.50, 10.00, 1.25),
    "gpt-4o-mini": Price(0.15, 0.60, 0.075),
    "gpt-4.1": Price(2.00, 8.00, 0.50),
    "gpt-4.1-mini": Price(0.40, 1.60, 0.10),
    "gpt-4.1-nano": Price(0.10, 0.40, 0.025),
    "o4-mini": Price(1.10, 4.40, 0.275),
    "o3": Price(2.00, 8.00, 0.50),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    "text-embedding-3-small": Price(0.02, 0.0),
    "text-embedding-3-large": Price(0.13, 0.0),
}

#: Model names starting with these prefixes run locally and cost nothing (the course's offline model).
FREE_MODEL_PREFIXES = ("offline",)

_prices: dict[str, Price] = dict(DEFAULT_PRICES)


def _as_price(value: Price | tuple[float, ...] | Mapping[str, float]) -> Price:
    if isinstance(value, Price):
        return value
    if isinstance(value, Mapping):
        return Price(**value)
    return Price(*value)


def set_prices(prices: Mapping[str, Price | tuple[float, ...] | Mapping[str, float]], *, replace: bool = False) -> None:
    """Add or override model prices (USD per 1M tokens): ``set_prices({"my-model": (0.3, 1.2)})``."""
    global _prices
    table = {} if replace else dict(_prices)
    table.update({name.lower(): _as_price(price) for name, price in prices.items()})
    _prices = table


def reset_prices() -> None:
    """Back to :data:`DEFAULT_PRICES`."""
    global _prices
    _prices = dict(DEFAULT_PRICES)


def get_prices() -> dict[str, Price]:
    return dict(_prices)


def price_for(model: str, prices: Mapping[str, Price] | None = None) -> Price | None:
    """The price of ``model``: exact name, else the longest table entry it extends with a dated or
    versioned suffix (``gpt-4o-mini-2024-07-18`` -> ``gpt-4o-mini``); ``None`` when unknown."""
    table = _prices if prices is None else {k.lower(): _as_price(v) for k, v in prices.items()}
    name = model.strip().lower()
    for prefix in ("openai:/", "openai/", "azure/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    if name.startswith(FREE_MODEL_PREFIXES):
        return Price(0.0, 0.0)
    if name in table:
        return table[name]
    best = None
    for key in table:
        if name.startswith(key + "-") and (best is None or len(key) > len(best)):
            best = key
    return table[best] if best else None


@dataclass(frozen=True)
class TraceCost:
    """Cost of one trace. ``usd`` is the total; models without a price are listed, not guessed."""

    usd: float = 0.0
    input_usd: float = 0.0
    output_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    by_model: dict[str, float] = field(default_factory=dict)
    unpriced_models: tuple[str, ...] = ()
    has_usage: bool = False

    def __float__(self) -> float:
        return self.usd


def _attribute(span: Any, key: str) -> Any:
    value = span.get_attribute(key)
    if isinstance(value, str) and value[:1] in '{["':
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _model_of(span: Any) -> str | None:
    for key in _MODEL_ATTRIBUTES:
        model = _attribute(span, key)
        if isinstance(model, str) and model:
            return model
    inputs = span.inputs
    if isinstance(inputs, dict):
        for key in ("model", "model_name"):
            if isinstance(inputs.get(key), str):
                return inputs[key]
    return None


def cost_breakdown(spans_or_trace: Any, prices: Mapping[str, Price] | None = None) -> TraceCost:
    """Price the token usage of a trace (``mlflow.entities.Trace``) or of an iterable of spans."""
    data = getattr(spans_or_trace, "data", None)
    spans: list[Any] = list(data.spans if data is not None else spans_or_trace)
    by_id = {span.span_id: span for span in spans}
    children: dict[str | None, list[Any]] = {}
    for span in spans:
        children.setdefault(span.parent_id if span.parent_id in by_id else None, []).append(span)

    input_usd = output_usd = 0.0
    input_tokens = output_tokens = 0
    by_model: dict[str, float] = {}
    unpriced: list[str] = []
    has_usage = False

    # Depth-first from the roots; a span with usage is counted and its subtree skipped (no double count).
    stack = list(children.get(None, []))
    while stack:
        span = stack.pop()
        usage = _attribute(span, _USAGE_ATTRIBUTE)
        if not isinstance(usage, dict):
            stack.extend(children.get(span.span_id, []))
            continue
        has_usage = True
        model = _model_of(span) or _first_descendant_model(span, children)
        n_in = int(usage.get("input_tokens") or 0)
        n_out = int(usage.get("output_tokens") or 0)
        n_cached = int(usage.get("cache_read_input_tokens") or 0)
        input_tokens += n_in
        output_tokens += n_out
        price = price_for(model, prices) if model else None
        if price is None:
            unpriced.append(model or "<unknown model>")
            continue
        cached_rate = price.cached_input if price.cached_input is not None else price.input
        cost_in = ((n_in - n_cached) * price.input + n_cached * cached_rate) / 1e6
        cost_out = n_out * price.output / 1e6
        input_usd += cost_in
        output_usd += cost_out
        by_model[model] = by_model.get(model, 0.0) + cost_in + cost_out  # type: ignore[index]

    return TraceCost(
        usd=input_usd + output_usd,
        input_usd=input_usd,
        output_usd=output_usd,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        by_model=by_model,
        unpriced_models=tuple(dict.fromkeys(unpriced)),
        has_usage=has_usage,
    )


def _first_descendant_model(span: Any, children: Mapping[str | None, list[Any]]) -> str | None:
    stack = list(children.get(span.span_id, []))
    while stack:
        child = stack.pop()
        if model := _model_of(child):
            return model
        stack.extend(children.get(child.span_id, []))
    return None


def trace_cost(trace: Any, prices: Mapping[str, Price] | None = None) -> float:
    """Total cost in USD of a trace (``mlflow.get_trace(id)``, a search result, or an iterable of spans)."""
    return cost_breakdown(trace, prices).usd


def format_usd(value: float) -> str:
    """The metadata form of a cost: a plain decimal string, no exponent (``0.00012``)."""
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text or "0"


def record_trace_cost(root_span: Any) -> None:
    """Span processor step: on a root span, price the whole in-memory trace and write the metadata."""
    if getattr(root_span, "_span", None) is None or root_span.parent_id is not None:
        return
    from llmops.mlflow_internals.trace_writing import in_memory_trace

    with in_memory_trace(root_span.trace_id) as trace:
        if trace is None:
            return
        cost = cost_breakdown(trace.span_dict.values())
        if not cost.has_usage:
            return
        trace.info.trace_metadata[COST_METADATA_KEY] = format_usd(cost.usd)
        if cost.unpriced_models:
            trace.info.trace_metadata[UNPRICED_METADATA_KEY] = ",".join(cost.unpriced_models)


def iter_usage(spans: Iterable[Any]) -> Iterable[tuple[Any, dict[str, int]]]:
    """(span, usage) for every span that reports token usage; handy for per-call breakdowns."""
    for span in spans:
        usage = _attribute(span, _USAGE_ATTRIBUTE)
        if isinstance(usage, dict):
            yield span, usage
