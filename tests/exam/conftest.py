"""Exam kits built by the real command in their own processes (a build sets up tracing for its process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED = REPO_ROOT / "traces" / "exam-7"
SHIPPED_SEED = 7


def _start_build(seed: int, out: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMOPS_", "MLFLOW_TRACKING"))}
    return subprocess.Popen(
        [sys.executable, "-c", "from llmops.cli import app; app()", "exam", "build", "--seed", str(seed), "--out", str(out)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


@pytest.fixture(scope="session")
def rebuilt_kits(tmp_path_factory) -> dict[int, Path]:
    """The shipped kit's seed and another seed, built concurrently; the first into a folder of the shipped
    kit's name, so every byte is comparable."""
    root = tmp_path_factory.mktemp("kits")
    outs = {SHIPPED_SEED: root / "same" / SHIPPED.name, 8: root / "other" / "exam-8"}
    procs = {seed: _start_build(seed, out) for seed, out in outs.items()}
    for seed, proc in procs.items():
        output, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, output
    return outs
