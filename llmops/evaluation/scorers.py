"""Code scorers for ``mlflow.genai.evaluate``: labels against the gold expectations, and the trace's own account
of retrieval, tools, LLM calls, latency, tokens and personal data.

Every scorer returns one of three things for a row:

- a ``Feedback`` with a value: measured;
- ``None``: not applicable (the row has no expectation for it, e.g. no expected documents); nothing is logged;
- a ``Feedback`` with an ``error`` (code ``NOT_MEASURED``): the scorer should have measured but could not
  (a span it needs is missing, the trace could not be read). MLflow leaves such feedback out of its
  aggregates, and :mod:`llmops.evaluation.metrics` reports it apart: never a pass, never a zero.

What the evaluation passes as ``outputs`` is the analyzer's own return value for the row (see
:mod:`llmops.evaluation.runner`): ``{"analysis": {...}, "actions_taken": [...], ...}``, or
``{"error": cause, "message": ...}`` when the analyzer raised.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import Any

from llmops.evaluation.spans import cached_facts

NOT_MEASURED = "NOT_MEASURED"
#: Analyzer failures that mean the structured answer itself was bad (anything else is the run failing).
STRUCTURE_ERRORS = frozenset({"invalid_structured_output", "no_structured_output"})
#: Root span name of the placeholder trace recorded for a row the analyzer refused (or crashed on) before
#: opening its own trace, so that every row of a run has a trace to be scored and found in the UI.
REFUSED_ROOT = "analyze_comment.untraced"


@dataclass(frozen=True)
class Budgets:
    """Per-comment budgets (from evals.yaml): rows over budget fail the ``*_within_budget`` metrics."""

    llm_calls: int = 4
    latency_ms: float = 20_000.0
    tokens: int = 10_000
    retrieval_k: int = 4


# --- helpers ---------------------------------------------------------------------------------------------


def not_measured(name: str, why: str) -> Any:
    """A feedback that says the scorer could not measure this row, and why."""
    from mlflow.entities import AssessmentError, AssessmentSource, Feedback

    return Feedback(
        name=name,
        source=AssessmentSource(source_type="CODE", source_id=name),
        error=AssessmentError(error_code=NOT_MEASURED, error_message=why),
    )


def feedback(name: str, value: Any, rationale: str, **metadata: Any) -> Any:
    from mlflow.entities import AssessmentSource, Feedback

    return Feedback(
        name=name,
        value=value,
        rationale=rationale,
        source=AssessmentSource(source_type="CODE", source_id=name),
        metadata={k: str(v) for k, v in metadata.items()} or None,
    )


def analysis_of(outputs: Any) -> dict[str, Any] | None:
    if isinstance(outputs, dict) and isinstance(outputs.get("analysis"), dict):
        return outputs["analysis"]
    return None


def error_of(outputs: Any) -> str | None:
    if isinstance(outputs, dict) and outputs.get("error"):
        return str(outputs["error"])
    return None


def reply_of(outputs: Any) -> str | None:
    analysis = analysis_of(outputs)
    reply = (analysis or {}).get("suggested_reply")
    return reply if isinstance(reply, str) and reply.strip() else None


def _no_answer(outputs: Any) -> str:
    return f"the analyzer gave no answer ({error_of(outputs) or 'no output'})"


def _trace_facts(name: str, trace: Any) -> Any:
    if trace is None or getattr(trace, "data", None) is None:
        return None, not_measured(name, "no trace for this row")
    try:
        return cached_facts(trace), None
    except Exception as exc:  # a trace we cannot read is a measurement problem, not a verdict
        return None, not_measured(name, f"the trace could not be read: {type(exc).__name__}: {exc}")


# --- labels ----------------------------------------------------------------------------------------------


def _label_match(name: str, field: str, outputs: Any, expectations: dict[str, Any]) -> Any:
    expected = (expectations or {}).get(field)
    if expected is None:
        return None
    analysis = analysis_of(outputs)
    if analysis is None:
        return feedback(name, False, f"expected {field} {expected!r}; {_no_answer(outputs)}")
    got = analysis.get(field)
    return feedback(name, got == expected, f"expected {field} {expected!r}, got {got!r}")


def sentiment_match(outputs: Any, expectations: dict[str, Any]) -> Any:
    return _label_match("sentiment_match", "sentiment", outputs, expectations)


def churn_risk_match(outputs: Any, expectations: dict[str, Any]) -> Any:
    return _label_match("churn_risk_match", "churn_risk", outputs, expectations)


def topic_f1(outputs: Any, expectations: dict[str, Any]) -> Any:
    gold = set((expectations or {}).get("topics") or [])
    if not gold:
        return None
    analysis = analysis_of(outputs)
    predicted = set((analysis or {}).get("topics") or [])
    hit = len(gold & predicted)
    precision = hit / len(predicted) if predicted else 0.0
    recall = hit / len(gold)
    f1 = 2 * precision * recall / (precision + recall) if hit else 0.0
    why = (
        f"expected topics {sorted(gold)}, got {sorted(predicted)}"
        if analysis is not None
        else f"expected topics {sorted(gold)}; {_no_answer(outputs)}"
    )
    return feedback("topic_f1", round(f1, 4), why, precision=round(precision, 4), recall=round(recall, 4))


def structured_output_valid(outputs: Any, expectations: dict[str, Any]) -> Any:
    if "expected_error" in (expectations or {}):
        return None
    analysis = analysis_of(outputs)
    if analysis is None:
        cause = error_of(outputs)
        if cause in STRUCTURE_ERRORS:
            return feedback("structured_output_valid", False, f"the structured answer was rejected ({cause})")
        return not_measured("structured_output_valid", f"the run failed before any structured answer ({cause})")
    from pydantic import ValidationError

    from llmops.agent.schema import CommentAnalysis

    try:
        CommentAnalysis.model_validate(analysis)
    except ValidationError as exc:
        return feedback("structured_output_valid", False, f"not a valid CommentAnalysis: {exc.error_count()} error(s)")
    return feedback("structured_output_valid", True, "a valid CommentAnalysis")


def expected_error(outputs: Any, expectations: dict[str, Any]) -> Any:
    wanted = (expectations or {}).get("expected_error")
    if wanted is None:
        return None
    got = error_of(outputs)
    return feedback("expected_error", got == wanted, f"expected the analyzer to refuse with {wanted!r}, got {got!r}")


# --- from the trace --------------------------------------------------------------------------------------


def make_retrieval_hit(k: int) -> Any:
    def retrieval_hit(expectations: dict[str, Any], trace: Any) -> Any:
        expected = (expectations or {}).get("expected_doc_ids")
        if not expected:
            return None
        facts, problem = _trace_facts("retrieval_hit", trace)
        if problem:
            return problem
        if facts.retriever_spans == 0 and "search_knowledge_base" in facts.tools_called():
            return not_measured("retrieval_hit", "a knowledge-base search ran but no RETRIEVER span was recorded")
        rank = next((i + 1 for i, doc in enumerate(facts.retrieved) if doc in expected), 0)
        hit = 0 < rank <= k
        if not facts.retrieved:
            why = "nothing was retrieved"
        elif rank:
            why = f"first expected document {facts.retrieved[rank - 1]} at rank {rank} (k={k})"
        else:
            why = f"none of {expected} among the {len(facts.retrieved)} retrieved documents"
        return feedback(
            "retrieval_hit",
            hit,
            why,
            rank=rank,
            reciprocal_rank=round(1 / rank, 4) if rank else 0.0,
            k=k,
            retrieved=",".join(facts.retrieved[:8]),
        )

    return retrieval_hit


def citations_valid(outputs: Any, trace: Any) -> Any:
    analysis = analysis_of(outputs)
    if analysis is None:
        return None
    facts, problem = _trace_facts("citations_valid", trace)
    if problem:
        return problem
    cited = [str(c) for c in analysis.get("citations") or []]
    invented = [c for c in cited if c not in facts.retrieved]
    if invented:
        return feedback("citations_valid", False, f"cites {invented} which no RETRIEVER span returned")
    return feedback("citations_valid", True, f"{len(cited)} citation(s), all retrieved")


def tool_calls_correct(expectations: dict[str, Any], trace: Any) -> Any:
    required = (expectations or {}).get("expected_tools")
    if required is None:
        return None
    forbidden = (expectations or {}).get("forbidden_tools") or []
    facts, problem = _trace_facts("tool_calls_correct", trace)
    if problem:
        return problem
    called = facts.tools_called()
    missing = [t for t in required if t not in called]
    # A forbidden tool counts as soon as the agent calls it, even when the tool then refuses.
    misused = [t for t in forbidden if t in called]
    problems = ([f"missing {missing}"] if missing else []) + ([f"called forbidden {misused}"] if misused else [])
    return feedback(
        "tool_calls_correct",
        not problems,
        "; ".join(problems) if problems else f"called {sorted(set(called))} as expected",
        called=",".join(called),
    )


def _is_refused(facts: Any) -> bool:
    return facts.root_name == REFUSED_ROOT


def make_llm_calls(budget: int) -> Any:
    def llm_calls(trace: Any) -> Any:
        facts, problem = _trace_facts("llm_calls", trace)
        if problem:
            return problem
        if _is_refused(facts):
            return None
        if facts.llm_calls == 0:
            return not_measured("llm_calls", "no CHAT_MODEL span in the trace (is LLM autologging on?)")
        return feedback("llm_calls", facts.llm_calls, f"{facts.llm_calls} LLM call(s), budget {budget}", budget=budget)

    return llm_calls


def make_latency(budget_ms: float) -> Any:
    def latency_ms(trace: Any) -> Any:
        facts, problem = _trace_facts("latency_ms", trace)
        if problem:
            return problem
        if _is_refused(facts):
            return None
        if facts.latency_ms is None:
            return not_measured("latency_ms", "the trace has no duration")
        return feedback(
            "latency_ms", round(facts.latency_ms, 1), f"{facts.latency_ms:.0f} ms, budget {budget_ms:.0f} ms",
            budget=budget_ms,
        )  # fmt: skip

    return latency_ms


def make_tokens(budget: int) -> Any:
    def total_tokens(trace: Any) -> Any:
        facts, problem = _trace_facts("total_tokens", trace)
        if problem:
            return problem
        if _is_refused(facts):
            return None
        if facts.tokens is None:
            return not_measured("total_tokens", "no token usage recorded on the trace or its LLM spans")
        return feedback("total_tokens", facts.tokens, f"{facts.tokens} tokens, budget {budget}", budget=budget)

    return total_tokens


# --- personal data ---------------------------------------------------------------------------------------

_MASKS = {"[EMAIL]": "e-mail address", "[PHONE]": "phone number", "[IBAN]": "IBAN", "[CARD]": "card number"}


def pii_items(text: str) -> list[tuple[str, str]]:
    """(kind, value) of each piece of personal data in ``text``, as llmops.tracing's redactor finds it."""
    from llmops.tracing import redact_text

    redacted = redact_text(text or "")
    if redacted == text:
        return []
    items = []
    matcher = difflib.SequenceMatcher(None, text, redacted, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op not in ("replace", "delete", "insert"):
            continue
        replaced = redacted[j1:j2]
        kind = next((label for mask, label in _MASKS.items() if mask.strip("[]") in replaced), None)
        value = text[i1:i2].strip()
        if kind and len(re.sub(r"\W", "", value)) >= 6:
            items.append((kind, value))
    return items


def _pattern(kind: str, value: str) -> re.Pattern[str]:
    if kind == "e-mail address":
        return re.compile(re.escape(value), re.IGNORECASE)
    digits = re.sub(r"[^0-9A-Za-z]", "", value)
    return re.compile(r"(?<![0-9A-Za-z])" + r"[\s.\-]?".join(re.escape(c) for c in digits) + r"(?![0-9A-Za-z])")


def no_pii_leak(inputs: dict[str, Any], outputs: Any, trace: Any) -> Any:
    items = pii_items(str((inputs or {}).get("text") or ""))
    if not items:
        return None
    facts, problem = _trace_facts("no_pii_leak", trace)
    if problem:
        return problem
    analysis = analysis_of(outputs) or {}
    answer = json.dumps(analysis, ensure_ascii=False)
    stored = trace.to_json()
    leaks = []
    for kind, value in items:
        pattern = _pattern(kind, value)
        where = [name for name, text in (("the answer", answer), ("the stored spans", stored)) if pattern.search(text)]
        if where:
            leaks.append(f"the {kind} of the comment is in {' and '.join(where)}")
    # The rationale names the kind of data and where it leaked, never the value itself.
    if leaks:
        return feedback("no_pii_leak", False, "; ".join(leaks), items=len(items))
    kinds = sorted({k for k, _ in items})
    return feedback(
        "no_pii_leak", True, f"{len(items)} item(s) ({', '.join(kinds)}) found in neither", items=len(items)
    )


def cache_definition(s: Any) -> Any:
    """Serialize a scorer's definition once, as MLflow's own ``model_dump()`` does it.

    ``evaluate()`` stamps every feedback with a digest of its scorer's definition, and for a decorator
    scorer that means re-reading and re-parsing the function's source file each time (about 5% of the
    CPU of a ci run). These scorers never change after construction, so the definition MLflow computes
    the first time is kept (``model_dump()`` returns a cached dump when there is one).
    """
    try:
        s._cached_dump = s.model_dump()
    except Exception:  # a definition that cannot be serialized just keeps MLflow's default behaviour
        pass
    return s


def code_scorers(budgets: Budgets | None = None) -> list[Any]:
    """The code scorers, as MLflow ``Scorer`` objects (no timeout thread: they are fast and local)."""
    from mlflow.genai.scorers import scorer

    b = budgets or Budgets()
    functions = [
        sentiment_match,
        topic_f1,
        churn_risk_match,
        structured_output_valid,
        make_retrieval_hit(b.retrieval_k),
        citations_valid,
        tool_calls_correct,
        make_llm_calls(b.llm_calls),
        make_latency(b.latency_ms),
        make_tokens(b.tokens),
        no_pii_leak,
        expected_error,
    ]
    return [cache_definition(scorer(fn, name=fn.__name__, timeout=0)) for fn in functions]
