"""The MLflow UI in headless Chromium lists the traces the Module 3 notebook made (what the guide's pictures show)."""

from __future__ import annotations

import re
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "course" / "screenshots.py"


def screenshots():
    spec = spec_from_file_location("course_screenshots", SCRIPT)
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_traces_page_lists_the_demo_traces(notebook):
    shots = screenshots()
    if shots.chromium() is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
    from mlflow import MlflowClient

    workdir, _ = notebook("module3_llmops")
    store = f"sqlite:///{workdir / 'mlflow.db'}"
    client = MlflowClient(store)
    experiment_id = client.get_experiment_by_name("comment-analyzer").experiment_id
    stored = {t.info.trace_id for t in client.search_traces(locations=[experiment_id], include_spans=False)}
    assert len(stored) == 8

    with shots.MlflowUI(store) as ui:
        dom = shots.dump_dom(f"{ui.url}/#/experiments/{experiment_id}/traces")
    listed = set(re.findall(r"tr-[0-9a-f]{32}", dom))
    assert listed == stored, f"the Traces page lists {sorted(listed)}, the store holds {sorted(stored)}"
    comments = set(re.findall(r"CMT-\d{4}", dom))
    assert len(comments) == 8  # each row shows its comment's input
