"""The record -> replay proof on the analyzer (issue 15).

Record: the ci evaluation's analyzer runs against the offline model (no faults) with tracing on, and its traces
are exported to a trace file (``llmops.analysis.io.export_traces``, what ``llmops traces export`` writes).
Replay: the same evaluation runs again with the analyzer's model replaced by a strict replay of that file — the
offline model's rules are not consulted for any of its requests — and gives the same answers and scores.
The judges are the referee, not the model under test: in both runs they use a separate offline model.

Affordable in CI: 16 rows of the ci suite (the whole suite, 112 rows, takes ~70 s per run on the 2-core CI
machine, twice here): the first four, and the rows the evaluation tests use as their "every kind of row" smoke
suite — PII (0057, 0061, 0099), high churn with a ticket (0093, 0113), an empty comment that must be refused
(0117), a pure injection (0245), a bare "ok" (0005).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SMOKE = ["CMT-0005", "CMT-0057", "CMT-0061", "CMT-0093", "CMT-0099", "CMT-0109", "CMT-0113", "CMT-0117",
         "CMT-0189", "CMT-0213", "CMT-0245", "CMT-0257"]  # fmt: skip
#: Scores that measure the machine, not the answers.
TIMING = {"latency_ms", "latency_p50_ms", "latency_p95_ms", "latency_within_budget"}

pytestmark = pytest.mark.filterwarnings("ignore:Starting with pandas version 4.0")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A private store, index and prompt registry; the evaluation's inputs; environment restored after."""
    import mlflow

    from llmops import tracing
    from llmops.evaluation import datasets
    from llmops.evaluation.config import load_config
    from llmops.llm.server import OfflineLLM

    root = tmp_path_factory.mktemp("replay-proof")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    env = {
        "LLMOPS_TRACKING_URI": uri,
        "MLFLOW_TRACKING_URI": uri,
        "LLMOPS_CHROMA_DIR": str(root / "chroma"),
        "LLMOPS_TICKETS_DB": str(root / "tickets.db"),
        "LLMOPS_PROMPTS_DIR": str(REPO / "prompts"),
        "LLMOPS_DATA_DIR": str(REPO / "data"),
        "LLMOPS_EXPERIMENT": "replay-proof",
        "MLFLOW_GENAI_EVAL_MAX_WORKERS": "2",
    }
    keys = [*env, "LLMOPS_LLM_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENAI_API_BASE"]
    saved = {k: os.environ.get(k) for k in keys}
    previous_uri, previous_setup = mlflow.get_tracking_uri(), tracing.current()
    os.environ.update(env)
    mlflow.set_tracking_uri(uri)
    judge = OfflineLLM(faults="").start()
    try:
        suite = load_config(REPO / "evals.yaml").suite("ci")
        every = datasets.load(REPO / suite.dataset)
        rows = [r for r in every if r.id in SMOKE] + [r for r in every[:6] if r.id not in SMOKE][:4]
        assert len(rows) == 16
        yield root, suite, rows, judge
    finally:
        judge.stop()
        tracing.flush()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if previous_setup is not None:
            tracing.setup(
                previous_setup.tracking_uri, previous_setup.experiment_name, lossless=previous_setup.lossless,
                redaction=previous_setup.redaction, autolog=previous_setup.autolog,
            )  # fmt: skip
        else:
            mlflow.set_tracking_uri(previous_uri)


def _evaluate(world, app_model_url: str, experiment: str):
    """The ci evaluation (code scorers and judges) of ``rows``, the analyzer's model at ``app_model_url``."""
    from llmops.evaluation.judges import judge_scorers, load_guidelines
    from llmops.evaluation.runner import evaluate_alias, prepare
    from llmops.evaluation.scorers import code_scorers
    from llmops.llm.clients import judge_model_uri

    _, suite, rows, judge = world
    os.environ["LLMOPS_LLM_BASE_URL"] = app_model_url
    experiment_id, retriever = prepare(experiment)
    os.environ["OPENAI_BASE_URL"], os.environ["OPENAI_API_KEY"] = judge.base_url, "offline-no-key-needed"
    os.environ.pop("OPENAI_API_BASE", None)
    guidelines, version = load_guidelines()
    scorers = code_scorers(suite.budgets) + judge_scorers(judge_model_uri(), guidelines, correctness=False)
    run = evaluate_alias(
        suite, rows, "production", role="candidate", experiment_id=experiment_id, scorers=scorers,
        guidelines_version=version, retriever=retriever, workers=2,
    )  # fmt: skip
    return run


