"""Batch runs: a CSV of comments in, a CSV of results out, every row accounted for.

The output file is also the journal: each finished row (a result or an error record) is appended as one
complete line and flushed to disk before the next, so ``--resume`` after a crash, even ``kill -9``, skips what
is there and redoes nothing. A line torn by the kill is cut off and that row is simply run again.
"""

from __future__ import annotations

import csv
import io
import os
import statistics
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from llmops.errors import UserError
from llmops.agent.analyzer import AnalysisError, Analyzer, Comment
from llmops.agent.schema import AnalysisResult

RESULT_COLUMNS = [
    "comment_id", "row", "customer_id", "status", "error_cause", "error",
    "language", "sentiment", "topics", "churn_risk", "urgency", "summary", "suggested_reply", "citations",
    "actions_taken", "retrieved_doc_ids", "injection_suspected",
    "trace_id", "prompt_version", "latency_ms", "llm_calls", "tokens", "cost_usd",
]  # fmt: skip


class InputError(UserError, ValueError):
    """The input file cannot be read as comments; the message names the file, line or column."""


def read_comments(path: Path | str, text_column: str = "text", id_column: str = "comment_id") -> list[Comment]:
    """Every data row of ``path`` as a ``Comment`` (empty texts included: the run reports them)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input file {path} does not exist")
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}: line {line} is not valid UTF-8 (byte {exc.start}: {raw[exc.start:exc.start + 1]!r}); "
            "re-save the file as UTF-8"
        ) from None
    reader = csv.DictReader(io.StringIO(content, newline=""))
    columns = reader.fieldnames or []
    if not columns:
        raise InputError(f"{path} is empty: expected a header row with a {text_column!r} column")
    if text_column not in columns:
        raise InputError(
            f"{path} has no {text_column!r} column; its columns are: {', '.join(columns)} "
            "(choose one with --text-column)"
        )
    comments = []
    for number, row in enumerate(reader, start=2):
        if None in row:
            raise InputError(f"{path}, line {number}: more fields than the header has columns")
        comments.append(
            Comment(
                comment_id=(row.get(id_column) or f"row-{number}").strip(),
                text=row[text_column] or "",
                customer_id=(row.get("customer_id") or "").strip() or None,
                channel=(row.get("channel") or "unknown").strip() or "unknown",
                row=number,
            )
        )
    ids = Counter(c.comment_id for c in comments)
    duplicated = [i for i, n in ids.items() if n > 1]
    if duplicated:
        raise InputError(f"{path}: duplicated {id_column} values: {', '.join(sorted(duplicated)[:5])}")
    return comments


def _result_row(comment: Comment, result: AnalysisResult) -> dict:
    a = result.analysis
    return {
        "comment_id": comment.comment_id, "row": comment.row, "customer_id": comment.customer_id or "",
        "status": "ok", "error_cause": "", "error": "",
        "language": a.language, "sentiment": a.sentiment, "topics": "|".join(a.topics),
        "churn_risk": a.churn_risk, "urgency": a.urgency, "summary": a.summary,
        "suggested_reply": a.suggested_reply, "citations": "|".join(a.citations),
        "actions_taken": "|".join(result.actions_taken), "retrieved_doc_ids": "|".join(result.retrieved_doc_ids),
        "injection_suspected": str(result.injection_suspected).lower(),
        "trace_id": result.trace_id or "", "prompt_version": result.prompt_version or "",
        "latency_ms": result.latency_ms, "llm_calls": result.llm_calls, "tokens": result.tokens,
        "cost_usd": result.cost_usd,
    }  # fmt: skip


def _error_row(comment: Comment, cause: str, message: str, trace_id: str | None) -> dict:
    row = dict.fromkeys(RESULT_COLUMNS, "")
    row.update(
        comment_id=comment.comment_id, row=comment.row, customer_id=comment.customer_id or "", status="error",
        error_cause=cause, error=f"row {comment.row} ({comment.comment_id}): {message}", trace_id=trace_id or "",
    )  # fmt: skip
    return row


class ResultWriter:
    """Appends rows to the results CSV, one flushed and fsynced line each, from any thread."""

    def __init__(self, path: Path, resume: bool) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.done: dict[str, dict] = {}
        if resume and path.exists():
            self.done = self._recover()
        elif path.exists():
            path.unlink()
        new_file = not path.exists() or path.stat().st_size == 0
        self._fh = path.open("a", encoding="utf-8", newline="")
        self._writer = csv.DictWriter(self._fh, fieldnames=RESULT_COLUMNS)
        if new_file:
            self._writer.writeheader()
            self._sync()

    def _recover(self) -> dict[str, dict]:
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            # The process died mid-line: drop the torn line, that row will run again.
            data = data[: data.rfind(b"\n") + 1]
            with self.path.open("r+b") as fh:
                fh.truncate(len(data))
        text = data.decode("utf-8")
        reader = csv.DictReader(io.StringIO(text, newline=""))
        if reader.fieldnames and reader.fieldnames != RESULT_COLUMNS:
            raise InputError(f"{self.path} is not a results file of this tool (columns differ); use another --out")
        return {row["comment_id"]: row for row in reader}

    def _sync(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def write(self, row: dict) -> None:
        with self._lock:
            self._writer.writerow(row)
            self._sync()
            self.done[row["comment_id"]] = row

    def close(self) -> None:
        self._fh.close()


@dataclass
class BatchReport:
    rows: list[dict]
    skipped_on_resume: int = 0
    session_id: str = ""
    summary: dict = field(default_factory=dict)

    @property
    def errors(self) -> list[dict]:
        return [r for r in self.rows if r["status"] == "error"]


def summarize(rows: Iterable[dict]) -> dict:
    rows = list(rows)
    ok = [r for r in rows if r["status"] == "ok"]
    latencies = sorted(float(r["latency_ms"]) for r in ok if r["latency_ms"] not in ("", None))

    def pct(p: float) -> float:
        if not latencies:
            return 0.0
        return round(latencies[min(len(latencies) - 1, int(round(p * (len(latencies) - 1))))], 1)

    topics = Counter(t for r in ok for t in str(r["topics"]).split("|") if t)
    high = sorted({r["customer_id"] for r in ok if r["churn_risk"] == "high" and r["customer_id"]})
    return {
        "rows": len(rows),
        "ok": len(ok),
        "errors": len(rows) - len(ok),
        "error_causes": dict(Counter(r["error_cause"] for r in rows if r["status"] == "error").most_common()),
        "sentiment": dict(Counter(r["sentiment"] for r in ok).most_common()),
        "churn_risk": dict(Counter(r["churn_risk"] for r in ok).most_common()),
        "top_topics": dict(topics.most_common(5)),
        "high_risk_customers": high,
        "injections_flagged": sum(1 for r in ok if r["injection_suspected"] == "true"),
        "tickets_opened": sum(1 for r in ok for a in str(r["actions_taken"]).split("|") if a.startswith("create_ticket:") and "refused" not in a),
        "latency_p50_ms": pct(0.5),
        "latency_p95_ms": pct(0.95),
        "mean_latency_ms": round(statistics.fmean(latencies), 1) if latencies else 0.0,
        "tokens": sum(int(r["tokens"] or 0) for r in ok),
        "cost_usd": round(sum(float(r["cost_usd"] or 0) for r in ok), 6),
    }  # fmt: skip


def run_batch(
    comments: list[Comment],
    out: Path | str,
    analyzer: Analyzer,
    *,
    concurrency: int = 4,
    resume: bool = False,
    limit: int | None = None,
    session_id: str | None = None,
    on_row: Callable[[dict], None] | None = None,
) -> BatchReport:
    """Analyse ``comments`` (the first ``limit``) into ``out``; returns every row of this run's scope."""
    from llmops.tracing import flush

    if concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    scope = comments[:limit] if limit else comments
    writer = ResultWriter(Path(out), resume=resume)
    session_id = session_id or f"batch-{uuid.uuid4().hex[:8]}"
    todo = [c for c in scope if c.comment_id not in writer.done]
    skipped = len(scope) - len(todo)

    def work(comment: Comment) -> dict:
        try:
            return _result_row(comment, analyzer.analyze(comment, session_id=session_id))
        except AnalysisError as exc:
            return _error_row(comment, exc.cause, str(exc), exc.trace_id)
        except Exception as exc:  # a bug must not lose the row: it is recorded with its cause
            return _error_row(comment, type(exc).__name__, f"{type(exc).__name__}: {exc}", None)

    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="analyze") as pool:
            futures = [pool.submit(work, c) for c in todo]
            for future in as_completed(futures):
                row = future.result()
                writer.write(row)
                if on_row:
                    on_row(row)
    finally:
        writer.close()
        flush()
    rows = [writer.done[c.comment_id] for c in scope if c.comment_id in writer.done]
    return BatchReport(rows=rows, skipped_on_resume=skipped, session_id=session_id, summary=summarize(rows))
