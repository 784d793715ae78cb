"""Trace analysis: trace sets as files, traces as tables, diagnostics an exam or an on-call engineer needs.

::

    from llmops import analysis

    ts = analysis.load_file("traces/incident.jsonl")      # or analysis.load_store(experiment, filter)
    analysis.summary(ts)                                  # one row per figure
    analysis.error_taxonomy(ts)                           # HTTP errors, timeouts, tool exceptions...
    analysis.latency_breakdown(ts)                        # p50/p95/p99 and share of trace time per span
    analysis.compare(ts_before, ts_after)                 # what changed, with significance

Every diagnostic is a function of a :class:`TraceSet` returning a pandas DataFrame, sorted deterministically
(ties broken by name or id). Importing this package imports neither pandas nor mlflow; each name is loaded
on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmops._lazy import lazy_exports

_EXPORTS = {
    # io.py: trace files
    "export_traces": "io",
    "import_traces": "io",
    "read_trace_file": "io",
    "find_trace": "io",
    "LineProblem": "io",
    "ExportReport": "io",
    "ImportReport": "io",
    # traceset.py: the tables
    "TraceSet": "traceset",
    "SPAN_COLUMNS": "traceset",
    "TRACE_COLUMNS": "traceset",
    "ASSESSMENT_COLUMNS": "traceset",
    # loaders.py
    "load": "loaders",
    "load_file": "loaders",
    "load_store": "loaders",
    "load_traces": "loaders",
    # failures.py
    "issues": "failures",
    "error_taxonomy": "failures",
    "failed_traces": "failures",
    "ERROR_CATEGORIES": "failures",
    # diagnostics.py
    "summary": "diagnostics",
    "latency_breakdown": "diagnostics",
    "token_usage": "diagnostics",
    "slowest_traces": "diagnostics",
    "critical_path": "diagnostics",
    "tool_usage": "diagnostics",
    "retrieval_stats": "diagnostics",
    "document_frequency": "diagnostics",
    "sessions": "diagnostics",
    "llm_calls": "diagnostics",
    "expected_documents": "diagnostics",
    # comparison.py
    "compare": "comparison",
    # plots.py
    "latency_histogram": "plots",
    "error_pareto": "plots",
    # tree.py
    "span_tree": "tree",
    "SpanNode": "tree",
    # errors.py
    "TraceFileError": "errors",
    "TraceFilterError": "errors",
    "TraceNotFoundError": "errors",
    "EmptyTraceSetError": "errors",
    "ExperimentNotFoundError": "errors",
    "StoreError": "errors",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from llmops.analysis.comparison import compare
    from llmops.analysis.diagnostics import (
        critical_path,
        document_frequency,
        expected_documents,
        latency_breakdown,
        llm_calls,
        retrieval_stats,
        sessions,
        slowest_traces,
        summary,
        token_usage,
        tool_usage,
    )
    from llmops.analysis.errors import (
        EmptyTraceSetError,
        ExperimentNotFoundError,
        StoreError,
        TraceFileError,
        TraceFilterError,
        TraceNotFoundError,
    )
    from llmops.analysis.failures import ERROR_CATEGORIES, error_taxonomy, failed_traces, issues
    from llmops.analysis.io import (
        ExportReport,
        ImportReport,
        LineProblem,
        export_traces,
        find_trace,
        import_traces,
        read_trace_file,
    )
    from llmops.analysis.loaders import load, load_file, load_store, load_traces
    from llmops.analysis.plots import error_pareto, latency_histogram
    from llmops.analysis.traceset import ASSESSMENT_COLUMNS, SPAN_COLUMNS, TRACE_COLUMNS, TraceSet
    from llmops.analysis.tree import SpanNode, span_tree
