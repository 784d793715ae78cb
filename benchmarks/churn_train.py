"""Wall time of churn's train + evaluate, end to end, on the real Telco data and a fresh SQLite store.

    uv run python benchmarks/churn_train.py [--data PATH] [--repeat N]

Two measurements, each in a fresh temporary folder (new ``mlflow.db``, new ``mlruns/``), counting everything a
user waits for: Python start-up, imports, store creation, training, evaluation, process exit.

- ``library``: one process calls ``train()`` then ``evaluate()`` (how a notebook or the Module 2 pipeline runs);
- ``commands``: ``churn train`` then ``churn evaluate``, two processes (how the course runs them), so imports
  and store start-up are paid twice.

Each is measured twice: as this environment runs Python, and with a bytecode cache. Without one (no
``__pycache__`` in the virtual environment and ``PYTHONDONTWRITEBYTECODE=1``, as on this machine) every
process compiles mlflow, scikit-learn, pandas and matplotlib from source, which is most of the wall time. The
cached variant points ``PYTHONPYCACHEPREFIX`` at a temporary folder warmed by one run, leaving the shared
virtual environment untouched; it is what ``uv sync --compile-bytecode`` (or ``compile-bytecode = true`` under
``[tool.uv]``) or any Python allowed to write ``__pycache__`` gives.

Wall time depends on what else runs on the cores (the load average is printed before and after); CPU time
(user + system of the processes) hardly does, so it is printed too.

The data file defaults to ``../shared/data/telco_churn.csv`` (else the settings' cached copy).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_CSV = ROOT.parent / "shared" / "data" / "telco_churn.csv"
TARGET_SECONDS = 20.0

CHILD = """
import json, time
t0 = time.perf_counter()
from churn.train import train
from churn.evaluate import evaluate
t1 = time.perf_counter()
run_id = train()
t2 = time.perf_counter()
evaluate(run_id)
t3 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "train": t2 - t1, "evaluate": t3 - t2}))
"""


def _env(folder: Path, data: Path, pycache: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env.update(
        LLMOPS_TRACKING_URI=f"sqlite:///{folder / 'mlflow.db'}",
        MLFLOW_TRACKING_URI=f"sqlite:///{folder / 'mlflow.db'}",
        CHURN_DATA=str(data),
        CHURN_EXPERIMENT="churn-benchmark",
        MLFLOW_DISABLE_TELEMETRY="true",
    )
    return env


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(args: list[str], folder: Path, data: Path, pycache: Path | None) -> tuple[float, float, str]:
    """Run one process; return its wall time, its CPU time (user + system) and its output."""
    cpu, start = _cpu(), time.perf_counter()
    done = subprocess.run(args, cwd=folder, env=_env(folder, data, pycache), capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return wall, _cpu() - cpu, done.stdout


def library(data: Path, pycache: Path | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="churn-bench-") as tmp:
        wall, cpu, out = _run([sys.executable, "-c", CHILD], Path(tmp), data, pycache)
    phases = json.loads(out.strip().splitlines()[-1])
    return {"wall": wall, "cpu": cpu, **phases}


def commands(data: Path, pycache: Path | None) -> dict[str, float]:
    churn = [sys.executable, "-m", "churn.cli"]
    with tempfile.TemporaryDirectory(prefix="churn-bench-") as tmp:
        train_wall, train_cpu, _ = _run([*churn, "train"], Path(tmp), data, pycache)
        evaluate_wall, evaluate_cpu, _ = _run([*churn, "evaluate"], Path(tmp), data, pycache)
    return {
        "wall": train_wall + evaluate_wall,
        "cpu": train_cpu + evaluate_cpu,
        "churn train": train_wall,
        "churn evaluate": evaluate_wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_CSV if SHARED_CSV.is_file() else None)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if args.data is None:
        from llmops.settings import get_settings

        args.data = get_settings().churn_data
    print(f"data: {args.data}   cores: {os.cpu_count()}   python: {sys.version.split()[0]}   target: <= 20 s")
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (other work slows every figure)")
    with tempfile.TemporaryDirectory(prefix="churn-bench-pycache-") as pycache:
        for label, cache in (("as configured", None), ("with a bytecode cache", Path(pycache))):
            if cache is not None:
                commands(args.data, cache)  # warm-up: fills the cache with everything both variants import
            elif os.environ.get("PYTHONDONTWRITEBYTECODE"):
                label += " (PYTHONDONTWRITEBYTECODE=1)"
            print(label + ":")
            for name, measure in (("library", library), ("commands", commands)):
                results = [measure(args.data, cache) for _ in range(args.repeat)]
                walls = [r["wall"] for r in results]
                best = results[walls.index(min(walls))]
                detail = "  ".join(f"{k} {v:.1f}s" for k, v in best.items() if k not in ("wall", "cpu"))
                verdict = "ok" if min(walls) <= TARGET_SECONDS else f"over the {TARGET_SECONDS:.0f} s target"
                spread = f" (median {statistics.median(walls):.1f}s of {len(walls)})" if len(walls) > 1 else ""
                print(
                    f"  {name:8s} train + evaluate {min(walls):5.1f} s wall{spread}, {best['cpu']:.1f} s CPU  "
                    f"[{detail}]  {verdict}"
                )
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
