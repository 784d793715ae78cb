"""Thresholds, regressions, "not measured" and the reports, on hand-made per-row outcomes (no model, no store)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from llmops.evaluation.config import EvalConfigError, Suite, load_config, parse_fail_under
from llmops.evaluation.gate import FAIL, NOT_APPLICABLE, NOT_MEASURED, PASS, decide
from llmops.evaluation.metrics import Judgement, RowOutcome, compute
from llmops.evaluation.report import junit, markdown
from llmops.evaluation.runner import AliasRun

REPO = Path(__file__).resolve().parents[2]


def rows(**feedback_lists) -> list[RowOutcome]:
    """rows(sentiment_match=[True, False, ...], ...) -> one RowOutcome per position."""
    n = max(len(v) for v in feedback_lists.values())
    out = []
    for i in range(n):
        fb = {}
        for name, values in feedback_lists.items():
            if i < len(values) and values[i] is not None:
                v = values[i]
                fb[name] = v if isinstance(v, Judgement) else Judgement(value=v)
        out.append(RowOutcome(f"CMT-{i:04d}", f"tr-{name}-{i}", fb))
    return out


def run(alias: str, outcome: list[RowOutcome], lost: int = 0, min_coverage: float = 0.9) -> AliasRun:
    return AliasRun(
        alias=alias, prompt_name="comment-analyzer", prompt_version=1 if alias == "production" else 2,
        run_id=f"run-{alias}", experiment_id="1", rows=outcome, metrics=compute(outcome, min_coverage),
        traces_expected=len(outcome), traces_stored=len(outcome) - lost,
    )  # fmt: skip


NOT = Judgement(error="NOT_MEASURED: no RETRIEVER span")


def test_the_shipped_config_loads_and_names_only_known_metrics():
    cfg = load_config(REPO / "evals.yaml")
    assert set(cfg.suites) == {"ci", "full"}
    ci = cfg.suite("ci")
    assert ci.dataset == REPO / "data" / "eval" / "ci.jsonl" and ci.thresholds["sentiment_accuracy"] >= 0.8
    with pytest.raises(EvalConfigError, match="no suite 'nightly'.*suites: ci, full"):
        cfg.suite("nightly")


@pytest.mark.parametrize(
    "body, message",
    [
        (
            "suites: {ci: {dataset: x.jsonl, thresholds: {sentimnet_accuracy: 0.8}}}",
            "unknown metric 'sentimnet_accuracy'",
        ),
        ("suites: {ci: {thresholds: {}}}", "missing 'dataset'"),
        ("suites: {ci: {dataset: x.jsonl, thresholds: {safety: high}}}", "expected a number"),
        ("suites: {ci: {dataset: x.jsonl, treshold: {}}}", "unknown key(s) treshold"),
        ("nope: 1", "'suites' mapping"),
    ],
)
def test_config_errors_name_what_is_wrong(tmp_path, body, message):
    path = tmp_path / "evals.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(EvalConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(path)


def test_fail_under_parses_and_rejects_unknown_metrics():
    assert parse_fail_under(["sentiment_accuracy=0.9", "latency_p95_ms=800"]) == {
        "sentiment_accuracy": 0.9, "latency_p95_ms": 800.0,
    }  # fmt: skip
    with pytest.raises(EvalConfigError, match="unknown metric 'accuracy'"):
        parse_fail_under(["accuracy=0.9"])
    with pytest.raises(EvalConfigError, match="expected NAME=VALUE"):
        parse_fail_under(["sentiment_accuracy"])
    with pytest.raises(EvalConfigError, match="not a number"):
        parse_fail_under(["sentiment_accuracy=high"])


def test_metrics_count_not_measured_apart_and_never_as_zero():
    outcome = rows(retrieval_hit=[True, True, NOT, True], sentiment_match=[True, False, True, True])
    m = compute(outcome, min_coverage=0.5)
    assert m["retrieval_hit_rate"].value == 1.0  # 3 of 3 measured rows, the 4th is neither a hit nor a miss
    assert (m["retrieval_hit_rate"].measured, m["retrieval_hit_rate"].not_measured) == (3, 1)
    assert m["retrieval_hit_rate"].reasons == ("NOT_MEASURED: no RETRIEVER span",)
    assert m["sentiment_accuracy"].value == 0.75
    # below the coverage floor the metric itself is not measured
    assert compute(outcome, min_coverage=0.9)["retrieval_hit_rate"].value is None


def test_metrics_read_metadata_budgets_and_percentiles():
    budget = {"budget": "4"}
    outcome = rows(
        topic_f1=[Judgement(0.5, metadata={"precision": "1.0", "recall": "0.3333"})],
        llm_calls=[Judgement(2, metadata=budget)],
        retrieval_hit=[Judgement(True, metadata={"reciprocal_rank": "0.5"})],
        relevance_to_query=["yes"],
    )
    m = compute(outcome)
    assert (m["topic_precision"].value, m["topic_recall"].value, m["topic_f1"].value) == (1.0, 0.3333, 0.5)
    assert m["retrieval_mrr"].value == 0.5 and m["relevance_to_query"].value == 1.0
    assert m["llm_calls_within_budget"].value == 1.0 and m["llm_calls_mean"].value == 2.0
    many = rows(latency_ms=[Judgement(float(v), metadata={"budget": "900"}) for v in range(100, 1100, 100)])
    lat = compute(many)
    assert lat["latency_p50_ms"].value in (500.0, 600.0) and lat["latency_p95_ms"].value == 1000.0
    assert lat["latency_within_budget"].value == 0.9


def test_floors_ceilings_and_not_measured_are_three_different_outcomes():
    thresholds = {"sentiment_accuracy": 0.8, "llm_calls_mean": 3, "retrieval_groundedness": 0.9, "error_handling": 1.0}
    suite = Suite("t", Path("x"), thresholds=thresholds)
    outcome = rows(
        sentiment_match=[True, True, False, True, True],  # 0.8: exactly the floor passes
        llm_calls=[Judgement(4, metadata={"budget": "8"})] * 5,  # mean 4 > ceiling 3
        retrieval_groundedness=[NOT] * 5,
    )
    report = decide(suite, run("staging", outcome))
    assert report.metric("sentiment_accuracy").status == PASS
    assert report.metric("llm_calls_mean").status == FAIL and report.metric("llm_calls_mean").bound == "≤ 3.00"
    assert report.metric("retrieval_groundedness").status == NOT_MEASURED
    assert report.metric("error_handling").status == NOT_APPLICABLE  # no row expects an error here
    assert not report.passed and report.exit_code == 1
    assert report.reasons == [
        "threshold: llm_calls_mean = 4.00, required ≤ 3.00",
        "not measured: retrieval_groundedness (0 of 5 rows measured: NOT_MEASURED: no RETRIEVER span)",
    ]


def test_regressions_use_the_tolerance_and_list_the_rows_that_changed():
    suite = Suite("t", Path("x"), tolerance=0.05, tolerances={"tokens_mean": 100})
    base = rows(
        retrieval_hit=[True, True, True, True], sentiment_match=[True, True, True, False],
        total_tokens=[Judgement(1000, metadata={"budget": "5000"})] * 4,
        latency_ms=[Judgement(100.0, metadata={"budget": "1000"})] * 4,
    )  # fmt: skip
    cand = rows(
        retrieval_hit=[True, False, True, True], sentiment_match=[True, True, True, True],
        total_tokens=[Judgement(1050, metadata={"budget": "5000"})] * 4,
        latency_ms=[Judgement(900.0, metadata={"budget": "1000"})] * 4,
    )  # fmt: skip
    report = decide(suite, run("staging", cand), run("production", base))
    assert report.failed_metrics == ["retrieval_hit_rate", "retrieval_mrr"]
    assert report.metric("retrieval_hit_rate").regressed and report.metric("retrieval_hit_rate").delta == -0.25
    assert not report.metric("sentiment_accuracy").regressed  # better is never a regression
    assert not report.metric("tokens_mean").regressed  # +50 tokens, tolerance 100
    assert not report.metric("latency_p95_ms").regressed  # timing is compared, never a regression by default
    assert any(r.startswith("regression: retrieval_hit_rate = 0.750 vs 1.000 on production") for r in report.reasons)
    changed = {(c.row_id, c.feedback, c.before, c.after) for c in report.changed_rows}
    assert ("CMT-0001", "retrieval_hit", True, False) in changed
    assert ("CMT-0003", "sentiment_match", False, True) in changed
    assert all(c.baseline_trace and c.candidate_trace for c in report.changed_rows)


def test_a_lost_trace_fails_the_gate():
    report = decide(Suite("t", Path("x")), run("staging", rows(sentiment_match=[True, True]), lost=1))
    assert report.reasons == ["traces lost: 1 of 2 (staging) never reached the store"]


def test_reports_show_verdicts_apart(tmp_path):
    suite = Suite("t", Path("data/eval/t.jsonl"), thresholds={"sentiment_accuracy": 0.9, "retrieval_groundedness": 0.9})
    base = rows(sentiment_match=[True, True], retrieval_groundedness=["yes", "yes"])
    cand = rows(sentiment_match=[True, False], retrieval_groundedness=[NOT, NOT])
    report = decide(suite, run("staging", cand), run("production", base))
    md = markdown(report)
    assert md.startswith("# Evaluation `t`: FAILED")
    assert "| `sentiment_accuracy` | 0.500 | 2/2 | ≥ 0.900 | 1.000 | -0.500 | REGRESSED |" in md
    assert "## Not measured" in md and "`retrieval_groundedness`: 2 row(s): NOT_MEASURED: no RETRIEVER span" in md
    assert "| CMT-0001 | `sentiment_match` | pass | fail |" in md
    xml = ET.fromstring(junit(report))
    suite_el = xml.find("testsuite")
    # sentiment: a threshold and a regression failure; groundedness: not measured, twice (threshold, regression)
    assert suite_el.get("failures") == "2" and suite_el.get("errors") == "2"
    failures = [c.get("name") for c in suite_el.iter("testcase") if c.find("failure") is not None]
    errors = [c.find("error").get("type") for c in suite_el.iter("testcase") if c.find("error") is not None]
    assert failures == ["sentiment_accuracy ≥ 0.900", "sentiment_accuracy vs production"]
    assert errors == ["not-measured", "not-measured"]
