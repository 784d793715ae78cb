"""Burst throughput by store: SQLite file, PostgreSQL direct, a tracking server on PostgreSQL (prints; not a test).

A burst of 1,000 traces of 8 spans (the workload of ``tracing_overhead.py``), end to end (first call ->
everything flushed), counted in the store's own tables: MLflow's default settings vs ``llmops.tracing.setup()``.
Each (store, configuration) runs in a fresh process, in an experiment of its own. PostgreSQL is a throwaway
local cluster (or ``--postgres-uri``); each tracking server runs on a database of its own, with one worker:
``mlflow-server`` is MLflow's server as shipped (llmops writes through MLflow's OTLP API), ``server`` is
``llmops server`` (the same server with llmops' batch endpoint, ``--app-name llmops``).

    uv run python benchmarks/tracing_server.py [--traces 1000] [--stores sqlite,postgres,mlflow-server,server]
                                               [--workers 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("MLFLOW_MODEL_CATALOG_URI", "")

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracing_overhead import SPANS_PER_TRACE, _burst_workload  # noqa: E402

STORE_LABELS = {
    "sqlite": "SQLite file",
    "postgres": "PostgreSQL, direct",
    "mlflow-server": "`mlflow server` on PostgreSQL, over HTTP (OTLP)",
    "server": "`llmops server` on PostgreSQL, over HTTP (batch endpoint)",
}


def _count(count_uri: str, experiment: str) -> tuple[int, int]:
    """(traces, spans) of ``experiment``, read from the database itself (SQLite file or PostgreSQL)."""
    query_traces = (
        "SELECT COUNT(*) FROM trace_info t JOIN experiments e ON e.experiment_id = t.experiment_id WHERE e.name = {p}"
    )
    query_spans = (
        "SELECT COUNT(*) FROM spans s JOIN experiments e ON e.experiment_id = s.experiment_id WHERE e.name = {p}"
    )
    if count_uri.startswith("sqlite:///"):
        with sqlite3.connect(count_uri[len("sqlite:///") :]) as conn:
            queries = (query_traces, query_spans)
            return tuple(conn.execute(q.format(p="?"), (experiment,)).fetchone()[0] for q in queries)
    import psycopg

    with psycopg.connect(count_uri.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return tuple(conn.execute(q.format(p="%s"), (experiment,)).fetchone()[0] for q in (query_traces, query_spans))


def run_burst(mode: str, tracking_uri: str, count_uri: str, n: int) -> dict:
    """Child process body: one configuration, one experiment, one burst."""
    import logging

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.ERROR)  # the default path warns per dropped batch
    experiment = f"burst-{mode}-{uuid.uuid4().hex[:8]}"
    if mode == "llmops":
        import llmops.tracing as tracing

        tracing.setup(tracking_uri, experiment, autolog=False)
    else:
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_experiment(experiment)
    _burst_workload(mlflow.trace, 5)  # warm-up: imports, first store use; not timed, not counted
    if mode == "llmops":
        tracing.flush()
    else:
        mlflow.flush_trace_async_logging()
    warm_traces, warm_spans = _count(count_uri, experiment)

    start = time.perf_counter()
    _burst_workload(mlflow.trace, n)
    produced = time.perf_counter() - start
    if mode == "llmops":
        tracing.flush(timeout=None)
    else:
        mlflow.flush_trace_async_logging()
    elapsed = time.perf_counter() - start
    traces, spans = _count(count_uri, experiment)
    result = {
        "mode": mode,
        "traces": n,
        "stored_traces": traces - warm_traces,
        "stored_spans": spans - warm_spans,
        "produce_s": produced,
        "elapsed_s": elapsed,
    }
    if mode == "llmops":
        result["writer"] = tracing.stats().__dict__
    return result


def _child(mode: str, tracking_uri: str, count_uri: str, n: int) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--tracking-uri", tracking_uri, "--count-uri", count_uri,
         "--traces", str(n)],
        capture_output=True, text=True,
    )  # fmt: skip
    if completed.returncode != 0:
        raise SystemExit(f"{mode} burst on {tracking_uri} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--traces", type=int, default=1000)
    parser.add_argument("--stores", default="sqlite,postgres,mlflow-server,server")
    parser.add_argument("--workers", type=int, default=1, help="tracking server workers")
    parser.add_argument("--postgres-uri", help="admin URI of a running PostgreSQL (else a throwaway cluster)")
    parser.add_argument("--child", choices=["default", "llmops"], help=argparse.SUPPRESS)
    parser.add_argument("--tracking-uri", help=argparse.SUPPRESS)
    parser.add_argument("--count-uri", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(run_burst(args.child, args.tracking_uri, args.count_uri, args.traces)))
        return

    from llmops.server import create_database, start_postgres, start_tracking_server

    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    cluster = None
    admin_uri = args.postgres_uri
    unknown = set(stores) - set(STORE_LABELS)
    if unknown:
        parser.error(f"unknown store(s) {', '.join(sorted(unknown))}; choose among {', '.join(STORE_LABELS)}")
    if admin_uri is None and {"postgres", "mlflow-server", "server"} & set(stores):
        cluster = start_postgres(durable=False)
        admin_uri = cluster.uri
    server = None
    rows = []
    try:
        for store in stores:
            if store == "sqlite":
                uri = f"sqlite:///{tempfile.mkdtemp(prefix='bench-sqlite-')}/mlflow.db"
                tracking_uri = count_uri = uri
            elif store == "postgres":
                count_uri = create_database(admin_uri, f"bench_direct_{uuid.uuid4().hex[:8]}")
                tracking_uri = count_uri.replace("postgresql://", "postgresql+psycopg://", 1)
            else:
                count_uri = create_database(admin_uri, f"bench_server_{uuid.uuid4().hex[:8]}")
                server = start_tracking_server(
                    count_uri.replace("postgresql://", "postgresql+psycopg://", 1),
                    tempfile.mkdtemp(prefix="bench-artifacts-"),
                    workers=args.workers,
                    app="llmops" if store == "server" else None,
                )
                tracking_uri = server.url
            print(f"\n== {STORE_LABELS[store]}: burst of {args.traces} traces x {SPANS_PER_TRACE} spans ==", flush=True)
            results = {}
            for mode in ("default", "llmops"):
                r = results[mode] = _child(mode, tracking_uri, count_uri, args.traces)
                r["rate"] = r["stored_traces"] / r["elapsed_s"]
                print(
                    f"{mode:8s} stored {r['stored_traces']:5d}/{r['traces']} traces ({r['stored_spans']} spans); "
                    f"calls took {r['produce_s']:6.2f} s, all stored after {r['elapsed_s']:6.2f} s "
                    f"-> {r['rate']:6.1f} stored traces/s",
                    flush=True,
                )
                if "writer" in r:
                    print(f"         writer counters: {r['writer']}")
            rows.append((store, results))
            if server is not None:
                server.stop()
                server = None
    finally:
        if server is not None:
            server.stop()
        if cluster is not None:
            cluster.stop()

    print("\n| store | MLflow defaults | `llmops.tracing.setup()` |")
    print("| --- | --- | --- |")
    for store, results in rows:
        d, o = results["default"], results["llmops"]
        speedup = o["rate"] / d["rate"] if d["rate"] else float("inf")
        print(
            f"| {STORE_LABELS[store]} | {d['stored_traces']}/{d['traces']} stored, {d['rate']:.0f}/s "
            f"| {o['stored_traces']}/{o['traces']}, {o['rate']:.0f}/s ({speedup:.1f}×) |"
        )


if __name__ == "__main__":
    main()
