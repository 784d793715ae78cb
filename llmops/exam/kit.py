"""A kit on disk: the students' files at the top, the teacher's in ``teacher/``.

::

    <kit>/traces.jsonl             the trace set (MLflow trace JSON, one trace per line)
    <kit>/questions.yaml           the quiz, French and English, no answers
    <kit>/README.md                the students' instructions
    <kit>/teacher/answer_key.yaml  answers with evidence (trace ids, figures) and explanations
    <kit>/teacher/manifest.json    seed, versions, what was planted where

``student_copy`` (from :mod:`llmops.exam.quiz`) copies a kit without ``teacher/``.
"""

from __future__ import annotations

import json
from pathlib import Path

from llmops.exam.errors import ExamError
from llmops.exam.quiz import KEY, MANIFEST, QUESTIONS, TEACHER, student_copy, write_quiz
from llmops.exam.scenario import Scenario

__all__ = ["KEY", "MANIFEST", "QUESTIONS", "README", "TEACHER", "TRACES", "student_copy", "write_kit"]

TRACES = "traces.jsonl"
README = "README.md"

def write_kit(out: Path, scenario: Scenario, traces: list[dict], versions: dict[str, str]) -> int:
    """Write every file of the kit; returns the number of questions."""
    from llmops.exam.canonical import dumps
    from llmops.exam.questions import compute_questions

    if out.exists() and not out.is_dir():
        raise ExamError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    (out / TEACHER).mkdir(exist_ok=True)
    trace_file = out / TRACES
    trace_file.write_text("".join(dumps(t) + "\n" for t in traces), encoding="utf-8")
    questions = compute_questions(trace_file, scenario.seed)
    write_quiz(out, scenario.seed, questions)
    ids = {c.comment_id: t["info"]["trace_id"] for c, t in zip(scenario.comments, traces, strict=True)}
    manifest = {
        "kit": out.name,
        "seed": scenario.seed,
        "versions": versions,
        "traces": len(traces),
        "questions": len(questions),
        "sessions": {
            s: [{"comment_id": c.comment_id, "customer_id": c.customer_id, "trace_id": ids[c.comment_id]} for c in cs]
            for s, cs in scenario.by_session().items()
        },
        "planted": {
            "tool_timeout": {"how": "customer back-end raises TimeoutError for one customer (application config)",
                             "customer_id": scenario.timeout_customer, "timeout_s": scenario.tool_timeout_s},
            "retrieval_miss": {"how": "document left out of the index (ingest exclude=[doc])",
                               "doc_id": scenario.missing_doc, "comment_id": scenario.missing_doc_comment,
                               "trace_id": ids[scenario.missing_doc_comment]},
            "schema_breaking_prompt": {"how": "verbose prompt version pushed and promoted to 'staging', serving one session",
                                       "session_id": scenario.canary_session, "alias": "staging"},
            "hallucinated_citation": {"how": "offline model fault hallucination=1 matched on the customer id",
                                      "comment_id": scenario.hallucination_comment,
                                      "trace_id": ids[scenario.hallucination_comment]},
            "rate_limit_retries": {"how": "offline model fault rate_limit, max=2 per customer of one session; "
                                          "the client waits Retry-After (simulated)",
                                   "session_id": scenario.rate_limited_session, "retry_after_s": scenario.retry_after_s},
            "prompt_injection": {"how": "an injection comment from data/comments.csv",
                                 "comment_id": scenario.injection_comment, "trace_id": ids[scenario.injection_comment]},
            "redaction_off": {"how": "tracing.redaction_disabled() around one comment with personal data",
                              "comment_id": scenario.redaction_off_comment,
                              "trace_id": ids[scenario.redaction_off_comment]},
        },
        "fault_spec": scenario.faults_spec(),
        "simulated_clock": "sessions one hour apart from 2026-03-02T09:00Z, comments one minute apart; "
                           "span durations from tokens and fixed tool costs plus planted waits",
    }  # fmt: skip
    (out / TEACHER / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / README).write_text(student_readme(out.name, len(traces), len(questions)), encoding="utf-8")
    return len(questions)


def student_readme(name: str, traces: int, questions: int) -> str:
    return f"""# Module 3 exam — {name}

You are the on-call engineer of Lumea Telecom's comment analyzer (an agent with RAG and three tools, see the
repository's README). Yesterday's run left **{traces} traces** in `traces.jsonl`, in five sessions. Something
went wrong in several of them. Analyse the traces, understand the errors, investigate the runs and answer the
**{questions} multiple-choice questions** of `questions.yaml` (each in English and French).

*Vous êtes d'astreinte sur l'analyseur de commentaires de Lumea Telecom. Analysez les {traces} traces de
`traces.jsonl` et répondez aux {questions} questions de `questions.yaml` (en anglais et en français).*

## 1. Read the questions

```bash
uv run llmops exam questions traces/{name}/ --lang en     # or --lang fr
```

## 2. Load the traces into MLflow and open the UI

```bash
export LLMOPS_TRACKING_URI=sqlite:///exam.db      # a store of its own for the exam
uv run llmops traces import traces/{name}/traces.jsonl --experiment exam
uv run mlflow ui --backend-store-uri sqlite:///exam.db --workers 1     # then http://127.0.0.1:5000
```

In the UI: experiment `exam`, tab **Traces**. Open a trace to see its span tree (agent, LLM calls, tools,
retrieval), each span's inputs, outputs, attributes, events (exceptions) and timing; the trace's tags and
metadata carry the session (`mlflow.trace.session`), the user and the linked prompt version; the
**Assessments** panel shows the expected documents (`expected_doc_ids`) where they are known.

## 3. Commands and APIs that help

```bash
uv run llmops traces summary   --from traces/{name}/traces.jsonl
uv run llmops traces errors    --from traces/{name}/traces.jsonl
uv run llmops traces latency   --from traces/{name}/traces.jsonl
uv run llmops traces sessions  --from traces/{name}/traces.jsonl
uv run llmops traces tools     --from traces/{name}/traces.jsonl
uv run llmops traces retrieval --from traces/{name}/traces.jsonl
uv run llmops traces slowest   --from traces/{name}/traces.jsonl
uv run llmops traces show TRACE_ID --from traces/{name}/traces.jsonl
uv run llmops kb search "..."        # what the full knowledge base would return
```

```python
import mlflow
mlflow.set_tracking_uri("sqlite:///exam.db")
traces = mlflow.search_traces(experiment_names=["exam"], return_type="list")
errors = mlflow.search_traces(experiment_names=["exam"], filter_string="trace.status = 'ERROR'")
trace = mlflow.get_trace("tr-...")        # trace.info, trace.data.spans, trace.info.assessments

from llmops import analysis               # the same questions, as DataFrames
ts = analysis.load_file("traces/{name}/traces.jsonl")
analysis.error_taxonomy(ts); analysis.sessions(ts); analysis.tool_usage(ts); analysis.expected_documents(ts)
```

Times in this trace set come from a simulated clock (the run was replayed, waits included): durations are
meaningful, wall-clock dates are not.

## 4. Answer

Write `answers.yaml`, one line per question, with the letter you choose:

```yaml
q01: B
q02: D
```

Your teacher grades it with `uv run llmops exam grade traces/{name}/ answers.yaml`.
"""
