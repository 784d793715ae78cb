"""`llmops analyze --engine spark` as a user meets it: the same labels as the local engine, an error row for an
empty comment, every trace in the store, Parquet output, and a resume that redoes nothing."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

# Test folders have no __init__.py: conftest's REPO_ROOT is not importable by name.
REPO_ROOT = Path(__file__).resolve().parents[2]

LABELS = ("status", "error_cause", "language", "sentiment", "topics", "churn_risk", "urgency")


@pytest.fixture(scope="module")
def spark_run(spark, model_uri, comments, tmp_path_factory):
    from llmops.spark import run_spark

    out = tmp_path_factory.mktemp("spark-csv") / "results.csv"
    report = run_spark(comments, out, spark=spark, model_uri=model_uri, wave_rows=3)
    return out, report


def test_spark_gives_the_local_engines_labels_and_an_error_row_for_the_empty_comment(spark_run, comments, tmp_path):
    from llmops.agent import Analyzer
    from llmops.agent.batch import run_batch
    from llmops.rag import Retriever, ingest

    out, report = spark_run
    ingest(REPO_ROOT / "data" / "kb", tmp_path / "kb")
    local = run_batch(comments, tmp_path / "local.csv", Analyzer(retriever=Retriever(tmp_path / "kb")), concurrency=2)

    with out.open(encoding="utf-8") as fh:
        spark_rows = {r["comment_id"]: r for r in csv.DictReader(fh)}
    local_rows = {r["comment_id"]: r for r in local.rows}
    assert set(spark_rows) == {c.comment_id for c in comments}
    for comment_id, row in local_rows.items():
        assert {k: spark_rows[comment_id][k] for k in LABELS} == {k: row[k] for k in LABELS}, comment_id
    empty = spark_rows[comments[-1].comment_id]
    assert empty["status"] == "error" and empty["error_cause"] == "empty_text"
    assert empty["error"].startswith(f"row {comments[-1].row} ({comments[-1].comment_id})")
    assert report.summary["ok"] == 5 and report.summary["errors"] == 1


def test_every_analysed_row_has_its_trace_in_the_store(spark_run):
    import mlflow

    _, report = spark_run
    trace_ids = [r["trace_id"] for r in report.rows if r["status"] == "ok"]
    assert len(trace_ids) == 5
    for trace_id in trace_ids:
        trace = mlflow.get_trace(trace_id)
        assert trace is not None and trace.info.state.value == "OK"
        assert any(span.name == "retrieve_knowledge_base" for span in trace.data.spans)


def test_resume_after_a_killed_job_redoes_only_the_missing_rows(spark, model_uri, comments, tmp_path):
    import pandas as pd

    from llmops.spark import run_spark

    out = tmp_path / "results"  # a Parquet dataset
    first = run_spark(comments, out, spark=spark, model_uri=model_uri, limit=2)
    # What a job killed mid-write leaves: uncommitted files under _temporary, which readers ignore.
    leftover = out / "_temporary" / "0" / "task_0"
    leftover.mkdir(parents=True)
    (leftover / "part-00000.parquet").write_bytes(b"torn")

    resumed = run_spark(comments, out, spark=spark, model_uri=model_uri, limit=4, resume=True)

    assert resumed.skipped_on_resume == 2
    stored = pd.concat([pd.read_parquet(part) for part in out.glob("part-*.parquet")])
    assert sorted(stored["comment_id"]) == sorted(c.comment_id for c in comments[:4])  # no duplicates
    before = {r["comment_id"]: r["trace_id"] for r in first.rows}
    after = {r["comment_id"]: r["trace_id"] for r in resumed.rows}
    assert all(after[k] == v for k, v in before.items())  # the done rows were not analysed again
    assert str(stored["latency_ms"].dtype) == "float64" and str(stored["row"].dtype) == "int64"


def test_the_command_writes_the_local_engines_csv_and_names_a_bad_input(spark, model_uri, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from llmops.cli import common

    from llmops.agent.batch import RESULT_COLUMNS
    from llmops.cli import app

    monkeypatch.setattr(common.console, "width", 200)
    monkeypatch.setattr(common.err_console, "width", 200)
    out = tmp_path / "results.csv"
    runner = CliRunner()
    args = ["analyze", str(REPO_ROOT / "data" / "comments.csv"), "--engine", "spark", "--model", model_uri]
    result = runner.invoke(app, [*args, "--limit", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "3 analysed, 0 errors" in result.output
    with out.open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert reader.fieldnames == RESULT_COLUMNS
    assert [r["comment_id"] for r in rows] == ["CMT-0001", "CMT-0002", "CMT-0003"]
    assert all(r["status"] == "ok" and r["trace_id"] for r in rows)

    bad = tmp_path / "bad.csv"
    bad.write_text("comment_id,body\nC1,hello\n", encoding="utf-8")
    result = runner.invoke(app, ["analyze", str(bad), "--engine", "spark", "--model", model_uri, "--out", str(out)])
    assert result.exit_code == 1 and "has no 'text' column" in result.output
