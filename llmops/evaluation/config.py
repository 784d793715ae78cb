"""``evals.yaml``: the suites, their datasets, thresholds, regression tolerances and budgets (not in code).

::

    defaults:                      # optional, applies to every suite
      tolerance: 0.02              # a rate may drop this much below the baseline before it is a regression
      min_coverage: 0.9            # below this share of measured rows, a metric is "not measured"
      budgets: {llm_calls: 4, latency_ms: 20000, tokens: 6000, retrieval_k: 4}
      judges: true
    suites:
      ci:
        dataset: data/eval/ci.jsonl
        thresholds: {sentiment_accuracy: 0.80, retrieval_hit_rate: 0.70, latency_p95_ms: 15000}
        tolerances: {tokens_mean: 300}   # optional, per metric (null: never a regression)
      full: {...}

A threshold on a rate is a floor; on ``llm_calls_mean``, ``latency_p50_ms``, ``latency_p95_ms`` and
``tokens_mean`` it is a ceiling. Every metric name is checked against :data:`llmops.evaluation.metrics.METRICS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from llmops.errors import UserError
from llmops.evaluation.metrics import BY_NAME, MetricSpec
from llmops.evaluation.scorers import Budgets

DEFAULT_CONFIG = Path("evals.yaml")


class EvalConfigError(UserError, ValueError):
    """evals.yaml, a suite name, a --fail-under value or a metric name is wrong; the message says which."""


@dataclass(frozen=True)
class Suite:
    name: str
    dataset: Path
    thresholds: dict[str, float] = field(default_factory=dict)
    tolerance: float = 0.02
    tolerances: dict[str, float | None] = field(default_factory=dict)
    min_coverage: float = 0.9
    budgets: Budgets = field(default_factory=Budgets)
    judges: bool = True
    description: str = ""

    def tolerance_for(self, spec: MetricSpec) -> float | None:
        if spec.name in self.tolerances:
            return self.tolerances[spec.name]
        return self.tolerance if spec.tolerance == "suite" else spec.tolerance  # type: ignore[return-value]

    def with_thresholds(self, overrides: dict[str, float]) -> Suite:
        return replace(self, thresholds={**self.thresholds, **overrides})


@dataclass(frozen=True)
class EvalConfig:
    path: Path
    suites: dict[str, Suite]

    def suite(self, name: str) -> Suite:
        if name not in self.suites:
            raise EvalConfigError(f"no suite {name!r} in {self.path} (suites: {', '.join(sorted(self.suites))})")
        return self.suites[name]


def check_metric(name: str, where: str) -> MetricSpec:
    if name not in BY_NAME:
        known = ", ".join(sorted(BY_NAME))
        raise EvalConfigError(f"{where}: unknown metric {name!r} (metrics: {known})")
    return BY_NAME[name]


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EvalConfigError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _budgets(data: Any, where: str, base: Budgets) -> Budgets:
    if data is None:
        return base
    if not isinstance(data, dict):
        raise EvalConfigError(f"{where}: budgets must be a mapping")
    unknown = set(data) - {"llm_calls", "latency_ms", "tokens", "retrieval_k"}
    if unknown:
        raise EvalConfigError(f"{where}: unknown budget(s) {', '.join(sorted(unknown))}")
    values = {k: _number(v, f"{where}.{k}") for k, v in data.items()}
    return Budgets(
        llm_calls=int(values.get("llm_calls", base.llm_calls)),
        latency_ms=values.get("latency_ms", base.latency_ms),
        tokens=int(values.get("tokens", base.tokens)),
        retrieval_k=int(values.get("retrieval_k", base.retrieval_k)),
    )


def _suite(name: str, data: Any, defaults: dict[str, Any], path: Path) -> Suite:
    where = f"{path}: suites.{name}"
    if not isinstance(data, dict):
        raise EvalConfigError(f"{where} must be a mapping")
    unknown = set(data) - {
        "dataset",
        "thresholds",
        "tolerance",
        "tolerances",
        "min_coverage",
        "budgets",
        "judges",
        "description",
    }
    if unknown:
        raise EvalConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if not data.get("dataset"):
        raise EvalConfigError(f"{where}: missing 'dataset'")
    dataset = Path(str(data["dataset"]))
    if not dataset.is_absolute():
        dataset = path.parent / dataset
    thresholds = {}
    for metric, value in (data.get("thresholds") or {}).items():
        check_metric(str(metric), f"{where}.thresholds")
        thresholds[str(metric)] = _number(value, f"{where}.thresholds.{metric}")
    tolerances: dict[str, float | None] = {}
    for metric, value in {**(defaults.get("tolerances") or {}), **(data.get("tolerances") or {})}.items():
        check_metric(str(metric), f"{where}.tolerances")
        tolerances[str(metric)] = None if value is None else _number(value, f"{where}.tolerances.{metric}")
    base_budgets = _budgets(defaults.get("budgets"), f"{path}: defaults.budgets", Budgets())
    return Suite(
        name=name,
        dataset=dataset,
        thresholds=thresholds,
        tolerance=_number(data.get("tolerance", defaults.get("tolerance", 0.02)), f"{where}.tolerance"),
        tolerances=tolerances,
        min_coverage=_number(data.get("min_coverage", defaults.get("min_coverage", 0.9)), f"{where}.min_coverage"),
        budgets=_budgets(data.get("budgets"), f"{where}.budgets", base_budgets),
        judges=bool(data.get("judges", defaults.get("judges", True))),
        description=str(data.get("description") or "").strip(),
    )


def load_config(path: Path | str | None = None) -> EvalConfig:
    """Read and validate ``evals.yaml`` (every metric name, number and key is checked)."""
    import yaml

    path = Path(path) if path is not None else DEFAULT_CONFIG
    if not path.is_file():
        raise EvalConfigError(
            f"{path} does not exist: the suites and thresholds live there (see evals.yaml in the repository)"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise EvalConfigError(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("suites"), dict) or not data["suites"]:
        raise EvalConfigError(f"{path}: expected a top-level 'suites' mapping with at least one suite")
    unknown = set(data) - {"suites", "defaults"}
    if unknown:
        raise EvalConfigError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise EvalConfigError(f"{path}: 'defaults' must be a mapping")
    suites = {str(name): _suite(str(name), body, defaults, path) for name, body in data["suites"].items()}
    return EvalConfig(path=path, suites=suites)


def parse_fail_under(items: list[str] | tuple[str, ...]) -> dict[str, float]:
    """``["metric=value", ...]`` from ``--fail-under`` -> ``{metric: value}``; unknown metrics are errors."""
    out: dict[str, float] = {}
    for item in items or ():
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name or not raw.strip():
            raise EvalConfigError(f"--fail-under {item!r}: expected NAME=VALUE, e.g. sentiment_accuracy=0.8")
        check_metric(name, "--fail-under")
        try:
            out[name] = float(raw)
        except ValueError:
            raise EvalConfigError(f"--fail-under {item!r}: {raw!r} is not a number") from None
    return out
