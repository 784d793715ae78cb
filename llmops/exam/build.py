"""Build an exam kit: run the real analyzer over the scenario with planted faults, then canonicalise.

The run happens in a private temporary folder (SQLite store, chromadb index, ticket database) against an
offline model served in this process with the scenario's fault rules. What was recorded is exported with
:mod:`llmops.analysis` and rewritten by :mod:`llmops.exam.canonical`, so the kit's bytes depend on the seed
only.
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from llmops.exam.errors import ExamError
from llmops.exam.scenario import KitComment, Scenario, make_scenario

EXPERIMENT = "exam-build"
_ENV_KEYS = (
    "LLMOPS_TRACKING_URI", "MLFLOW_TRACKING_URI", "LLMOPS_LLM_BASE_URL", "LLMOPS_EXPERIMENT",
    "LLMOPS_OFFLINE_FAULTS", "LLMOPS_LLM_BACKEND",
)  # fmt: skip


@dataclass
class BuildReport:
    out: Path
    seed: int
    traces: int
    questions: int
    seconds: float


class _TimeoutCustomers:
    """The customer table as the application sees it, with one customer's lookups timing out: the
    application's own configuration (its customer back-end), not a fault of the model."""

    def __init__(self, table: Any, customer_id: str, timeout_s: float) -> None:
        self._table = table
        self._customer_id = customer_id
        self._timeout_s = timeout_s

    def __len__(self) -> int:
        return len(self._table)

    def get(self, customer_id: str) -> dict | None:
        if customer_id == self._customer_id:
            raise TimeoutError(f"customer back-end did not answer within {self._timeout_s:g} s for {customer_id}")
        return self._table.get(customer_id)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    previous = {k: os.environ.get(k) for k in _ENV_KEYS}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {}
    for name in ("mlflow", "langchain", "langchain-openai", "chromadb", "llmops"):
        try:
            out[name] = version(name)
        except Exception:
            out[name] = "unknown"
    return out


def record(scenario: Scenario, workdir: Path, repo: Path) -> list[dict]:
    """Run the analyzer over the scenario and return the recorded traces (MLflow trace dictionaries),
    in the scenario's order, with gold expected documents attached as expectations."""
    from llmops.llm.server import OfflineLLM

    store = workdir / "mlflow.db"
    uri = f"sqlite:///{store}"
    with OfflineLLM(faults=scenario.faults_spec()) as llm, _environment(
        {
            "LLMOPS_LLM_BACKEND": "offline",
            "LLMOPS_TRACKING_URI": uri,
            "MLFLOW_TRACKING_URI": uri,
            "LLMOPS_LLM_BASE_URL": llm.base_url,
            "LLMOPS_EXPERIMENT": EXPERIMENT,
            "LLMOPS_OFFLINE_FAULTS": "",
        }
    ):
        return _record(scenario, workdir, repo, uri)


def _record(scenario: Scenario, workdir: Path, repo: Path, uri: str) -> list[dict]:
    import mlflow

    from llmops import tracing
    from llmops.agent import AnalysisError, Analyzer, Comment
    from llmops.agent.analyzer import PROMPT_NAME
    from llmops.agent.customers import CustomerTable
    from llmops.agent.tickets import TicketStore
    from llmops.mlflow_internals import trace_reading
    from llmops.prompts import registry
    from llmops.prompts.source import load_source
    from llmops.rag import Retriever, ingest

    mlflow.set_tracking_uri(uri)
    tracing.setup(uri, EXPERIMENT)
    chroma = workdir / "chroma"
    ingest(repo / "data" / "kb", chroma, exclude=[scenario.missing_doc])
    retriever = Retriever(chroma)
    customers = _TimeoutCustomers(
        CustomerTable.load(repo / "data" / "customers.csv"), scenario.timeout_customer, scenario.tool_timeout_s
    )
    tickets = TicketStore(workdir / "tickets.db")
    registry.ensure(PROMPT_NAME, "production", repo / "prompts")
    verbose = registry.push(
        load_source(repo / "tests" / "fixtures" / "prompts" / "comment-analyzer-verbose.yaml"),
        "verbose summaries (canary)",
    )
    registry.promote(PROMPT_NAME, verbose.version, "staging", "canary: detailed summaries")
    common = dict(
        prompts_dir=repo / "prompts", retriever=retriever, customers=customers, tickets=tickets,
        retry_initial_delay=0.001,
    )  # fmt: skip
    analyzers = {"production": Analyzer(prompt_alias="production", **common)}
    analyzers["staging"] = Analyzer(prompt_alias="staging", **common)
    trace_ids: list[tuple[KitComment, str]] = []
    for comment in scenario.comments:
        analyzer = analyzers["staging" if comment.session_id == scenario.canary_session else "production"]
        item = Comment(comment.comment_id, comment.text, comment.customer_id, comment.channel)
        try:
            if comment.comment_id == scenario.redaction_off_comment:
                with tracing.redaction_disabled():
                    result = analyzer.analyze(item, session_id=comment.session_id)
            else:
                result = analyzer.analyze(item, session_id=comment.session_id)
            trace_id = result.trace_id
        except AnalysisError as exc:
            trace_id = exc.trace_id
        if trace_id is None:
            raise ExamError(f"comment {comment.comment_id} left no trace")
        trace_ids.append((comment, trace_id))
    tracing.flush()
    for comment, trace_id in trace_ids:
        if comment.expected_doc_ids:
            mlflow.log_expectation(trace_id=trace_id, name="expected_doc_ids", value=list(comment.expected_doc_ids))
    tracing.flush()
    return [trace_reading.get_trace(uri, trace_id).to_dict() for _c, trace_id in trace_ids]


def build_kit(seed: int, out: Path | str, repo: Path | str | None = None) -> BuildReport:
    """Build the kit of ``seed`` into ``out`` (replaced if it exists)."""
    from llmops.exam import canonical
    from llmops.exam.kit import write_kit

    started = time.perf_counter()
    repo = Path(repo) if repo is not None else Path.cwd()
    if not (repo / "data" / "kb").is_dir():
        raise ExamError(f"{repo} has no data/kb/: run `llmops exam build` from the repository root")
    scenario = make_scenario(seed, repo / "data")
    with tempfile.TemporaryDirectory(prefix="llmops-exam-") as tmp:
        raw = record(scenario, Path(tmp), repo)
        replacements = {str(Path(tmp)): "<build>", str(repo.resolve()): "<repo>", str(repo): "<repo>"}
        traces = canonical.canonicalise(raw, scenario, replacements)
    out = Path(out)
    bank = write_kit(out, scenario, traces, _versions())
    return BuildReport(out=out, seed=seed, traces=len(traces), questions=bank, seconds=time.perf_counter() - started)
