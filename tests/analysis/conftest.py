"""A small real trace set with planted problems, made once per session by the real analyzer.

The analyzer runs against its own offline model server with fault rules matched on markers in the comment
text, a customer table that fails for one customer, and a retriever that can be told to find nothing:

=================  ==============================================================================
label              what happens
=================  ==============================================================================
v1-0..v1-3         normal analyses with prompt version "v1" (session s-v1)
v2-0..v2-5         normal analyses with the production prompt version "v2" (session s-v2)
http500            HTTP 500 on every attempt: 4 failing LLM calls, the trace fails (http_500)
rate429            one HTTP 429, the retry succeeds
timeout            one client timeout (0.5 s; this analyzer's request timeout), the retry succeeds
badjson            every answer's JSON is cut short: the trace fails (invalid_structured_output)
toolfail           lookup_customer raises ConnectionError; the analysis still succeeds
empty              the knowledge-base search returns no document
slow               every LLM call takes 1 s more: the slowest trace
=================  ==============================================================================

The faulty ones are in session s-faults. Two assessments are logged: a feedback on v2-0 and an expectation
``expected_doc_ids`` on v2-1 naming a document it did not retrieve. The set is exported to a trace file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = "analysis-planted"
MISSING_DOC = "kb-accessibility"

FAULTS = " ; ".join(
    [
        "server_error,match=PLANT-HTTP",
        "rate_limit,match=PLANT-RATE,max=1,retry_after=0",
        "timeout,timeout_s=3,match=PLANT-TIMEOUT,max=1",
        "malformed_json,match=PLANT-JSON",
        "latency_ms=1000,match=PLANT-SLOW",
    ]
)

NORMAL_TEXTS = [
    "Ma facture a doublé ce mois-ci sans explication, je veux comprendre.",
    "The fibre has been down for two days in Lyon, please send a technician.",
    "Très contente du service client, réponse rapide et efficace.",
    "Le débit est très lent le soir, impossible de regarder un film en streaming.",
    "I was charged roaming fees in Spain although my plan includes the EU.",
    "Le décodeur TV redémarre tout seul plusieurs fois par jour.",
]


@dataclass
class Planted:
    """The planted trace set: where it is and what each trace is."""

    path: Path  # the exported trace file
    tracking_uri: str
    experiment: str
    ids: dict[str, str]  # label -> trace id
    results: dict[str, Any]  # label -> AnalysisResult (successful analyses)
    failures: dict[str, str]  # label -> the analyzer's error cause
    v1: int
    v2: int
    sessions: dict[str, list[str]] = field(default_factory=dict)  # session -> labels

    def id(self, label: str) -> str:
        return self.ids[label]


class _PlantedRetriever:
    """The real retriever, except that it finds nothing while ``empty`` is set (the RETRIEVER span is real)."""

    def __init__(self, chroma_dir: str) -> None:
        from llmops.rag import Retriever

        class Switchable(Retriever):
            empty = False

            def _query(self, query: str, k: int) -> list[Any]:
                return [] if self.empty else super()._query(query, k)

        self.inner = Switchable(chroma_dir)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def search(self, query: str, k: int | None = None) -> list[Any]:
        return self.inner.search(query, k)


def _flaky_customers() -> Any:
    from llmops.agent.customers import CustomerTable

    class FlakyCustomers(CustomerTable):
        def get(self, customer_id: str) -> dict | None:
            if customer_id == "CUST-0042":
                raise ConnectionError("customer database unreachable")
            return super().get(customer_id)

    table = CustomerTable.load(REPO_ROOT / "data" / "customers.csv")
    return FlakyCustomers(table._rows)


@pytest.fixture(scope="session")
def planted(session_store, tmp_path_factory) -> Planted:
    import mlflow
    from mlflow import MlflowClient

    from llmops.agent import AnalysisError, Analyzer, Comment
    from llmops.agent.analyzer import PROMPT_NAME
    from llmops.agent.tickets import TicketStore
    from llmops.analysis import export_traces
    from llmops.llm.server import OfflineLLM
    from llmops.prompts import registry
    from llmops.rag import ingest
    from llmops.tracing import current, flush, setup

    chroma = tmp_path_factory.mktemp("analysis-chroma")
    ingest(REPO_ROOT / "data" / "kb", chroma)
    previous = current()
    setup(experiment=EXPERIMENT)
    retriever = _PlantedRetriever(str(chroma))
    customers = _flaky_customers()
    tickets = TicketStore(tmp_path_factory.mktemp("analysis-tickets") / "tickets.db")
    ids: dict[str, str] = {}
    results: dict[str, Any] = {}
    failures: dict[str, str] = {}
    sessions: dict[str, list[str]] = {}

    with OfflineLLM(faults=FAULTS) as llm:
        saved = os.environ.get("LLMOPS_LLM_BASE_URL")
        os.environ["LLMOPS_LLM_BASE_URL"] = llm.base_url
        try:

            def make(alias: str, timeout: float = 10.0) -> Analyzer:
                return Analyzer(
                    prompt_alias=alias, prompts_dir=REPO_ROOT / "prompts", retriever=retriever, customers=customers,
                    tickets=tickets, retry_initial_delay=0.01, request_timeout=timeout,
                )  # fmt: skip

            v2_analyzer = make("production")
            v2 = int(v2_analyzer.prompt.version)
            v1 = min(int(v.version) for v in registry.versions(PROMPT_NAME))
            assert v1 < v2, "the prompt registry should hold the history version and the current one"
            MlflowClient().set_prompt_alias(PROMPT_NAME, "analysis-v1", v1)
            v1_analyzer = make("analysis-v1")
            impatient = make("production", timeout=0.5)  # only for the planted timeout
        finally:
            if saved is None:
                os.environ.pop("LLMOPS_LLM_BASE_URL", None)
            else:
                os.environ["LLMOPS_LLM_BASE_URL"] = saved

        def run(analyzer: Analyzer, label: str, session: str, customer: str, text: str) -> None:
            comment = Comment(comment_id=f"P-{label}", customer_id=customer, channel="email", text=text)
            sessions.setdefault(session, []).append(label)
            try:
                result = analyzer.analyze(comment, session_id=session)
                ids[label], results[label] = result.trace_id, result
            except AnalysisError as exc:
                ids[label], failures[label] = exc.trace_id, exc.cause

        for i, text in enumerate(NORMAL_TEXTS[:4]):
            run(v1_analyzer, f"v1-{i}", "s-v1", f"CUST-{10 + i:04d}", text)
        for i, text in enumerate(NORMAL_TEXTS):
            run(v2_analyzer, f"v2-{i}", "s-v2", f"CUST-{20 + i:04d}", text)
        faulty = {
            "http500": ("CUST-0031", "PLANT-HTTP Ma facture est fausse ce mois-ci."),
            "rate429": ("CUST-0032", "PLANT-RATE Le débit est très lent depuis une semaine."),
            "timeout": ("CUST-0033", "PLANT-TIMEOUT Internet coupe tous les soirs vers 21h."),
            "badjson": ("CUST-0034", "PLANT-JSON Le support ne répond jamais au téléphone."),
            "toolfail": ("CUST-0042", "Je veux connaître mon forfait actuel et la fin de mon engagement."),
            "empty": ("CUST-0035", "Ma box wifi clignote en orange depuis hier soir."),
            "slow": ("CUST-0036", "PLANT-SLOW Mon téléphone ne capte plus rien dans mon appartement."),
        }
        for label, (customer, text) in faulty.items():
            retriever.inner.empty = label == "empty"
            try:
                run(impatient if label == "timeout" else v2_analyzer, label, "s-faults", customer, text)
            finally:
                retriever.inner.empty = False
    # the plant itself: exactly these two fail, with these causes (else every later assertion is moot)
    assert failures == {"http500": "http_500", "badjson": "invalid_structured_output"}, failures
    assert flush(), "every planted trace reached the store"
    MlflowClient().delete_prompt_alias(PROMPT_NAME, "analysis-v1")  # leave the shared registry as found
    mlflow.log_feedback(trace_id=ids["v2-0"], name="correct", value=False, rationale="cites the wrong plan")
    mlflow.log_expectation(trace_id=ids["v2-1"], name="expected_doc_ids", value=[MISSING_DOC])

    path = tmp_path_factory.mktemp("analysis-traces") / "planted.jsonl"
    export_traces(path, experiment=EXPERIMENT)
    if previous is not None:
        setup(previous.tracking_uri, previous.experiment_name)
    return Planted(
        path=path, tracking_uri=session_store, experiment=EXPERIMENT, ids=ids, results=results, failures=failures,
        v1=v1, v2=v2, sessions=sessions,
    )  # fmt: skip


@pytest.fixture(scope="session")
def _empty_store_file(tmp_path_factory) -> Path:
    """An empty, fully migrated MLflow SQLite store, made once (migrations cost seconds; a copy costs none)."""
    from mlflow.tracing.client import TracingClient

    path = tmp_path_factory.mktemp("empty-store") / "mlflow.db"
    _ = TracingClient(f"sqlite:///{path}").store  # creating the store creates the schema
    return path


@pytest.fixture
def fresh_store(_empty_store_file, tmp_path, monkeypatch) -> str:
    """A fresh, empty tracking store for one test (a copy of the migrated template); the configured
    tracking URI points at it during the test and is restored afterwards."""
    import shutil

    import mlflow

    path = tmp_path / "fresh.db"
    shutil.copyfile(_empty_store_file, path)
    uri = f"sqlite:///{path}"
    previous = mlflow.get_tracking_uri()
    monkeypatch.setenv("LLMOPS_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    yield uri
    mlflow.set_tracking_uri(previous)


@pytest.fixture(scope="session")
def planted_set(planted):
    """The planted trace set loaded from its file (the tests must not modify it)."""
    from llmops.analysis import load_file

    return load_file(planted.path)


@pytest.fixture
def cli(monkeypatch):
    """Run ``llmops traces ...`` in-process; returns (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from llmops.cli import app

    monkeypatch.setenv("COLUMNS", "250")
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        result = runner.invoke(app, ["traces", *map(str, args)], catch_exceptions=False)
        return result

    return invoke
