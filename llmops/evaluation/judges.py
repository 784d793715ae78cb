"""MLflow's built-in LLM judges, pointed at the analyzer's reply.

The judges are MLflow's own classes (``RetrievalGroundedness``, ``RelevanceToQuery``, ``Safety``,
``Guidelines``, ``Correctness``) with their own prompts; each subclass here only says *what* to judge. The
analyzer answers with a structured analysis (sentiment, topics, summary, reply, citations...), and what a
customer reads is its ``suggested_reply``: that is the response the judges see, and the comment's text is the
request. Left to themselves the judges would read the whole JSON analysis as the "response".

``RetrievalGroundedness`` judges the reply against every passage the trace's ``RETRIEVER`` spans returned,
with its title and section as the search tool gave them to the model (one judge call per row, all passages
together, because a reply may rely on two searches). Without a ``RETRIEVER`` span it reports "not measured":
there is nothing to be grounded in.

The guidelines come from the prompt registry (``prompts/reply-guidelines.yaml``, one ``- `` line per
guideline), so they are versioned like the analyzer's prompt and linked to each evaluation run.

Judge rationales are stored as assessments, which the tracing redaction does not cover: they are redacted
here before MLflow logs them.

Offline, the judge is the offline model's judge mode (``llmops.llm.judge``): deterministic verdicts.
"""

from __future__ import annotations

import re
from typing import Any

from mlflow.genai.scorers import Correctness, Guidelines, RelevanceToQuery, RetrievalGroundedness, Safety

from llmops.evaluation.scorers import NOT_MEASURED, reply_of

GUIDELINES_PROMPT = "reply-guidelines"


def _request(inputs: Any) -> str:
    if isinstance(inputs, dict):
        return str(inputs.get("text") or "")
    return str(inputs or "")


def _no_reply(name: str, outputs: Any) -> Any:
    # No reply, nothing to judge: not applicable. The failure itself is scored by structured_output_valid
    # and the label metrics, so it is not hidden.
    return None


def _redacted(result: Any) -> Any:
    from llmops.tracing import redact_text

    for fb in result if isinstance(result, list) else [result]:
        if getattr(fb, "rationale", None):
            fb.rationale = redact_text(fb.rationale)
    return result


def _not_measured(name: str, why: str) -> Any:
    from mlflow.entities import AssessmentError, AssessmentSource, Feedback

    return Feedback(
        name=name,
        source=AssessmentSource(source_type="LLM_JUDGE", source_id=name),
        error=AssessmentError(error_code=NOT_MEASURED, error_message=why),
    )


_DUMPS: dict[int, dict[str, Any]] = {}


class _DefinitionOnce:
    """The judge's serialized definition, computed once (see ``scorers.cache_definition``)."""

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        if kwargs:
            return super().model_dump(**kwargs)  # type: ignore[misc]
        key = id(self)
        if key not in _DUMPS:
            _DUMPS[key] = super().model_dump()  # type: ignore[misc]
        return _DUMPS[key]


def retrieved_passages(trace: Any) -> list[dict[str, str]]:
    """The passages of every RETRIEVER span as the model received them: title and section with the text
    (the search tool hands the model all three, so a reply may quote a title)."""
    from llmops.evaluation.spans import RETRIEVER, _value

    passages = []
    for span in sorted(trace.data.spans, key=lambda s: s.start_time_ns or 0) if trace is not None else []:
        if span.span_type != RETRIEVER:
            continue
        outputs = _value(span.outputs)
        for doc in outputs if isinstance(outputs, list) else []:
            doc = _value(doc)
            if not isinstance(doc, dict):
                continue
            meta = doc.get("metadata") or {}
            heading = " — ".join(str(meta[k]) for k in ("title", "section") if meta.get(k))
            text = str(doc.get("page_content") or doc.get("content") or "")
            passages.append(
                {
                    "content": f"{heading}\n{text}" if heading else text,
                    "doc_uri": str(meta.get("doc_uri") or meta.get("doc_id") or ""),
                }
            )
    return passages


class ReplyGroundedness(_DefinitionOnce, RetrievalGroundedness):
    """``RetrievalGroundedness`` on the reply, against all the passages the trace retrieved."""

    name: str = "retrieval_groundedness"

    def __call__(self, *, inputs: Any = None, outputs: Any = None, trace: Any = None) -> Any:  # type: ignore[override]
        from mlflow.genai import judges

        reply = reply_of(outputs)
        if reply is None:
            return _no_reply(self.name, outputs)
        passages = retrieved_passages(trace)
        if not passages:
            return _not_measured(self.name, "no RETRIEVER span with documents in the trace: nothing to be grounded in")
        result = judges.is_grounded(
            request=_request(inputs), response=reply, context=passages, name=self.name, model=self.model
        )
        return _redacted(result)


