"""The analysis reads a PostgreSQL store's tables directly, with and without a filter, and finds what a trace file
of the same traces holds."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KIT = REPO / "traces" / "exam-7" / "traces.jsonl"  # 35 traces of the analyzer, failures included


@pytest.fixture(scope="module")
def postgres_store(new_database) -> str:
    from llmops.analysis import import_traces

    uri = new_database("reading")
    report = import_traces(KIT, experiment="kit", tracking_uri=uri)
    assert report.imported == 35
    return uri


def test_a_postgresql_store_is_read_directly_like_the_trace_file(postgres_store):
    from llmops.analysis import load_file, load_store, summary

    direct = summary(load_store("kit", tracking_uri=postgres_store, method="sql"))
    assert direct.to_dict("records") == summary(load_file(KIT)).to_dict("records")


def test_a_filter_selects_the_same_traces_on_postgresql_as_through_mlflow(postgres_store):
    from llmops.analysis import load_store

    flt = "trace.status = 'ERROR'"
    direct = load_store("kit", flt, tracking_uri=postgres_store, method="sql")
    through_mlflow = load_store("kit", flt, tracking_uri=postgres_store, method="mlflow")
    assert 0 < len(direct.traces) < 35
    assert sorted(direct.traces["trace_id"]) == sorted(through_mlflow.traces["trace_id"])
    assert len(direct.spans) == len(through_mlflow.spans)
