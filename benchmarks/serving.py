"""Latency and throughput of the churn model behind MLflow's scoring server (`churn serve`).

    uv run python benchmarks/serving.py [--model lr|rf] [--workers N] [--requests 1000] [--clients 8]
                                        [--engine batching|mlflow|both]
    uv run python benchmarks/serving.py --url http://127.0.0.1:5001      # a server that is already running

Without ``--url`` it builds what it measures in a temporary folder (fresh SQLite store): trains and evaluates
the model on the real data, registers it, promotes it to production and starts ``churn serve``'s server on a
free port, exactly as the library does, with each engine in turn (``both``, the default): ``batching``, what
``churn serve`` runs, then ``mlflow`` (``mlflow models serve`` as is) for comparison. For each:

- one client, sequential: single-row latency with nothing queued (the server's own time per request);
- ``--clients`` threads (default 8) sharing ``--requests`` requests (default 1,000), each thread with its own
  kept-alive ``http.client`` connection, every request one held-out customer as ``dataframe_split``;
- one client sending 100 customers per request, for comparison: the per-request cost hardly depends on the rows.

Printed: p50 / p95 / p99 / max latency, requests per second, errors (any answer but 200 or a failed
connection), the server's CPU time per request, and the load average (other work on the cores slows every
figure). Targets: p50 <= 20 ms with 8 clients, zero errors, for the engine ``churn serve`` runs by default.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
SHARED_CSV = ROOT.parent / "shared" / "data" / "telco_churn.csv"
TARGET_P50_MS = 20.0


def bodies(data: Path | None, count: int = 200, rows_per_request: int = 1) -> list[bytes]:
    """Request bodies of held-out customers (``rows_per_request`` each), as a client would send them."""
    from churn import loader
    from churn.serve import payload

    _, test_df = loader.split(loader.load(data))
    rows = loader.features(test_df.head(count * rows_per_request)).to_dict(orient="records")
    chunks = [rows[i : i + rows_per_request] for i in range(0, len(rows), rows_per_request)]
    return [json.dumps(payload(chunk)).encode() for chunk in chunks]


def measure(url: str, payloads: list[bytes], requests: int, clients: int) -> dict[str, float]:
    """Send ``requests`` requests from ``clients`` threads (one kept-alive connection each)."""
    target = urlparse(url)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(requests))
    start_line = threading.Barrier(clients + 1)

    def client() -> None:
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        mine, failed = [], []
        start_line.wait()
        for i in counter:  # shared iterator: the threads split the requests between them
            body = payloads[i % len(payloads)]
            began = time.perf_counter()
            try:
                connection.request("POST", "/invocations", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                answer = response.read()
                if response.status != 200 or b"predictions" not in answer:
                    failed.append(f"{response.status} {answer[:120]!r}")
            except (OSError, http.client.HTTPException) as exc:
                failed.append(f"{exc.__class__.__name__}: {exc}")
                connection.close()
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            mine.append(time.perf_counter() - began)
        connection.close()
        with lock:
            latencies.extend(mine)
            errors.extend(failed)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start_line.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    ms = sorted(x * 1000 for x in latencies)

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, round(p / 100 * (len(ms) - 1)))]

    return {
        "requests": len(ms),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "p50": statistics.median(ms),
        "p95": pct(95),
        "p99": pct(99),
        "max": ms[-1],
        "rps": len(ms) / wall,
        "wall": wall,
    }


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in a process group (the scoring server's)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after "pid (comm)": state ppid pgrp ...
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def prepare_model(args, folder: Path) -> None:
    """Train -> evaluate -> register -> promote in a fresh store under ``folder``."""
    os.chdir(folder)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    os.environ.update(LLMOPS_TRACKING_URI=uri, MLFLOW_TRACKING_URI=uri, CHURN_EXPERIMENT="churn-serving-benchmark")
    from churn.evaluate import evaluate
    from churn.register import promote, register
    from churn.train import TrainParams, train

    began = time.perf_counter()
    version = register(evaluate(train(TrainParams(model=args.model), data=args.data), data=args.data))
    promote("production")
    print(f"model: {args.model}, churn-classifier v{version} in production ({time.perf_counter() - began:.1f} s)")


def start_server(args, engine: str):
    from churn.serve import serve

    server = serve("production", 0, workers=args.workers, engine=engine)
    print(f"\n{engine} engine: {server.url}, {args.workers} worker(s), ready in {server.startup_seconds:.1f} s")
    return server


def run(url: str, server, args, payloads: list[bytes], judged: bool) -> bool:
    """Measure one server; True when it meets the target (or is not the one judged)."""
    measure(url, payloads, 100, 1)  # warm-up: first requests pay for lazy imports in the server
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    met = True
    for clients, requests in ((1, min(200, args.requests)), (args.clients, args.requests)):
        cpu = group_cpu_seconds(server.process.pid) if server else None
        r = measure(url, payloads, requests, clients)
        used = (group_cpu_seconds(server.process.pid) - cpu) / r["requests"] * 1000 if server else None
        verdict = ""
        if clients == args.clients and judged:
            met = r["p50"] <= TARGET_P50_MS and r["errors"] == 0
            verdict = "  ok" if met else "  MISSES the target"
        print(
            f"{clients} client(s), {r['requests']} requests: p50 {r['p50']:.1f} ms  p95 {r['p95']:.1f} ms  "
            f"p99 {r['p99']:.1f} ms  max {r['max']:.1f} ms  {r['rps']:.0f} req/s  errors {r['errors']}"
            + (f"  server CPU {used:.1f} ms/request" if used is not None else "")
            + verdict
        )
        if r["errors"]:
            print(f"  first error: {r['first_error']}")
    # The same server, one client, 100 customers per request: what batching buys per customer.
    batch = measure(url, bodies(args.data, 10, 100), 50, 1)
    print(
        f"1 client, 100 customers per request: p50 {batch['p50']:.1f} ms per request = "
        f"{batch['rps'] * 100:.0f} customers/s  errors {batch['errors']}"
    )
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="benchmark this running server instead of starting one")
    parser.add_argument("--model", choices=("lr", "rf"), default="lr")
    parser.add_argument("--engine", choices=("batching", "mlflow", "both"), default="both")
    parser.add_argument("--workers", type=int, default=None, help="scoring server workers [CHURN_SERVE_WORKERS]")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--data", type=Path, default=SHARED_CSV if SHARED_CSV.is_file() else None)
    args = parser.parse_args()
    from llmops.settings import get_settings

    settings = get_settings()
    if args.workers is None:
        args.workers = settings.churn_serve_workers

    target = f"p50 <= {TARGET_P50_MS:.0f} ms with {args.clients} clients, 0 errors ({settings.churn_serve_engine} engine)"
    print(f"cores: {os.cpu_count()}   python: {sys.version.split()[0]}   target: {target}")
    payloads = bodies(args.data)
    if args.url:
        run(args.url, None, args, payloads, judged=True)
        return
    engines = ("batching", "mlflow") if args.engine == "both" else (args.engine,)
    met = True
    with tempfile.TemporaryDirectory(prefix="churn-serving-bench-") as tmp:
        prepare_model(args, Path(tmp))
        for engine in engines:
            server = start_server(args, engine)
            try:
                met &= run(server.url, server, args, payloads, judged=engine == settings.churn_serve_engine)
            finally:
                server.stop()
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
