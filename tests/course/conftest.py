"""Fixtures for the course tests: the real IBM CSV, and each notebook executed once per session in a folder of
its own (the exercise and UI tests read the stores the notebooks made)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
COURSE = REPO_ROOT / "course"
# tests/conftest.py's SHARED_DATA (test folders have no __init__.py, so it is not importable from here).
TELCO_CSV = REPO_ROOT.parent / "shared" / "data" / "telco_churn.csv"


def course_module(relative: str) -> ModuleType:
    """A script of course/ (not a package) imported by path."""
    path = COURSE / relative
    spec = importlib.util.spec_from_file_location(f"course_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def telco_csv() -> Path:
    if not TELCO_CSV.is_file():
        pytest.fail(f"the course tests read the real data at {TELCO_CSV} (see ../shared/data/SOURCES.md)")
    return TELCO_CSV


@pytest.fixture(scope="session")
def notebook(tmp_path_factory, telco_csv):
    """``notebook(name)`` executes course/notebooks/<name>.py once per session, as a learner's kernel would run
    it (none of the test session's LLMOPS_/MLFLOW_/CHURN_/OPENAI_ variables, the data at CHURN_DATA), and
    returns (working folder, notebook).
    A cell that raises fails every test that needs that notebook, naming the cell and its error."""
    run = course_module("notebooks/run.py")
    # A learner's shell sets none of the project's variables: whatever earlier tests of this session exported
    # (experiment names, stores, model endpoints) stays out of the kernel.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMOPS_", "MLFLOW_", "CHURN_", "OPENAI_"))}
    env["CHURN_DATA"] = str(telco_csv)
    done: dict[str, tuple[Path, object] | Exception] = {}

    def execute(name: str) -> tuple[Path, object]:
        if name not in done:
            workdir = tmp_path_factory.mktemp(name)
            try:
                done[name] = (workdir, run.execute(name, workdir, env=env, timeout=300))
            except run.CellError as exc:
                done[name] = exc
        if isinstance(done[name], Exception):
            pytest.fail(str(done[name]), pytrace=False)
        return done[name]

    return execute

