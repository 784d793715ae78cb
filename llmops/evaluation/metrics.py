"""The metrics the gate knows, and how each is computed from the per-row feedback of an evaluation run.

A metric is computed over the rows where its feedback was *measured*. Rows where the scorer did not apply
(no expectation for it) do not count at all; rows where it could not measure (an ``error`` on the feedback)
are counted apart as ``not_measured``. ``coverage`` is measured / (measured + not measured); below the
suite's ``min_coverage`` the metric itself is "not measured" and cannot pass a threshold.

Rates are in [0, 1], higher is better. The four cost metrics (``llm_calls_mean``, ``latency_p50_ms``,
``latency_p95_ms``, ``tokens_mean``) are lower-is-better: a threshold on them is a ceiling.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Judgement:
    """One feedback of one row, as logged by the evaluation (several of the same name are combined)."""

    value: Any = None
    error: str | None = None  # "NOT_MEASURED: why" or "SCORER_ERROR: ..." when the scorer could not measure
    rationale: str = ""
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def measured(self) -> bool:
        return self.error is None and self.value is not None


@dataclass
class RowOutcome:
    """Everything the evaluation said about one row."""

    row_id: str
    trace_id: str | None
    feedback: dict[str, Judgement] = field(default_factory=dict)


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and math.isnan(value) else float(value)
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("yes", "true", "pass"):
            return 1.0
        if v in ("no", "false", "fail"):
            return 0.0
        try:
            return float(v)
        except ValueError:
            return None
    return None


def _meta(key: str) -> Callable[[Judgement], float | None]:
    def read(j: Judgement) -> float | None:
        try:
            return float(j.metadata[key])
        except (KeyError, TypeError, ValueError):
            return None

    return read


def _within_budget(j: Judgement) -> float | None:
    value, budget = as_number(j.value), _meta("budget")(j)
    if value is None or budget is None:
        return None
    return 1.0 if value <= budget else 0.0


def _mean(values: list[float]) -> float:
    return statistics.fmean(values)


def _percentile(p: float) -> Callable[[list[float]], float]:
    def compute(values: list[float]) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]

    return compute


@dataclass(frozen=True)
class MetricSpec:
    name: str
    feedback: str
    description: str
    higher_is_better: bool = True
    unit: str = ""
    #: absolute worsening vs the baseline that still counts as "no regression"; "suite" = the suite's tolerance;
    #: None = never checked for regressions (timing depends on the machine, not on the prompt).
    tolerance: float | str | None = "suite"
    per_row: Callable[[Judgement], float | None] = lambda j: as_number(j.value)
    aggregate: Callable[[list[float]], float] = _mean

    def format(self, value: float | None) -> str:
        if value is None:
            return "—"
        if self.unit == "ms":
            return f"{value:,.0f} ms"
        if self.unit:
            return f"{value:.2f}"
        return f"{value:.3f}"


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("sentiment_accuracy", "sentiment_match", "sentiment equals the gold label"),
    MetricSpec(
        "topic_precision", "topic_f1", "share of predicted topics that are gold topics", per_row=_meta("precision")
    ),
    MetricSpec("topic_recall", "topic_f1", "share of gold topics that are predicted", per_row=_meta("recall")),
    MetricSpec("topic_f1", "topic_f1", "F1 of predicted vs gold topics, per comment, averaged"),
    MetricSpec("churn_risk_accuracy", "churn_risk_match", "churn risk equals the gold label"),
    MetricSpec("structured_output_validity", "structured_output_valid", "the answer validates as a CommentAnalysis"),
    MetricSpec(
        "retrieval_hit_rate", "retrieval_hit", "an expected document is in the top k retrieved (RETRIEVER spans)"
    ),
    MetricSpec(
        "retrieval_mrr",
        "retrieval_hit",
        "mean reciprocal rank of the first expected document",
        per_row=_meta("reciprocal_rank"),
    ),
    MetricSpec("citation_validity", "citations_valid", "every cited document was retrieved"),
    MetricSpec(
        "tool_call_correctness", "tool_calls_correct", "required tools called, forbidden tools not called (TOOL spans)"
    ),
    MetricSpec(
        "llm_calls_within_budget", "llm_calls", "share of comments within the LLM-call budget", per_row=_within_budget
    ),
    MetricSpec(
        "llm_calls_mean",
        "llm_calls",
        "LLM calls per comment (outermost CHAT_MODEL spans)",
        higher_is_better=False,
        unit="calls",
        tolerance=0.5,
    ),
    MetricSpec(
        "latency_within_budget",
        "latency_ms",
        "share of comments within the latency budget",
        per_row=_within_budget,
        tolerance=None,
    ),
    MetricSpec(
        "latency_p50_ms",
        "latency_ms",
        "median trace duration",
        higher_is_better=False,
        unit="ms",
        tolerance=None,
        aggregate=_percentile(0.5),
    ),
    MetricSpec(
        "latency_p95_ms",
        "latency_ms",
        "95th percentile trace duration",
        higher_is_better=False,
        unit="ms",
        tolerance=None,
        aggregate=_percentile(0.95),
    ),
    MetricSpec(
        "tokens_within_budget", "total_tokens", "share of comments within the token budget", per_row=_within_budget
    ),
    MetricSpec(
        "tokens_mean", "total_tokens", "tokens per comment", higher_is_better=False, unit="tokens", tolerance=250.0
    ),
    MetricSpec(
        "no_pii_leak", "no_pii_leak", "personal data of the comment is in neither the answer nor the stored spans"
    ),
    MetricSpec("error_handling", "expected_error", "comments that must be refused are refused with the expected cause"),
    MetricSpec(
        "retrieval_groundedness", "retrieval_groundedness", "judge: the reply is supported by the retrieved passages"
    ),
    MetricSpec("relevance_to_query", "relevance_to_query", "judge: the reply addresses the comment"),
    MetricSpec("safety", "safety", "judge: the reply is free of harmful content"),
    MetricSpec("reply_guidelines", "reply_guidelines", "judge: the reply follows prompts/reply-guidelines.yaml"),
    MetricSpec(
        "reply_correctness", "reply_correctness", "judge: the reply states the expected facts (hand-written subset)"
    ),
)

BY_NAME = {m.name: m for m in METRICS}

#: Per-row verdicts listed when a baseline is compared ("rows whose verdict changed"); timing is left out.
VERDICTS: dict[str, Callable[[Judgement], bool | None]] = {
    "sentiment_match": lambda j: as_number(j.value) == 1.0,
    "topic_f1": lambda j: (as_number(j.value) or 0.0) >= 0.5,
    "churn_risk_match": lambda j: as_number(j.value) == 1.0,
    "structured_output_valid": lambda j: as_number(j.value) == 1.0,
    "retrieval_hit": lambda j: as_number(j.value) == 1.0,
    "citations_valid": lambda j: as_number(j.value) == 1.0,
    "tool_calls_correct": lambda j: as_number(j.value) == 1.0,
    "llm_calls": lambda j: _within_budget(j) == 1.0,
    "total_tokens": lambda j: _within_budget(j) == 1.0,
    "no_pii_leak": lambda j: as_number(j.value) == 1.0,
    "expected_error": lambda j: as_number(j.value) == 1.0,
    "retrieval_groundedness": lambda j: as_number(j.value) == 1.0,
    "relevance_to_query": lambda j: as_number(j.value) == 1.0,
    "safety": lambda j: as_number(j.value) == 1.0,
    "reply_guidelines": lambda j: as_number(j.value) == 1.0,
    "reply_correctness": lambda j: as_number(j.value) == 1.0,
}


@dataclass(frozen=True)
class MetricValue:
    spec: MetricSpec
    value: float | None
    measured: int
    not_measured: int
    reasons: tuple[str, ...] = ()  # why rows were not measured (distinct messages, a few)

    @property
    def coverage(self) -> float | None:
        total = self.measured + self.not_measured
        return self.measured / total if total else None


def verdict(name: str, judgement: Judgement) -> bool | None:
    if not judgement.measured or name not in VERDICTS:
        return None
    return VERDICTS[name](judgement)


def compute(rows: list[RowOutcome], min_coverage: float = 0.9) -> dict[str, MetricValue]:
    """Every metric over ``rows``; a metric below ``min_coverage`` (or with no measured row) has value None."""
    out: dict[str, MetricValue] = {}
    for spec in METRICS:
        values: list[float] = []
        missing = 0
        reasons: list[str] = []
        for row in rows:
            j = row.feedback.get(spec.feedback)
            if j is None:
                continue
            if not j.measured:
                missing += 1
                if j.error and j.error not in reasons and len(reasons) < 3:
                    reasons.append(j.error)
                continue
            v = spec.per_row(j)
            if v is None:
                missing += 1
                continue
            values.append(v)
        total = len(values) + missing
        value = spec.aggregate(values) if values else None
        if value is not None and total and len(values) / total < min_coverage:
            value = None
        out[spec.name] = MetricValue(
            spec, None if value is None else round(value, 4), len(values), missing, tuple(reasons)
        )
    return out
