"""Run a suite: the analyzer on every row, then ``mlflow.genai.evaluate`` with the code scorers and the judges.

Two phases per prompt version, both inside one MLflow run linked to that prompt version:

1. **predict** — the analyzer (real agent, real offline model over HTTP, real chromadb index) analyses every
   row on a few threads. Its traces go through ``llmops.tracing``'s lossless writer, in batches, then the
   run checks that every one of them reached the store.
2. **score** — ``mlflow.genai.evaluate(data=[{trace, inputs, outputs, expectations}, ...], scorers=...)``
   scores those traces: MLflow links them to the run, logs every feedback and expectation as an assessment
   on its trace, and logs aggregate metrics on the run.

Why not ``predict_fn``: inside ``evaluate`` every span is written to the store synchronously, one SQLite
transaction per span, which more than doubled the CPU cost of a comment here (0.43 s vs 0.18 s). Scoring
pre-computed traces is an evaluation mode MLflow documents, and the run shows the same traces, linked.

The evaluation's SQLite pitfalls (MLFLOW_NOTES.md) are handled here: ``MLFLOW_GENAI_EVAL_MAX_WORKERS``
capped (default 4), ``MLFLOW_GENAI_EVAL_PREDICT_RATE_LIMIT=0`` (there is no predict_fn to rate-limit),
trace validation skipped; all only ``setdefault``-ed, so the environment wins.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Callable

from llmops.evaluation import datasets
from llmops.evaluation.config import EvalConfig, Suite, load_config, parse_fail_under
from llmops.evaluation.metrics import Judgement, MetricValue, RowOutcome, compute
from llmops.evaluation.scorers import REFUSED_ROOT

PROMPT_NAME = "comment-analyzer"
BATCH_TAG = "llmops.eval.batch"
ROW_TAG = "llmops.eval.row"
EVAL_ENV = {
    "MLFLOW_GENAI_EVAL_MAX_WORKERS": "4",
    "MLFLOW_GENAI_EVAL_PREDICT_RATE_LIMIT": "0",
    "MLFLOW_GENAI_EVAL_SKIP_TRACE_VALIDATION": "true",
}


@dataclass(frozen=True)
class Prediction:
    row_id: str
    outputs: dict[str, Any]
    trace_id: str | None


@dataclass
class AliasRun:
    """One prompt version evaluated on a suite: its MLflow run, per-row outcomes and metrics."""

    alias: str
    prompt_name: str
    prompt_version: int
    run_id: str
    experiment_id: str
    rows: list[RowOutcome]
    metrics: dict[str, MetricValue]
    traces_expected: int
    traces_stored: int
    analysis_errors: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def traces_lost(self) -> int:
        return self.traces_expected - self.traces_stored


def _env() -> None:
    for key, value in EVAL_ENV.items():
        os.environ.setdefault(key, value)


_FAST_COMMITS = {"on": False, "installed": False}


def _sqlite_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    if not type(dbapi_connection).__module__.startswith("sqlite3"):
        return
    wanted = "OFF" if _FAST_COMMITS["on"] else "FULL"
    if record.info.get("llmops.synchronous", "FULL") != wanted:
        dbapi_connection.execute(f"PRAGMA synchronous = {wanted}")
        record.info["llmops.synchronous"] = wanted


@contextlib.contextmanager
def sqlite_fast_commits() -> Any:
    """SQLite commits without fsync (``PRAGMA synchronous = OFF``) for the duration of an evaluation.

    MLflow writes each assessment in its own transaction, and on this kind of disk each fsynced commit
    costs 3-25 ms of waiting: ~20 assessments per row made that the largest cost of the ci suite. Without
    fsync a crash of the *process* loses nothing already committed; a power loss or OS crash during the
    evaluation could damage the SQLite file. ``LLMOPS_EVAL_SQLITE_SYNC=full`` keeps SQLite's default.
    """
    if os.environ.get("LLMOPS_EVAL_SQLITE_SYNC", "off").strip().lower() in ("full", "normal", "on", "1", "true"):
        yield
        return
    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    if not _FAST_COMMITS["installed"]:
        event.listen(Pool, "checkout", _sqlite_checkout)
        _FAST_COMMITS["installed"] = True
    _FAST_COMMITS["on"] = True
    try:
        yield
    finally:
        _FAST_COMMITS["on"] = False


def _outputs(result: Any) -> dict[str, Any]:
    return {
        "analysis": result.analysis.model_dump(),
        "actions_taken": list(result.actions_taken),
        "retrieved_doc_ids": list(result.retrieved_doc_ids),
        "injection_suspected": result.injection_suspected,
        "prompt_version": result.prompt_version,
        "llm_calls": result.llm_calls,
        "tokens": result.tokens,
        "latency_ms": result.latency_ms,
    }


def _refused_trace(row: datasets.EvalRow, cause: str, message: str) -> str:
    """A one-span trace for a row the analyzer refused (an empty text) or crashed on before opening its own
    trace, so the row is scored like any other and the failure is visible in the run."""
    import mlflow
    from mlflow.entities import SpanStatusCode

    with mlflow.start_span(name=REFUSED_ROOT, span_type="AGENT") as span:
        span.set_inputs(row.inputs)
        span.set_attribute("llmops.error_cause", cause)
        span.set_outputs({"error": cause, "message": message})
        span.set_status(SpanStatusCode.ERROR)
    return span.trace_id


def predict(analyzer: Any, rows: list[datasets.EvalRow], batch: str, workers: int = 4) -> list[Prediction]:
    """Run the analyzer on every row (``workers`` threads); each trace is tagged with the batch and row id."""
    from llmops.agent.analyzer import AnalysisError, Comment
    from llmops.tracing import session

    def one(row: datasets.EvalRow) -> Prediction:
        comment = Comment(
            comment_id=row.inputs["comment_id"],
            text=row.inputs["text"],
            customer_id=row.inputs.get("customer_id"),
            channel=row.inputs.get("channel") or "unknown",
        )
        with session(session_id=f"eval-{batch}", tags={BATCH_TAG: batch, ROW_TAG: row.id}) as s:
            try:
                result = analyzer.analyze(comment, session_id=s.session_id)
                return Prediction(row.id, _outputs(result), result.trace_id)
            except AnalysisError as exc:
                outputs = {"error": exc.cause, "message": str(exc)}
                return Prediction(row.id, outputs, exc.trace_id or _refused_trace(row, exc.cause, str(exc)))
            except Exception as exc:  # a bug in one row must not stop the suite: it is scored as a failure
                cause, message = type(exc).__name__, f"{type(exc).__name__}: {exc}"
                return Prediction(row.id, {"error": cause, "message": message}, _refused_trace(row, cause, message))

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="eval-predict") as pool:
        return list(pool.map(one, rows))


def _stored_traces(experiment_id: str, batch: str) -> dict[str, Any]:
    import mlflow

    found = mlflow.search_traces(
        locations=[experiment_id],
        filter_string=f"tags.`{BATCH_TAG}` = '{batch}'",
        return_type="list",
        max_results=100_000,
    )
    return {t.info.trace_id: t for t in found}


def _judgements(assessments: list[dict[str, Any]], run_id: str) -> dict[str, Judgement]:
    """The feedback of one row (this run's only), several feedbacks of one name combined into one."""
    grouped: dict[str, list[Judgement]] = {}
    for a in assessments or []:
        fb = a.get("feedback")
        if fb is None:
            continue
        meta = a.get("metadata") or {}
        if meta.get("mlflow.assessment.sourceRunId", run_id) != run_id:
            continue
        err = fb.get("error") or a.get("error")
        error = None
        if err:
            error = f"{err.get('error_code') or 'ERROR'}: {err.get('error_message') or ''}".strip()
        grouped.setdefault(a["assessment_name"], []).append(
            Judgement(value=fb.get("value"), error=error, rationale=a.get("rationale") or "", metadata=meta)
        )
    out = {}
    for name, items in grouped.items():
        if len(items) == 1:
            out[name] = items[0]
            continue
        # Several feedbacks of one name (a judge per retrieval span): any error -> not measured, else all must pass.
        errors = [j for j in items if not j.measured]
        if errors:
            out[name] = errors[0]
        else:
            from llmops.evaluation.metrics import as_number

            passed = all(as_number(j.value) == 1.0 for j in items)
            out[name] = Judgement(
                value=passed, rationale=" | ".join(j.rationale for j in items), metadata=items[0].metadata
            )
    return out


def evaluate_alias(
    suite: Suite,
    rows: list[datasets.EvalRow],
    alias: str,
    *,
    role: str,
    experiment_id: str,
    scorers: list[Any],
    guidelines_version: Any = None,
    prompt_name: str = PROMPT_NAME,
    workers: int = 4,
    retriever: Any = None,
) -> AliasRun:
    """Predict and score ``rows`` with the prompt version ``prompt_name@alias``, in a new MLflow run."""
    import mlflow
    from mlflow import MlflowClient

    from llmops.agent.analyzer import Analyzer
    from llmops.agent.tickets import TicketStore
    from llmops.prompts import registry
    from llmops.settings import get_settings
    from llmops.tracing import flush

    settings = get_settings()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    prompt = registry.ensure(prompt_name, alias, settings.prompts_dir)
    with tempfile.TemporaryDirectory(prefix="llmops-eval-") as tmp:
        # Tickets the agent opens during an evaluation are not real: they go to a throw-away store.
        analyzer = Analyzer(prompt_alias=alias, retriever=retriever, tickets=TicketStore(Path(tmp) / "tickets.db"))
        batch = uuid.uuid4().hex[:12]
        run_name = f"{suite.name} · {prompt_name}@{alias} v{prompt.version}"
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
            run_id = run.info.run_id
            client = MlflowClient()
            client.link_prompt_version_to_run(run_id, prompt)
            if guidelines_version is not None:
                client.link_prompt_version_to_run(run_id, guidelines_version)
            mlflow.set_tags(
                {
                    "llmops.eval.suite": suite.name,
                    "llmops.eval.role": role,
                    "llmops.eval.prompt": f"{prompt_name}@{alias}",
                    "llmops.eval.prompt_version": str(prompt.version),
                    "llmops.eval.dataset": str(suite.dataset),
                    "llmops.eval.dataset_digest": datasets.digest(rows),
                    BATCH_TAG: batch,
                }
            )
            mlflow.log_params(
                {
                    "suite": suite.name,
                    "prompt": f"{prompt_name}@{alias}",
                    "prompt_version": prompt.version,
                    "rows": len(rows),
                    "llm_calls_budget": suite.budgets.llm_calls,
                    "latency_budget_ms": suite.budgets.latency_ms,
                    "tokens_budget": suite.budgets.tokens,
                    "retrieval_k": suite.budgets.retrieval_k,
                }
            )
            timings["setup_s"] = time.perf_counter() - started

            t, cpu = time.perf_counter(), time.process_time()
            predictions = predict(analyzer, rows, batch, workers=workers)
            flush()
            stored = _stored_traces(experiment_id, batch)
            timings["predict_s"] = time.perf_counter() - t
            timings["predict_cpu_s"] = time.process_time() - cpu

            t, cpu = time.perf_counter(), time.process_time()
            by_row = {r.id: r for r in rows}
            data = []
            kept: list[Prediction] = []
            for p in predictions:
                trace = stored.get(p.trace_id) if p.trace_id else None
                if trace is None:
                    continue  # lost or never made: counted below, the gate fails on it
                row = by_row[p.row_id]
                data.append(
                    {"trace": trace, "inputs": row.inputs, "outputs": p.outputs, "expectations": row.expectations}
                )
                kept.append(p)
            result = None
            if data:
                # evaluate() prints a "view the results in the UI" banner on stdout: the CLI says it better.
                with contextlib.redirect_stdout(io.StringIO()), _no_databricks_warmup():
                    result = mlflow.genai.evaluate(data=data, scorers=scorers)
            timings["score_s"] = time.perf_counter() - t
            timings["score_cpu_s"] = time.process_time() - cpu

            outcomes = _outcomes(predictions, result, run_id)
            metrics = compute(outcomes, suite.min_coverage)
            loggable = {f"gate.{k}": v.value for k, v in metrics.items() if v.value is not None}
            expected_traces = sum(1 for p in predictions if p.trace_id)
            loggable["gate.traces_lost"] = expected_traces - len(kept)
            mlflow.log_metrics(loggable)
    timings["total_s"] = time.perf_counter() - started
    errors = Counter(p.outputs["error"] for p in predictions if "error" in p.outputs)
    return AliasRun(
        alias=alias,
        prompt_name=prompt_name,
        prompt_version=int(prompt.version),
        run_id=run_id,
        experiment_id=experiment_id,
        rows=outcomes,
        metrics=metrics,
        traces_expected=len(predictions),
        traces_stored=len(kept),
        analysis_errors=dict(errors),
        timings=timings,
    )


@contextlib.contextmanager
def _no_databricks_warmup() -> Any:
    """``evaluate()`` imports ``databricks.sdk`` up front so that its worker threads never import it for the
    first time (``harness._warmup_databricks_sdk``): 3-4 s of CPU here, for a client only Databricks
    tracking URIs and Databricks-served judges use. Neither is in play on this path, so the warm-up is
    skipped for the duration of the call (left alone if MLflow renames it, or on a Databricks URI)."""
    import mlflow
    import mlflow.genai.evaluation.harness as harness

    uri = mlflow.get_tracking_uri() or ""
    if not hasattr(harness, "_warmup_databricks_sdk") or uri.startswith("databricks"):
        yield
        return
    original = harness._warmup_databricks_sdk
    harness._warmup_databricks_sdk = lambda: None
    try:
        yield
    finally:
        harness._warmup_databricks_sdk = original


def _outcomes(predictions: list[Prediction], result: Any, run_id: str) -> list[RowOutcome]:
    by_trace: dict[str, dict[str, Judgement]] = {}
    df = getattr(result, "result_df", None)
    if df is not None and "assessments" in df.columns:
        for trace_id, assessments in zip(df["trace_id"], df["assessments"]):
            by_trace[trace_id] = _judgements(list(assessments or []), run_id)
    return [RowOutcome(p.row_id, p.trace_id, by_trace.get(p.trace_id or "", {})) for p in predictions]


def prepare(experiment: str | None = None) -> tuple[str, Any]:
    """Tracing, the knowledge-base index and the judges' endpoint; returns (experiment id, retriever)."""
    from llmops.rag import Retriever, ingest
    from llmops.settings import get_settings
    from llmops.tracing import setup

    settings = get_settings()
    _env()
    done = setup(experiment=experiment or f"{settings.experiment_name}-eval")
    ingest(settings.data_dir / "kb", settings.chroma_dir)
    return done.experiment_id, Retriever(settings.chroma_dir)


def build_scorers(suite: Suite, rows: list[datasets.EvalRow]) -> tuple[list[Any], Any]:
    """(scorers, guidelines prompt version or None) for a suite."""
    from llmops.evaluation.scorers import code_scorers

    scorers = code_scorers(suite.budgets)
    guidelines_version = None
    if suite.judges:
        from llmops.evaluation.judges import judge_scorers, load_guidelines
        from llmops.llm.clients import configure_judges

        model = configure_judges()
        guidelines, guidelines_version = load_guidelines()
        has_facts = any("expected_facts" in r.expectations or "expected_response" in r.expectations for r in rows)
        scorers += judge_scorers(model, guidelines, correctness=has_facts)
    return scorers, guidelines_version


def run_suite(
    suite_name: str,
    *,
    prompt_alias: str = "production",
    baseline: str | None = None,
    fail_under: list[str] | tuple[str, ...] | dict[str, float] | None = None,
    config: EvalConfig | Path | str | None = None,
    experiment: str | None = None,
    workers: int = 4,
    limit: int | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> Any:
    """Evaluate ``comment-analyzer@prompt_alias`` on a suite (and ``@baseline`` on the same rows); returns the
    :class:`~llmops.evaluation.gate.GateReport`. Usage errors (unknown suite, metric or alias, bad
    evals.yaml) raise :class:`~llmops.errors.UserError` before anything heavy runs."""
    from llmops.evaluation.gate import decide

    say = on_progress or (lambda message: None)
    started = time.perf_counter()
    cfg = config if isinstance(config, EvalConfig) else load_config(config)
    overrides = fail_under if isinstance(fail_under, dict) else parse_fail_under(list(fail_under or ()))
    suite = cfg.suite(suite_name).with_thresholds(overrides)
    rows = datasets.load(suite.dataset)
    if limit:
        rows = rows[:limit]

    say(f"suite {suite.name}: {len(rows)} rows from {suite.dataset}")
    with sqlite_fast_commits():
        experiment_id, retriever = prepare(experiment)
        scorers, guidelines_version = build_scorers(suite, rows)
        runs: dict[str, AliasRun] = {}
        for role, alias in (("baseline", baseline), ("candidate", prompt_alias)):
            if alias is None:
                continue
            say(f"{role}: {PROMPT_NAME}@{alias}")
            runs[role] = evaluate_alias(
                suite, rows, alias, role=role, experiment_id=experiment_id, scorers=scorers,
                guidelines_version=guidelines_version, workers=workers, retriever=retriever,
            )  # fmt: skip
            run = runs[role]
            say(
                f"{role}: v{run.prompt_version}, {len(rows)} rows in {run.timings['total_s']:.1f} s "
                f"(predict {run.timings['predict_s']:.1f} s, score {run.timings['score_s']:.1f} s), "
                f"traces stored {run.traces_stored}/{run.traces_expected}"
            )
        report = decide(suite, runs["candidate"], runs.get("baseline"))
        report.timings["wall_s"] = time.perf_counter() - started
        _record_verdict(report)
    return report


def _record_verdict(report: Any) -> None:
    """The gate's verdict on the candidate run: tags, and the Markdown report as an artifact."""
    from mlflow import MlflowClient

    from llmops.evaluation.report import markdown

    client = MlflowClient()
    run_id = report.candidate.run_id
    client.set_tag(run_id, "llmops.gate", "passed" if report.passed else "failed")
    if report.reasons:
        client.set_tag(run_id, "llmops.gate.reasons", "; ".join(report.reasons)[:4900])
    if report.baseline is not None:
        client.set_tag(run_id, "llmops.eval.baseline_run", report.baseline.run_id)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "eval-report.md"
            path.write_text(markdown(report), encoding="utf-8")
            client.log_artifact(run_id, str(path))
    except Exception:  # the artifact is a convenience; the verdict is already on the run
        pass
