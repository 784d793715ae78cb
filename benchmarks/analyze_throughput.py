"""Comments per second through the whole analyzer at concurrency 1 and 8 (issue target: c8 >= 5x c1).

The offline model is slowed to 200 ms per call (``latency_ms=200``), the cost of a real hosted model, so the
figure measures how well the batch runner overlaps model calls rather than how fast the offline model is.
Every trace is counted in the SQLite store afterwards: a run that lost traces would not count.

    uv run python benchmarks/analyze_throughput.py [--comments 40]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--comments", type=int, default=40, help="comments per run")
    parser.add_argument("--latency-ms", type=int, default=200)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="llmops-bench-"))
    os.environ.update(
        LLMOPS_TRACKING_URI=f"sqlite:///{work / 'mlflow.db'}",
        LLMOPS_CHROMA_DIR=str(work / "chroma"),
        LLMOPS_TICKETS_DB=str(work / "tickets.db"),
        LLMOPS_OFFLINE_FAULTS=f"latency_ms={args.latency_ms},on=chat",
        LLMOPS_PROMPTS_DIR=str(REPO / "prompts"),
        LLMOPS_DATA_DIR=str(REPO / "data"),
    )
    import mlflow

    from llmops.agent.analyzer import Analyzer
    from llmops.agent.batch import read_comments, run_batch
    from llmops.rag import ingest
    from llmops.tracing import setup

    ingest()
    comments = [c for c in read_comments(REPO / "data" / "comments.csv") if c.text.strip()]
    figures = {}
    for concurrency in (1, 8):
        experiment = f"bench-c{concurrency}"
        setup(experiment=experiment)
        analyzer = Analyzer()
        sample = comments[: args.comments]
        started = time.perf_counter()
        report = run_batch(sample, work / f"results-c{concurrency}.csv", analyzer, concurrency=concurrency)
        elapsed = time.perf_counter() - started  # run_batch returns after flushing every trace to the store
        exp = mlflow.get_experiment_by_name(experiment)
        stored = len(mlflow.search_traces(locations=[exp.experiment_id], include_spans=False, max_results=100_000))
        figures[concurrency] = len(sample) / elapsed
        print(
            f"concurrency {concurrency}: {len(sample)} comments in {elapsed:.1f} s = {figures[concurrency]:.2f} "
            f"comments/s; {report.summary['errors']} errors; traces stored {stored}/{len(sample)}"
        )
        if stored != len(sample):
            print("FAIL: traces were lost")
            return 1
    ratio = figures[8] / figures[1]
    print(f"speed-up concurrency 8 vs 1: {ratio:.1f}x (target >= 5x)")
    return 0 if ratio >= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