def _answers(run) -> dict[str, str | None]:
    """Each row's final answer, as its trace stored it."""
    import mlflow

    answers = {}
    for row in run.rows:
        trace = mlflow.get_trace(row.trace_id) if row.trace_id else None
        answers[row.row_id] = trace.data.spans[0].outputs if trace else None
    return {k: str(v) for k, v in answers.items()}


def _scores(run) -> tuple[dict[str, float | None], dict[tuple[str, str], object]]:
    metrics = {name: m.value for name, m in run.metrics.items() if name not in TIMING}
    feedback = {
        (row.row_id, name): (j.value, j.error)
        for row in run.rows
        for name, j in row.feedback.items()
        if name not in TIMING
    }
    return metrics, feedback


@pytest.fixture(scope="module")
def recorded(world):
    """Record: the evaluation against the offline model, its traces exported to a cassette."""
    from llmops.analysis.io import export_traces
    from llmops.llm.server import OfflineLLM

    root = world[0]
    with OfflineLLM(faults="") as model:
        run = _evaluate(world, model.base_url, "proof-record")
    cassette = root / "analyzer.jsonl"
    export_traces(cassette, experiment="proof-record")
    return run, cassette


def test_the_ci_evaluation_replays_from_its_traces_with_identical_answers_and_scores(world, recorded):
    from llmops.llm.server import OfflineLLM

    run, cassette = recorded
    assert not run.analysis_errors or run.analysis_errors == {"empty_text": 1}  # CMT-0117, refused as it must be, run.analysis_errors
    replay = OfflineLLM(faults="", replay=cassette, replay_mode="strict")
    with replay:
        replayed = _evaluate(world, replay.base_url, "proof-replay")

    assert replay.replay is not None
    assert replay.replay.misses == [] and replay.replay.counts["refused"] == 0
    # every model call of the analyzer was answered from the cassette (two or three per non-empty comment)
    assert replay.replay.counts["replayed"] >= 2 * 15
    assert _answers(replayed) == _answers(run)
    metrics, feedback = _scores(replayed)
    recorded_metrics, recorded_feedback = _scores(run)
    assert metrics == recorded_metrics
    changed = {k: (recorded_feedback.get(k), v) for k, v in feedback.items() if recorded_feedback.get(k) != v}
    assert changed == {} and feedback.keys() == recorded_feedback.keys()
    print(f"\nreplayed {replay.replay.counts['replayed']} model calls of 16 ci rows; "
          f"scores identical: {sorted((k, round(v, 3)) for k, v in metrics.items() if v is not None)}")  # fmt: skip


def test_a_changed_prompt_fails_strict_replay_naming_the_changed_message(world, recorded, tmp_path):
    import openai

    from llmops.llm.replay import Cassette
    from llmops.llm.server import OfflineLLM

    _, cassette = recorded
    first = next(r for r in Cassette.load(cassette).recordings if r.endpoint == "chat")
    messages = [{"role": m["role"], "content": m["content"]} for m in first.request["messages"]]
    assert messages[0]["role"] == "system"
    messages[0]["content"] = messages[0]["content"].replace("one to three", "one to five", 1)
    tools = [{"type": "function", "function": t} for t in first.request["tools"]]
    with OfflineLLM(faults="", replay=cassette) as replay:
        client = openai.OpenAI(base_url=replay.base_url, api_key="x", max_retries=0)
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(model=first.request["model"], messages=messages, tools=tools)
    assert caught.value.status_code == 400
    error = caught.value.body
    assert error["code"] == "replay_no_match"
    assert "messages[0] (system) content differs" in error["message"]
    assert "tools" not in error["message"].split("Closest recording")[1]  # only what really differs
    assert "one to three" in error["message"] and "one to five" in error["message"]
    assert first.trace_id in error["message"]  # the closest recording is named
    assert replay.replay is not None and len(replay.replay.misses) == 1
