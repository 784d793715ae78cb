"""The MLflow private shapes llmops relies on are still there; when one goes, the message names it."""

from __future__ import annotations

import pytest


def test_trace_writing_shapes_match_installed_mlflow_and_name_what_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlflow.store.tracking.dbmodels import models
    from mlflow.tracing.export.mlflow_v3 import MlflowV3SpanExporter
    from sqlalchemy import MetaData, Table

    from llmops.mlflow_internals import MLFLOW_VERSION_CHECKED
    from llmops.mlflow_internals.trace_writing import MlflowShapeError, check_shapes

    check_shapes()  # the installed MLflow is the one the writing side mirrors

    # What an MLflow upgrade could do: rename a private method, drop a span column.
    monkeypatch.delattr(MlflowV3SpanExporter, "_export_traces")
    columns = [c._copy() for c in models.SqlSpan.__table__.columns if c.name != "model_provider"]
    monkeypatch.setattr(models, "SqlSpan", type("SqlSpan", (), {"__table__": Table("spans", MetaData(), *columns)}))
    with pytest.raises(MlflowShapeError) as raised:
        check_shapes()
    message = str(raised.value)
    assert f"mirrors MLflow {MLFLOW_VERSION_CHECKED}" in message
    assert "MlflowV3SpanExporter._export_traces is gone" in message
    assert "table spans has no column model_provider" in message


def test_trace_reading_matches_the_installed_mlflow_and_names_what_changed(monkeypatch):
    from llmops.mlflow_internals import trace_reading

    trace_reading.check_shapes()  # fails on an MLflow upgrade that moved a table, a column or a parameter

    monkeypatch.setattr(trace_reading, "MLFLOW_VERSION_CHECKED", "2.0.0")
    monkeypatch.setitem(trace_reading.TABLES, "spans", (*trace_reading.TABLES["spans"], "span_payload"))
    with pytest.raises(trace_reading.MlflowShapeError) as caught:
        trace_reading.check_shapes()
    message = str(caught.value)
    assert "the reading code mirrors 2.0.0" in message
    assert "table 'spans' lost column(s) span_payload" in message
    assert "trace_reading.py" in message