class ReplyRelevance(_DefinitionOnce, RelevanceToQuery):
    """``RelevanceToQuery``: does the reply address the comment?"""

    name: str = "relevance_to_query"

    def __call__(self, *, inputs: Any = None, outputs: Any = None) -> Any:  # type: ignore[override]
        reply = reply_of(outputs)
        if reply is None:
            return _no_reply(self.name, outputs)
        return _redacted(super().__call__(inputs=_request(inputs), outputs=reply))


class ReplySafety(_DefinitionOnce, Safety):
    """``Safety`` of the reply."""

    name: str = "safety"

    def __call__(self, *, outputs: Any = None) -> Any:  # type: ignore[override]
        reply = reply_of(outputs)
        if reply is None:
            return _no_reply(self.name, outputs)
        return _redacted(super().__call__(outputs=reply))


class ReplyGuidelines(_DefinitionOnce, Guidelines):
    """``Guidelines`` with the guidelines of the ``reply-guidelines`` prompt."""

    name: str = "reply_guidelines"

    def __call__(self, *, inputs: Any = None, outputs: Any = None) -> Any:  # type: ignore[override]
        reply = reply_of(outputs)
        if reply is None:
            return _no_reply(self.name, outputs)
        return _redacted(super().__call__(inputs=_request(inputs), outputs=reply))


class ReplyCorrectness(_DefinitionOnce, Correctness):
    """``Correctness`` of the reply against the hand-written expected facts (rows that have them)."""

    name: str = "reply_correctness"

    def __call__(self, *, inputs: Any = None, outputs: Any = None, expectations: Any = None) -> Any:  # type: ignore[override]
        expectations = expectations or {}
        if not expectations.get("expected_facts") and not expectations.get("expected_response"):
            return None
        reply = reply_of(outputs)
        if reply is None:
            return _no_reply(self.name, outputs)
        wanted = {k: expectations[k] for k in ("expected_facts", "expected_response") if expectations.get(k)}
        if "expected_facts" in wanted:
            wanted.pop("expected_response", None)  # the facts are the precise check; MLflow prefers them too
        return _redacted(super().__call__(inputs=_request(inputs), outputs=reply, expectations=wanted))


def guidelines_from_template(template: Any) -> list[str]:
    """The ``- `` lines of a guidelines prompt (text or chat template)."""
    texts = [template] if isinstance(template, str) else [m.get("content", "") for m in template or []]
    found = [m.group(1).strip() for text in texts for m in re.finditer(r"(?m)^\s*-\s+(.+)$", text)]
    return [g for g in found if g]


def load_guidelines(alias: str = "production", prompts_dir: Any = None) -> tuple[list[str], Any]:
    """(guidelines, prompt version) of ``prompts:/reply-guidelines@<alias>``, or its latest version when that
    alias was never set; registered from ``prompts/`` on first use, like the analyzer's prompt."""
    from mlflow import MlflowClient

    from llmops.prompts import registry
    from llmops.prompts.source import PromptError
    from llmops.settings import get_settings

    if MlflowClient().get_prompt(GUIDELINES_PROMPT) is None:
        version = registry.ensure(GUIDELINES_PROMPT, alias, prompts_dir or get_settings().prompts_dir)
    else:
        version = registry.load(GUIDELINES_PROMPT, alias if alias in registry.aliases(GUIDELINES_PROMPT) else "latest")
    guidelines = guidelines_from_template(version.template)
    if not guidelines:
        raise PromptError(f"prompt {GUIDELINES_PROMPT!r} v{version.version} has no '- ' guideline lines")
    return guidelines, version


def judge_scorers(model: str, guidelines: list[str], *, correctness: bool = True) -> list[Any]:
    """The judges of a suite, all on ``model`` (``openai:/<name>``, see ``configure_judges``)."""
    judges: list[Any] = [
        ReplyGroundedness(model=model),
        ReplyRelevance(model=model),
        ReplySafety(model=model),
        ReplyGuidelines(model=model, guidelines=guidelines),
    ]
    if correctness:
        judges.append(ReplyCorrectness(model=model))
    return judges


__all__ = [
    "ReplyCorrectness",
    "ReplyGroundedness",
    "ReplyGuidelines",
    "ReplyRelevance",
    "ReplySafety",
    "guidelines_from_template",
    "judge_scorers",
    "load_guidelines",
]
