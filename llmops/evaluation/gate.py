"""The CI gate: thresholds, regressions against a baseline prompt version, and what changed row by row.

A run passes when

- every metric with a threshold is measured and on the right side of it (a floor for rates, a ceiling for
  ``llm_calls_mean``, ``latency_*_ms``, ``tokens_mean``);
- with a baseline, no metric is worse than the baseline's by more than its tolerance (metrics whose
  tolerance is ``null`` — the latency ones by default — are compared but never fail);
- no trace was lost between the analyzer and the store.

"Not measured" is its own outcome: it never passes a threshold and never counts as a zero; a thresholded
metric that is not measured fails the gate with that reason, named apart from threshold failures. A metric
that no row of the run applies to (``--limit`` cut them off) is "n/a": its threshold is skipped and shown so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llmops.evaluation.config import Suite
from llmops.evaluation.metrics import METRICS, MetricSpec, MetricValue, verdict

PASS, FAIL, NOT_MEASURED, NOT_APPLICABLE, INFO = "pass", "fail", "not measured", "n/a", "info"


@dataclass
class MetricResult:
    spec: MetricSpec
    value: MetricValue
    threshold: float | None = None
    status: str = INFO
    baseline: MetricValue | None = None
    tolerance: float | None = None
    regressed: bool = False

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.baseline.value is None or self.value.value is None:
            return None
        return round(self.value.value - self.baseline.value, 4)

    @property
    def bound(self) -> str:
        if self.threshold is None:
            return ""
        return f"{'≥' if self.spec.higher_is_better else '≤'} {self.spec.format(self.threshold)}"


@dataclass(frozen=True)
class ChangedRow:
    row_id: str
    feedback: str
    before: bool
    after: bool
    baseline_trace: str | None
    candidate_trace: str | None


@dataclass
class GateReport:
    suite: Suite
    candidate: Any  # runner.AliasRun
    baseline: Any | None
    metrics: list[MetricResult]
    reasons: list[str]
    changed_rows: list[ChangedRow] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.reasons

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def metric(self, name: str) -> MetricResult:
        return next(m for m in self.metrics if m.name == name)

    @property
    def failed_metrics(self) -> list[str]:
        return [m.name for m in self.metrics if m.status in (FAIL, NOT_MEASURED) or m.regressed]


def _worse_by(spec: MetricSpec, candidate: float, baseline: float) -> float:
    return (baseline - candidate) if spec.higher_is_better else (candidate - baseline)


def decide(suite: Suite, candidate: Any, baseline: Any | None = None) -> GateReport:
    """The verdict on ``candidate`` (an ``AliasRun``), against ``baseline`` when given."""
    results: list[MetricResult] = []
    reasons: list[str] = []
    for spec in METRICS:
        value = candidate.metrics[spec.name]
        result = MetricResult(spec, value, threshold=suite.thresholds.get(spec.name))
        if result.threshold is not None:
            if value.measured + value.not_measured == 0:
                # No row of this run has an expectation for it (e.g. --limit cut the rows that do): the
                # threshold cannot apply. Shown as n/a, and not a pass either.
                result.status = NOT_APPLICABLE
            elif value.value is None:
                result.status = NOT_MEASURED
                reasons.append(f"not measured: {spec.name} ({_coverage_text(value)})")
            else:
                ok = value.value >= result.threshold if spec.higher_is_better else value.value <= result.threshold
                result.status = PASS if ok else FAIL
                if not ok:
                    reasons.append(f"threshold: {spec.name} = {spec.format(value.value)}, required {result.bound}")
        elif value.value is None and value.not_measured:
            result.status = NOT_MEASURED
        if baseline is not None:
            result.baseline = baseline.metrics[spec.name]
            result.tolerance = suite.tolerance_for(spec)
            base = result.baseline.value
            if base is not None and result.tolerance is not None:
                if value.value is None:
                    result.regressed = True
                    reasons.append(
                        f"regression: {spec.name} not measured on {candidate.alias} "
                        f"({_coverage_text(value)}), {spec.format(base)} on {baseline.alias}"
                    )
                elif _worse_by(spec, value.value, base) > result.tolerance + 1e-9:
                    result.regressed = True
                    reasons.append(
                        f"regression: {spec.name} = {spec.format(value.value)} vs {spec.format(base)} on "
                        f"{baseline.alias} ({result.delta:+.3f}, tolerance {result.tolerance:g})"
                    )
        results.append(result)
    for run in (candidate, baseline):
        if run is not None and run.traces_lost:
            reasons.append(
                f"traces lost: {run.traces_lost} of {run.traces_expected} ({run.alias}) never reached the store"
            )
    changed = _changed_rows(candidate, baseline) if baseline is not None else []
    return GateReport(suite, candidate, baseline, results, reasons, changed)


def _coverage_text(value: MetricValue) -> str:
    total = value.measured + value.not_measured
    if not total:
        return "no row applies"
    why = f": {value.reasons[0]}" if value.reasons else ""
    return f"{value.measured} of {total} rows measured{why}"


def _changed_rows(candidate: Any, baseline: Any) -> list[ChangedRow]:
    before = {r.row_id: r for r in baseline.rows}
    changed = []
    for row in candidate.rows:
        old = before.get(row.row_id)
        if old is None:
            continue
        for name in sorted(set(row.feedback) | set(old.feedback)):
            a = verdict(name, old.feedback[name]) if name in old.feedback else None
            b = verdict(name, row.feedback[name]) if name in row.feedback else None
            if a is not None and b is not None and a != b:
                changed.append(ChangedRow(row.row_id, name, a, b, old.trace_id, row.trace_id))
    return changed
