"""Trace sets as files: export, import into a fresh store as recorded, idempotence, damaged files."""

from __future__ import annotations

import json
import sqlite3

import pytest

from llmops.analysis import (
    EmptyTraceSetError,
    TraceFileError,
    export_traces,
    import_traces,
    load_file,
    read_trace_file,
)

# Metadata MLflow derives from the stored bytes: the importing store writes its own figures.
DERIVED_METADATA = {"mlflow.trace.sizeBytes", "mlflow.trace.sizeStats"}


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _count_rows(uri: str, table: str, where: str = "") -> int:
    with sqlite3.connect(uri.removeprefix("sqlite:///")) as db:
        return db.execute(f"SELECT count(*) FROM {table} {where}").fetchone()[0]


def test_export_writes_mlflow_trace_json_one_trace_per_line(planted):
    from mlflow.entities import Trace

    lines = planted.path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(planted.ids) == 17
    traces = [Trace.from_json(line) for line in lines]
    assert {t.info.trace_id for t in traces} == set(planted.ids.values())
    starts = [t.info.request_time for t in traces]
    assert starts == sorted(starts), "oldest first"
    with_assessments = {t.info.trace_id: t.info.assessments for t in traces if t.info.assessments}
    assert set(with_assessments) == {planted.id("v2-0"), planted.id("v2-1")}


def test_import_into_a_fresh_store_keeps_ids_timestamps_spans_tags_and_assessments(planted, fresh_store):
    from mlflow.tracing.client import TracingClient

    report = import_traces(planted.path, experiment="imported")
    assert (report.imported, report.skipped, report.problems) == (17, [], [])
    client = TracingClient(fresh_store)
    for original in _lines(planted.path):
        info = original["info"]
        copy = client.get_trace(info["trace_id"]).to_dict()
        assert copy["info"]["request_time"] == info["request_time"]
        assert copy["info"]["execution_duration_ms"] == info["execution_duration_ms"]
        assert copy["info"]["state"] == info["state"]
        assert copy["info"]["trace_location"]["mlflow_experiment"]["experiment_id"] == report.experiment_id
        tags = {k: v for k, v in info["tags"].items() if k != "mlflow.artifactLocation"}
        assert {k: v for k, v in copy["info"]["tags"].items() if k != "mlflow.artifactLocation"} == tags
        metadata = {k: v for k, v in info["trace_metadata"].items() if k not in DERIVED_METADATA}
        assert {k: v for k, v in copy["info"]["trace_metadata"].items() if k not in DERIVED_METADATA} == metadata
        assert copy["data"]["spans"] == original["data"]["spans"]
        assert copy["info"].get("assessments", []) == info.get("assessments", [])


def test_importing_twice_adds_nothing(planted, fresh_store):
    first = import_traces(planted.path)
    again = import_traces(planted.path)
    assert first.experiment == "planted"  # the file name, when no experiment is given
    assert (first.imported, len(first.skipped)) == (17, 0)
    assert (again.imported, sorted(again.skipped)) == (0, sorted(planted.ids.values()))
    assert _count_rows(fresh_store, "trace_info") == 17
    assert _count_rows(fresh_store, "assessments") == 2


def test_the_imported_set_analyses_like_the_file(planted, planted_set, fresh_store):
    import pandas as pd

    from llmops.analysis import load_store

    import_traces(planted.path, experiment="again")
    stored = load_store("again")
    pd.testing.assert_frame_equal(stored.spans, planted_set.spans)
    pd.testing.assert_frame_equal(
        stored.traces.drop(columns="experiment_id"), planted_set.traces.drop(columns="experiment_id")
    )
    pd.testing.assert_frame_equal(stored.assessments, planted_set.assessments)


@pytest.fixture
def damaged(planted, tmp_path):
    """The planted file with line 3 truncated, garbage on line 6, a repeated trace on line 9, a JSON
    value that is not a trace on line 12, and a blank line."""
    lines = planted.path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2][: len(lines[2]) // 2]
    lines[5] = "this is not json"
    lines[8] = lines[0]
    lines[11] = '{"hello": "world"}'
    lines.insert(14, "")
    path = tmp_path / "damaged.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_damaged_file_loads_the_rest_and_names_each_bad_line(damaged):
    ts = load_file(damaged)
    assert len(ts) == 13
    problems = {p.line: p.reason for p in ts.problems}
    assert sorted(problems) == [3, 6, 9, 12]
    assert problems[3].startswith("truncated trace JSON")
    assert problems[6].startswith("not valid JSON")
    assert "already appears on line 1" in problems[9]
    assert "not an MLflow trace" in problems[12]
    assert str(ts.problems[0]).startswith("line 3: truncated")


def test_importing_a_damaged_file_imports_the_good_lines_and_reports_the_bad(damaged, fresh_store):
    report = import_traces(damaged, experiment="damaged")
    assert report.imported == 13
    assert [p.line for p in report.problems] == [3, 6, 9, 12]
    assert _count_rows(fresh_store, "trace_info") == 13


def test_a_file_torn_at_the_end_keeps_every_complete_trace(planted, tmp_path):
    data = planted.path.read_bytes()
    torn = tmp_path / "torn.jsonl"
    torn.write_bytes(data[: len(data) - 500])  # the last line loses its end (and its newline)
    ts = load_file(torn)
    assert len(ts) == 16
    assert [(p.line, p.reason.split(" (")[0]) for p in ts.problems] == [(17, "truncated trace JSON")]


def test_an_empty_file_is_an_empty_set_and_a_file_of_garbage_is_an_error(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n", encoding="utf-8")
    ts = load_file(empty)
    assert len(ts) == 0 and list(ts.spans.columns)[:3] == ["trace_id", "span_id", "parent_id"]
    with pytest.raises(EmptyTraceSetError, match="no traces in .*empty.jsonl"):
        ts.require()
    with pytest.raises(EmptyTraceSetError, match="is empty"):
        read_trace_file(empty)
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text("not json\n{\n", encoding="utf-8")
    with pytest.raises(
        TraceFileError, match=r"garbage.jsonl has no usable trace: 2 bad line\(s\): line 1: not valid JSON"
    ):
        load_file(garbage)


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(TraceFileError, match="trace file .*nope.jsonl does not exist"):
        load_file(tmp_path / "nope.jsonl")
    with pytest.raises(TraceFileError, match="is a folder"):
        load_file(tmp_path)


def test_export_of_nothing_writes_no_file(planted, tmp_path):
    out = tmp_path / "none.jsonl"
    with pytest.raises(EmptyTraceSetError, match="no traces in experiment 'analysis-planted' .* matching"):
        export_traces(out, experiment=planted.experiment, filter_string="tags.`no.such.tag` = 'x'")
    assert not out.exists() and not list(tmp_path.iterdir())


def test_export_with_a_filter_keeps_only_the_matching_traces(planted, tmp_path):
    out = tmp_path / "failed.jsonl"
    report = export_traces(out, experiment=planted.experiment, filter_string="trace.status = 'ERROR'")
    failed = {planted.id(label) for label in planted.failures}
    assert report.exported == len(failed) == 2
    assert {line["info"]["trace_id"] for line in _lines(out)} == failed
