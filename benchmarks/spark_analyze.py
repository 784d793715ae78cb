"""Rows per second of `llmops analyze` on local Spark (the analyzer model through spark_udf) against the local
engine (threads) at the same concurrency, on synthetic comments; traces stored are counted for both.

Synthetic comments are the real ones of data/comments.csv repeated under new ids (the offline model is
deterministic, so a repeated text costs what the original costs). Spark's start-up and the model's logging
are timed apart from the run itself.

    uv run python benchmarks/spark_analyze.py [--comments 10000] [--concurrency 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _stored(experiment: str) -> int:
    import mlflow

    exp = mlflow.get_experiment_by_name(experiment)
    return len(mlflow.search_traces(locations=[exp.experiment_id], include_spans=False, max_results=1_000_000))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--comments", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=2, help="threads (local) = Spark task slots (local[N])")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="llmops-spark-bench-"))
    os.environ.update(
        LLMOPS_TRACKING_URI=f"sqlite:///{work / 'mlflow.db'}",
        LLMOPS_CHROMA_DIR=str(work / "chroma"),
        LLMOPS_TICKETS_DB=str(work / "tickets.db"),
        LLMOPS_PROMPTS_DIR=str(REPO / "prompts"),
        LLMOPS_DATA_DIR=str(REPO / "data"),
    )
    from llmops.agent.analyzer import Analyzer
    from llmops.agent.batch import read_comments, run_batch
    from llmops.rag import ingest
    from llmops.spark import engine
    from llmops.tracing import setup

    real = [c for c in read_comments(REPO / "data" / "comments.csv") if c.text.strip()]
    sample = [
        replace(real[i % len(real)], comment_id=f"SYN-{i:06d}", row=i + 2) for i in range(args.comments)
    ]
    figures = {}

    os.environ["LLMOPS_EXPERIMENT"] = "bench-spark"
    setup(autolog=False)
    started = time.perf_counter()
    spark = engine.spark_session(f"local[{args.concurrency}]")
    model_uri = engine.resolve_model(None)
    setup_s = time.perf_counter() - started
    started = time.perf_counter()
    report = engine.run_spark(sample, work / "spark-results", spark=spark, model_uri=model_uri)
    elapsed = time.perf_counter() - started
    figures["spark"] = (elapsed, report, _stored("bench-spark"))
    print(f"spark: start-up and model logging {setup_s:.1f} s (not counted)")
    spark.stop()

    os.environ["LLMOPS_EXPERIMENT"] = "bench-local"
    setup()
    ingest()
    analyzer = Analyzer()
    started = time.perf_counter()
    report = run_batch(sample, work / "local-results.csv", analyzer, concurrency=args.concurrency)
    figures["local"] = (time.perf_counter() - started, report, _stored("bench-local"))

    for name, (seconds, rep, stored) in figures.items():
        print(
            f"{name:5s} concurrency {args.concurrency}: {len(sample)} comments in {seconds:.1f} s = "
            f"{len(sample) / seconds:.2f} rows/s; {rep.summary['errors']} errors; traces stored {stored}/{len(sample)}"
        )
    print(f"work folder: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
