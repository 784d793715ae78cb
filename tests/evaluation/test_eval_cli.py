"""``llmops eval`` end to end on the smoke suite: exit codes 0 / 1 / 2, the reports, the MLflow runs, a
degraded prompt failing the gate against production, and a promotion the gate refuses."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmops.cli import app

from .conftest import REPO

# MLflow's dataset digest calls pandas in a way pandas 4 will deprecate; nothing to act on here.
pytestmark = pytest.mark.filterwarnings("ignore:Starting with pandas version 4.0")
runner = CliRunner()
DEGRADED = REPO / "tests" / "fixtures" / "prompts" / "comment-analyzer-degraded.yaml"


def llmops(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def evaluate(world, tmp_path: Path, *args: str) -> tuple[int, str, Path, Path]:
    report, junit = tmp_path / "eval-report.md", tmp_path / "eval-junit.xml"
    code, out = llmops(
        "eval", "--config", str(world.config), "--report", str(report), "--junit", str(junit), "--workers", "3", *args
    )
    return code, out, report, junit


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "missing --suite"),
        (("--suite", "nightly"), "no suite 'nightly'"),
        (("--suite", "smoke", "--fail-under", "accuracy=0.9"), "unknown metric 'accuracy'"),
        (("--suite", "smoke", "--fail-under", "sentiment_accuracy"), "expected NAME=VALUE"),
        (("--suite", "smoke", "--config", "no-such-evals.yaml"), "no-such-evals.yaml does not exist"),
        (("--suite", "smoke", "--workers", "0"), "greater than or equal to 1"),
    ],
)
def test_usage_errors_exit_2_before_any_work(eval_world, args, message):
    base = ["eval"] if "--config" in args else ["eval", "--config", str(eval_world.config)]
    result = runner.invoke(app, [*base, *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_a_passing_suite_exits_0_and_writes_both_reports(eval_ready, tmp_path):
    import mlflow

    world, _, _ = eval_ready
    code, out, report, junit = evaluate(world, tmp_path, "--suite", "smoke")
    assert code == 0, out
    assert "PASSED" in out and "traces stored 12/12" in " ".join(out.split())
    md = report.read_text(encoding="utf-8")
    assert md.startswith("# Evaluation `smoke`: PASSED") and "| `retrieval_hit_rate` |" in md
    xml = ET.parse(junit).getroot().find("testsuite")
    assert xml.get("failures") == "0" and xml.get("errors") == "0" and int(xml.get("tests")) >= 8
    # the MLflow evaluation run: linked to the prompt version, the verdict and the gate metrics on it
    run_id = next(p.get("value") for p in xml.iter("property") if p.get("name") == "candidate_run")
    run = mlflow.get_run(run_id)
    assert run.data.tags["llmops.gate"] == "passed" and run.data.tags["llmops.eval.suite"] == "smoke"
    linked = json.loads(run.data.tags["mlflow.linkedPrompts"])
    assert {(p["name"], str(p["version"])) for p in linked} >= {
        ("comment-analyzer", run.data.tags["llmops.eval.prompt_version"])
    }
    assert any(p["name"] == "reply-guidelines" for p in linked)
    assert run.data.metrics["gate.retrieval_hit_rate"] >= 0.8 and run.data.metrics["gate.traces_lost"] == 0
    traces = mlflow.search_traces(
        locations=[run.info.experiment_id], run_id=run_id, return_type="list", include_spans=False
    )
    assert len(traces) == 12
    assert all(
        any(a.name == "sentiment_match" for a in t.info.assessments) or t.info.tags.get("llmops.eval.row") == "CMT-0117"
        for t in traces
    )


def test_a_failed_threshold_exits_1_and_names_it(eval_world, tmp_path):
    code, out, report, junit = evaluate(eval_world, tmp_path, "--suite", "tiny", "--fail-under", "llm_calls_mean=1")
    assert code == 1, out
    flat = " ".join(out.split())
    assert "FAILED" in flat and "threshold: llm_calls_mean = " in flat and "required ≤ 1.00" in flat
    failed = [c.get("name") for c in ET.parse(junit).getroot().iter("testcase") if c.find("failure") is not None]
    assert failed == ["llm_calls_mean ≤ 1.00"]
    assert "## Why it failed" in report.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def degraded_version(eval_ready):
    """The degraded prompt (no knowledge-base instructions) pushed as a new version and aliased staging."""
    from llmops.prompts import registry
    from llmops.prompts.source import load_source

    assert DEGRADED.is_file(), "tests/fixtures/prompts/comment-analyzer-degraded.yaml is missing"
    registry.ensure("comment-analyzer", "production", REPO / "prompts")
    pushed = registry.push(load_source(DEGRADED), "test: degraded on purpose")
    registry.promote("comment-analyzer", pushed.version, "staging", "test: the gate must catch this")
    return pushed.version


def test_the_degraded_prompt_fails_the_gate_against_production(eval_world, degraded_version, tmp_path):
    code, out, report, _ = evaluate(
        eval_world, tmp_path, "--suite", "smoke", "--prompt-alias", "staging", "--baseline", "production"
    )
    assert code == 1, out
    flat = " ".join(out.split())
    assert f"comment-analyzer@staging v{degraded_version} vs production" in flat
    for metric in ("retrieval_hit_rate", "tool_call_correctness"):
        assert f"regression: {metric} = " in flat and f"threshold: {metric} = " in flat
    # without a RETRIEVER span groundedness cannot be judged: not measured, said apart from the failures
    assert "regression: retrieval_groundedness not measured on staging" in flat
    md = report.read_text(encoding="utf-8")
    changed = md.split("## Rows whose verdict changed", 1)[1]
    assert "| CMT-0061 | `retrieval_hit` | pass | fail | `tr-" in changed


def test_a_promotion_the_gate_refuses(eval_world, degraded_version, monkeypatch):
    from llmops.prompts import registry

    monkeypatch.chdir(eval_world.root)  # require_suite reads ./evals.yaml, like CI does at the repository root
    before = registry.aliases("comment-analyzer")["production"]
    code, out = llmops(
        "prompts", "promote", "comment-analyzer", "--version", str(degraded_version), "--to", "production",
        "--require-eval", "tiny",
    )  # fmt: skip
    flat = " ".join(out.split())
    assert code == 1 and f"promotion refused: comment-analyzer v{degraded_version} fails suite 'tiny'" in flat
    assert "retrieval_hit_rate" in flat
    assert registry.aliases("comment-analyzer")["production"] == before
    assert "eval-candidate" not in registry.aliases("comment-analyzer")


def test_a_judge_that_errors_is_not_measured(eval_ready):
    """A scorer raising (a judge endpoint down, say) is logged by MLflow as an error: the metric is not
    measured, the gate says so, and nothing counts it as a pass or a zero."""
    from mlflow.genai.scorers import scorer

    from llmops.evaluation import datasets
    from llmops.evaluation.config import load_config
    from llmops.evaluation.gate import NOT_MEASURED, decide
    from llmops.evaluation.runner import evaluate_alias

    world, experiment_id, retriever = eval_ready
    suite = load_config(world.config).suite("tiny").with_thresholds({"safety": 1.0})
    rows = datasets.load(suite.dataset)[:3]

    @scorer(name="safety")
    def broken_safety(outputs):
        raise ConnectionError("judge endpoint unreachable")

    result = evaluate_alias(
        suite, rows, "production", role="candidate", experiment_id=experiment_id, scorers=[broken_safety],
        retriever=retriever, workers=2,
    )  # fmt: skip
    safety = result.metrics["safety"]
    assert (safety.value, safety.measured, safety.not_measured) == (None, 0, 3)
    assert "judge endpoint unreachable" in safety.reasons[0]
    report = decide(suite, result)
    assert report.metric("safety").status == NOT_MEASURED
    assert any(r.startswith("not measured: safety (0 of 3 rows measured") for r in report.reasons)


def test_suites_register_as_mlflow_evaluation_datasets(eval_world):
    from mlflow.genai.datasets import search_datasets

    for _ in range(2):  # registering again merges the same records: still one dataset of 6
        code, out = llmops("eval", "register-datasets", "--suite", "tiny", "--config", str(eval_world.config))
        assert code == 0, out
    found = [d for d in search_datasets() if d.name == "comment-analyzer-tiny"]
    assert len(found) == 1
    records = found[0].to_df()
    assert len(records) == 6 and {"inputs", "expectations"} <= set(records.columns)
