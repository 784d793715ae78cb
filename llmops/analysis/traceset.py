"""The trace set: the tables of a set of traces, one row per span (:attr:`TraceSet.spans`), one per trace
(:attr:`TraceSet.traces`), one per assessment (:attr:`TraceSet.assessments`).

Span table columns
    ``trace_id``, ``span_id`` (16 hex digits, as ``Span.span_id``), ``parent_id`` (None for the root),
    ``name``, ``span_type`` (AGENT, CHAIN, CHAT_MODEL, LLM, TOOL, RETRIEVER, ...), ``depth`` (root 0),
    ``start_time`` (UTC), ``start_ns``/``end_ns`` (epoch ns), ``offset_ms`` (from the trace's first span),
    ``duration_ms``, ``self_ms`` (duration not covered by any child: where the time was really spent),
    ``status`` (OK, ERROR, UNSET), ``error_type`` and ``error_message`` (from the exception event, else the
    status message), ``http_status`` (a model's HTTP error code, e.g. 429), ``is_llm_call`` (the outermost
    model span of a call: in traces made with MLflow's autologs alone, LangChain's ``ChatOpenAI`` wrapping the
    OpenAI client's ``Completions`` is *one* call; ``llmops.tracing.setup()`` records only the outer span), ``model``, ``input_tokens``/``output_tokens``/``total_tokens`` (on LLM-call rows only, so a sum
    never counts a call twice), ``invalid_output`` (LLM-call rows whose own output carries tool-call arguments
    that are not valid JSON: the structured answer was broken), ``tool_name`` (TOOL rows), ``retrieved_doc_ids`` (tuple, RETRIEVER
    rows, first-seen order), ``retrieved_count`` (documents returned, 0 = empty retrieval), ``query``
    (RETRIEVER rows), and the trace's ``prompt_name``, ``prompt_version``, ``session_id``, ``user_id``.

Trace table columns
    ``trace_id``, ``experiment_id``, ``name``, ``start_time``, ``duration_ms``, ``status`` (OK, ERROR,
    IN_PROGRESS), ``session_id``, ``user_id``, ``prompt_name``, ``prompt_version`` (the first prompt version
    linked to the trace), ``spans``, ``llm_calls``, ``tool_calls``, ``tool_errors``, ``error_spans``,
    ``input_tokens``, ``output_tokens``, ``total_tokens``, ``cost_usd`` (the ``llmops.cost_usd`` metadata,
    NaN when absent), ``error_cause`` (the analyzer's ``llmops.error_cause``, else the root exception type of
    a failed trace), ``error_message``, ``retrieved_doc_ids`` (tuple), ``actions_taken``,
    ``unsupported_citations`` (tuples), ``injection_suspected`` (the analyzer's root attributes, None when
    absent), ``request`` (the request preview, at most 300 characters).

Assessment table columns
    ``trace_id``, ``assessment_id``, ``name``, ``kind`` (feedback / expectation), ``value`` (decoded JSON),
    ``source_type``, ``source_id``, ``span_id``, ``rationale``, ``error``, ``valid``, ``created``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmops.analysis.errors import EmptyTraceSetError
from llmops.analysis.io import LineProblem

if TYPE_CHECKING:
    import pandas as pd

SPAN_COLUMNS = (
    "trace_id", "span_id", "parent_id", "name", "span_type", "depth", "start_time", "start_ns", "end_ns",
    "offset_ms", "duration_ms", "self_ms", "status", "error_type", "error_message", "http_status", "is_llm_call",
    "model", "input_tokens", "output_tokens", "total_tokens", "invalid_output", "tool_name", "retrieved_doc_ids",
    "retrieved_count", "query", "prompt_name", "prompt_version", "session_id", "user_id",
)  # fmt: skip
TRACE_COLUMNS = (
    "trace_id", "experiment_id", "name", "start_time", "duration_ms", "status", "session_id", "user_id",
    "prompt_name", "prompt_version", "spans", "llm_calls", "tool_calls", "tool_errors", "error_spans",
    "input_tokens", "output_tokens", "total_tokens", "cost_usd", "error_cause", "error_message",
    "retrieved_doc_ids", "actions_taken", "unsupported_citations", "injection_suspected", "request",
)  # fmt: skip
ASSESSMENT_COLUMNS = (
    "trace_id", "assessment_id", "name", "kind", "value", "source_type", "source_id", "span_id", "rationale",
    "error", "valid", "created",
)  # fmt: skip


@dataclass
class TraceSet:
    """The tables of a set of traces, where they came from, and the input lines that were skipped."""

    spans: pd.DataFrame
    traces: pd.DataFrame
    assessments: pd.DataFrame
    source: str = ""
    problems: list[LineProblem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.traces)

    def __repr__(self) -> str:
        return f"TraceSet({len(self.traces)} traces, {len(self.spans)} spans from {self.source or 'memory'})"

    def require(self) -> TraceSet:
        """Self, or :class:`EmptyTraceSetError` naming the source when there is no trace."""
        if len(self.traces) == 0:
            raise EmptyTraceSetError(f"no traces in {self.source or 'this trace set'}: nothing to analyse")
        return self

    def subset(self, trace_ids: Iterable[str], label: str | None = None) -> TraceSet:
        """The traces with these ids (and their spans and assessments), in this set's order."""
        ids = set(trace_ids)
        return TraceSet(
            spans=self.spans[self.spans.trace_id.isin(ids)].reset_index(drop=True),
            traces=self.traces[self.traces.trace_id.isin(ids)].reset_index(drop=True),
            assessments=self.assessments[self.assessments.trace_id.isin(ids)].reset_index(drop=True),
            source=label or self.source,
            problems=list(self.problems),
        )

    def where(self, mask: Any, label: str | None = None) -> TraceSet:
        """The traces selected by a boolean mask over :attr:`traces`, e.g. ``ts.where(ts.traces.status == "OK")``."""
        return self.subset(self.traces.loc[mask, "trace_id"], label)

    def split(self, column: str) -> dict[Any, TraceSet]:
        """One trace set per value of a trace column (``prompt_version``, ``session_id``...), in sorted
        value order; traces where the column is empty are left out."""
        if column not in self.traces.columns:
            raise KeyError(f"no trace column {column!r}; columns: {', '.join(self.traces.columns)}")
        values = self.traces[column].dropna()
        out: dict[Any, TraceSet] = {}
        for value in sorted(values.unique(), key=_sort_key):
            out[value] = self.where(self.traces[column] == value, f"{self.source} [{column} = {value}]")
        return out

    def trace(self, trace_id: str) -> pd.Series:
        """The row of one trace; :class:`TraceNotFoundError` when it is not in the set."""
        from llmops.analysis.errors import TraceNotFoundError

        rows = self.traces[self.traces.trace_id == trace_id]
        if rows.empty:
            raise TraceNotFoundError(
                f"trace {trace_id} is not in {self.source or 'this trace set'} ({len(self)} traces)"
            )
        return rows.iloc[0]


def _sort_key(value: Any) -> tuple:
    """Numbers in numeric order (numpy's too: version 10 after 9), then everything else as text."""
    return (0, float(value), "") if isinstance(value, numbers.Real) else (1, 0.0, str(value))
