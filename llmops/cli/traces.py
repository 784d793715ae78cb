"""``llmops traces``: trace sets as files (export / import) and their analysis from a file or the store.

Every analysis command reads ``--from FILE`` (a trace file: MLflow trace JSON, one trace per line) or, without
it, the configured tracking store (``--experiment``, default the configured one; ``--filter`` with MLflow's
``search_traces`` syntax). Output is a Rich table for people, or ``--format json|csv`` for scripts (all
columns; the tables show the main ones).

Exit codes: 0 done; 1 an error named on stderr (missing file, unknown trace id, filter MLflow rejects,
empty trace set, unknown experiment); 2 a usage error; 3 done, but damaged lines of the trace file were
skipped (each named on stderr with its line number).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional

import typer
from rich.markup import escape
from rich.table import Table

from llmops.cli.common import console, err_console, fail, user_errors

if TYPE_CHECKING:
    import pandas as pd

    from llmops.analysis.traceset import TraceSet

EXIT_PARTIAL = 3

app = typer.Typer(
    help="Export, import and analyse traces: summary, errors, latency, tools, sessions, tokens, compare, show. "
    "Read --from a trace file, or the tracking store (--experiment, --filter). Exit codes: 0 done, 1 error (one "
    "line on stderr), 2 usage, 3 done but damaged lines of the trace file were skipped.",
    no_args_is_help=True,
)


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


FROM = typer.Option(
    None, "--from", help="Trace file (.jsonl, MLflow trace JSON per line); default: the tracking store."
)
EXPERIMENT = typer.Option(None, "--experiment", "-e", help="Experiment in the store (default: LLMOPS_EXPERIMENT).")
FILTER = typer.Option(
    None, "--filter", "-f", help="MLflow search_traces filter, e.g. \"trace.status = 'ERROR'\" (store only)."
)
FORMAT = typer.Option(Format.table, "--format", help="table for people; json or csv (all columns) for scripts.")
LIMIT = typer.Option(None, "--limit", "-n", min=1, help="Show at most this many rows.")


# ---------------------------------------------------------------------------------------------------------
# shared plumbing
# ---------------------------------------------------------------------------------------------------------


def _warn_problems(problems: list[Any], source: str, loaded: int, what: str = "loaded") -> None:
    for problem in problems[:10]:
        err_console.print(
            f"[yellow]warning:[/] {escape(source)} {escape(str(problem))} - skipped", highlight=False, soft_wrap=True
        )
    if len(problems) > 10:
        err_console.print(f"[yellow]warning:[/] ... and {len(problems) - 10} more bad line(s)", highlight=False)
    if problems:
        err_console.print(
            f"[yellow]warning:[/] {len(problems)} bad line(s) skipped in {escape(source)}; {loaded} trace(s) {what} "
            f"(exit code {EXIT_PARTIAL})",
            highlight=False, soft_wrap=True,
        )  # fmt: skip


@contextmanager
def _trace_set(from_: Optional[Path], experiment: Optional[str], filter_: Optional[str]) -> Iterator[TraceSet]:
    """Load the trace set (one clear line and exit 1 on a user error), warn about skipped lines, and exit
    with code 3 after the command's output when lines were skipped."""
    with user_errors():
        from llmops.analysis.loaders import load

        ts = load(from_, experiment=experiment, filter_string=filter_)
        _warn_problems(ts.problems, str(from_) if from_ else ts.source, len(ts))
        ts.require()
        yield ts
    if ts.problems:
        raise typer.Exit(EXIT_PARTIAL)


def _grouped(compute: Callable[..., Any], ts: TraceSet, by: str) -> tuple[list[str], Any]:
    """The columns of ``--by`` (comma-separated) and ``compute(ts, by=columns)``; an unknown column ends the
    command with one line naming it."""
    keys = [k.strip() for k in by.split(",") if k.strip()]
    with user_errors():
        try:
            return keys, compute(ts, by=keys)
        except KeyError as exc:
            fail(str(exc.args[0]))


def _cell(value: Any, column: str = "") -> str:
    """A value as table text: durations with one decimal, shares and rates as percentages, ids whole."""
    import math

    if value is None:
        return ""
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return ""
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if column.endswith(("_share", "_rate")) or column in ("share", "change", "trace_share", "error_rate"):
            return f"{value:.1%}"
        if column.endswith("_ms"):
            return f"{value:,.1f}"
        if column == "p_value":
            return f"{value:.4f}"
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _emit(
    df: pd.DataFrame,
    fmt: Format,
    *,
    title: str,
    columns: Optional[list[str]] = None,
    limit: Optional[int] = None,
    empty: str = "nothing to show",
    highlight: Optional[str] = None,
) -> None:
    """Print a result: a Rich table of ``columns`` (default: all) or the whole frame as JSON / CSV."""
    if limit:
        df = df.head(limit)
    if fmt is Format.json:
        sys.stdout.write(
            df.to_json(orient="records", date_format="iso", force_ascii=False, indent=2, default_handler=str)
        )
        sys.stdout.write("\n")
        return
    if fmt is Format.csv:
        out = df.copy()
        for column in out.columns:
            if out[column].dtype == object:
                out[column] = out[column].map(lambda v: "|".join(map(str, v)) if isinstance(v, (tuple, list)) else v)
        sys.stdout.write(out.to_csv(index=False))
        return
    if df.empty:
        console.print(empty)
        return
    shown = [c for c in (columns or list(df.columns)) if c in df.columns]
    table = Table(title=title, title_justify="left", show_lines=False)
    for column in shown:
        numeric = df[column].dtype.kind in "iuf" or str(df[column].dtype) in ("Int64", "Float64")
        # ids are copied into the next command: never wrap them
        whole = column.endswith("trace_id") or column == "session_id"
        table.add_column(column, justify="right" if numeric else "left", overflow="fold", no_wrap=whole)
    for _, row in df.iterrows():
        style = "bold" if highlight and bool(row.get(highlight)) else None
        table.add_row(*(escape(_cell(row[c], str(c))) for c in shown), style=style)
    console.print(table)


def _plot_note(path: Path) -> None:
    err_console.print(f"chart written to {escape(str(path))}", highlight=False)


# ---------------------------------------------------------------------------------------------------------
# files <-> store
# ---------------------------------------------------------------------------------------------------------


@app.command("export")
def export(
    out: Path = typer.Option(..., "--out", "-o", help="Trace file to write (.jsonl)."),
    experiment: Optional[str] = EXPERIMENT,
    filter_: Optional[str] = FILTER,
    max_traces: Optional[int] = typer.Option(None, "--max", min=1, help="At most this many traces (oldest first)."),
) -> None:
    """Write traces of the store to a trace file (.jsonl).

    MLflow's trace JSON, one trace per line, with spans, tags, metadata and assessments, oldest first.
    """
    with user_errors():
        from llmops.analysis.io import export_traces

        report = export_traces(out, experiment=experiment, filter_string=filter_, max_traces=max_traces)
    where = f" matching {report.filter_string!r}" if report.filter_string else ""
    console.print(
        f"exported {report.exported} trace(s) of experiment {escape(report.experiment)}{escape(where)} "
        f"from {escape(report.tracking_uri)} to {escape(str(report.path))}",
        highlight=False, soft_wrap=True,
    )  # fmt: skip


@app.command("import")
def import_(
    path: Path = typer.Argument(..., help="Trace file (.jsonl) to import."),
    experiment: Optional[str] = typer.Option(
        None, "--experiment", "-e", help="Experiment to import into (created if needed; default: the file name)."
    ),
) -> None:
    """Import a trace file into the store, as recorded.

    Trace ids, timestamps, spans, tags and assessments are kept, so the MLflow UI shows the traces as they
    were recorded. Traces already there are skipped: importing twice adds nothing.
    """
    with user_errors():
        from llmops.analysis.io import import_traces

        report = import_traces(path, experiment=experiment)
    _warn_problems(report.problems, str(path), report.imported, "imported")
    console.print(
        f"imported {report.imported} trace(s) into experiment {escape(report.experiment)} (id {report.experiment_id}) "
        f"of {escape(report.tracking_uri)}; {len(report.skipped)} already there (skipped)",
        highlight=False, soft_wrap=True,
    )  # fmt: skip
    if report.problems:
        raise typer.Exit(EXIT_PARTIAL)


# ---------------------------------------------------------------------------------------------------------
# analysis
# ---------------------------------------------------------------------------------------------------------


@app.command()
def summary(
    from_: Optional[Path] = FROM, experiment: Optional[str] = EXPERIMENT, filter_: Optional[str] = FILTER,
    fmt: Format = FORMAT,
) -> None:  # fmt: skip
    """The trace set in figures.

    Traces, failures, latency percentiles, LLM calls, tokens, cost, tools, retrieval, problems, prompt
    versions, skipped lines.
    """
    with _trace_set(from_, experiment, filter_) as ts:
        from llmops.analysis.diagnostics import summary as compute

        _emit(compute(ts), fmt, title=f"Summary of {ts.source}")


@app.command()
def errors(
    from_: Optional[Path] = FROM, experiment: Optional[str] = EXPERIMENT, filter_: Optional[str] = FILTER,
    fmt: Format = FORMAT, limit: Optional[int] = LIMIT,
    by: Optional[str] = typer.Option(None, "--by", help="Also group by a trace column: prompt_version, session_id..."),
    each: bool = typer.Option(False, "--each", help="One row per problem (trace, span, message) instead of the taxonomy."),
    failed: bool = typer.Option(False, "--failed", help="One row per failed trace with the category of its failure."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Also write the error Pareto chart (PNG)."),
) -> None:  # fmt: skip
    """The error taxonomy, most frequent first (the error Pareto).

    HTTP errors from the model, timeouts, tool exceptions, invalid structured output, empty retrievals...,
    each counted in the span where it started.
    """
    with _trace_set(from_, experiment, filter_) as ts:
        from llmops.analysis import failures

        if each:
            table = failures.issues(ts)
            columns = ["trace_id", "span_name", "category", "detail", "error_type", "error_message", "trace_status"]
            title = "Problems, one per row"
        elif failed:
            table = failures.failed_traces(ts)
            columns = ["trace_id", "category", "detail", "error_message", "prompt_version", "session_id"]
            title = "Failed traces"
        else:
            table = failures.error_taxonomy(ts, by=by)
            columns = [*([by] if by else []), "category", "detail", "occurrences", "failed_traces", "share",
                       "example_trace_id"]  # fmt: skip
            title = f"Error taxonomy of {ts.source} ({len(ts)} traces)"
        _emit(table, fmt, title=title, columns=columns, limit=limit, empty=f"no problems found in {len(ts)} traces")
        if plot:
            from llmops.analysis.plots import error_pareto

            _plot_note(error_pareto(ts, plot))


@app.command()
def latency(
    from_: Optional[Path] = FROM, experiment: Optional[str] = EXPERIMENT, filter_: Optional[str] = FILTER,
    fmt: Format = FORMAT, limit: Optional[int] = LIMIT,
    by: str = typer.Option("span_type,name", "--by", help="Span columns to group by, comma-separated."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Also write the trace latency histogram (PNG)."),
) -> None:  # fmt: skip
    """Where the time goes: p50/p95/p99 per span type and name.

    Each row's share of trace time is its self time (not covered by a child): the shares add up to 100%, a
    little more when spans run in parallel.
    """
    with _trace_set(from_, experiment, filter_) as ts:
        from llmops.analysis.diagnostics import latency_breakdown

        keys, table = _grouped(latency_breakdown, ts, by)
        _emit(table, fmt, title=f"Latency of {ts.source} ({len(ts)} traces)", limit=limit,
              columns=[*keys, "count", "p50_ms", "p95_ms", "p99_ms", "self_ms", "time_share"])  # fmt: skip
        if plot:
            from llmops.analysis.plots import latency_histogram

            _plot_note(latency_histogram(ts, plot))


@app.command()
def tools(
    from_: Optional[Path] = FROM, experiment: Optional[str] = EXPERIMENT, filter_: Optional[str] = FILTER,
    fmt: Format = FORMAT,
) -> None:  # fmt: skip
    """Tool calls and failure rates, the most failing tool first, with its most frequent error."""
    with _trace_set(from_, experiment, filter_) as ts:
        from llmops.analysis.diagnostics import tool_usage

        _emit(tool_usage(ts), fmt, title="Tools", empty=f"no tool calls in {len(ts)} traces")


@app.command()
def retrieval(
    from_: Optional[Path] = FROM, experiment: Optional[str] = EXPERIMENT, filter_: Optional[str] = FILTER,
    fmt: Format = FORMAT, limit: Optional[int] = LIMIT,
    documents: bool = typer.Option(False, "--documents", help="How often each document was retrieved instead."),
    expected: Optional[str] = typer.Option(None, "--expected", help="Compare with this expectation (doc ids), e.g. expected_doc_ids."),
) -> None:  # fmt: skip
    """Retrieval: calls, empty results, documents per call; or how often each document came back."""
    with _trace_set(from_, experiment, filter_) as ts:
        from llmops.analysis import diagnostics

        if expected:
            _emit(diagnostics.expected_documents(ts, expected), fmt, title=f"Retrieved vs {expected}", limit=limit,
                  empty=f"no expectation named {expected!r} in {len(ts)} traces")  # fmt: skip
        elif documents:
            _emit(
                diagnostics.document_frequency(ts),
                fmt,
                title="Documents retrieved",
                limit=limit,
                empty="no documents retrieved",
            )
        else:
            _emit(
                diagnostics.retrieval_stats(ts), fmt, title="Retrieval", empty=f"no retriever spans in {len(ts)} traces"
            )


@app.command()
def sessions(
    from_: Optional[Path] = FROM, experiment: Optional[str] = EXPERIMENT, filter_: Optional[str] = FILTER,
    fmt: Format = FORMAT, limit: Optional[int] = LIMIT,
) -> None:  # fmt: skip
    """Sessions, the slowest (most total time) first, with where their time went."""
    with _trace_set(from_, experiment, filter_) as ts:
        from llmops.analysis.diagnostics import sessions as compute

        _emit(compute(ts), fmt, title="Sessions", limit=limit,
              columns=["session_id", "traces", "failed", "total_ms", "p95_ms", "llm_calls", "total_tokens",
                       "slowest_trace_id", "slowest_ms", "dominant_span", "dominant_share"])  # fmt: skip


@app.command()
def tokens(
    from_: Optional[Path] = FROM, experiment: Optional[str] = EXPERIMENT, filter_: Optional[str] = FILTER,
    fmt: Format = FORMAT, limit: Optional[int] = LIMIT,
    by: str = typer.Option("model", "--by", help="model, or trace columns such as prompt_name,prompt_version or session_id."),
) -> None:  # fmt: skip
    """Tokens and cost by model, prompt version, session or user; LLM calls per trace."""
    with _trace_set(from_, experiment, filter_) as ts:
        from llmops.analysis.diagnostics import llm_calls, token_usage

        keys, table = _grouped(token_usage, ts, by)
        _emit(table, fmt, title=f"Tokens by {', '.join(keys)}", limit=limit)
        if fmt is Format.table:
            _emit(llm_calls(ts), fmt, title="LLM calls per trace")


@app.command()
def slowest(
    from_: Optional[Path] = FROM, experiment: Optional[str] = EXPERIMENT, filter_: Optional[str] = FILTER,
    fmt: Format = FORMAT, count: int = typer.Option(10, "--limit", "-n", min=1, help="How many traces."),
) -> None:  # fmt: skip
    """The slowest traces with their critical path and its longest step."""
    with _trace_set(from_, experiment, filter_) as ts:
        from llmops.analysis.diagnostics import slowest_traces

        _emit(slowest_traces(ts, count), fmt, title="Slowest traces",
              columns=["trace_id", "duration_ms", "status", "llm_calls", "dominant_step", "dominant_share", "critical_path"])  # fmt: skip


@app.command()
def compare(
    files: Optional[list[Path]] = typer.Argument(None, help="Two trace files: baseline then candidate."),
    from_: Optional[Path] = FROM, experiment: Optional[str] = EXPERIMENT, filter_: Optional[str] = FILTER,
    by: Optional[str] = typer.Option(None, "--by", help="Split one trace set by a trace column, e.g. prompt_version."),
    a_value: Optional[str] = typer.Option(None, "--a", help="With --by: the baseline value (default: the smaller)."),
    b_value: Optional[str] = typer.Option(None, "--b", help="With --by: the candidate value (default: the larger)."),
    alpha: float = typer.Option(0.05, "--alpha", min=0.0, max=1.0, help="Significance level."),
    significant: bool = typer.Option(False, "--significant", help="Only the significant differences."),
    fmt: Format = FORMAT,
) -> None:  # fmt: skip
    """Compare two trace sets and flag the significant differences.

    Two trace files (baseline, candidate), or one set split --by a column such as prompt_version. Tests:
    Mann-Whitney U for latencies and per-trace counts, Fisher's exact or a z test for rates.
    """
    files = files or []
    problems = False
    with user_errors():
        from llmops.analysis.comparison import compare as compute
        from llmops.analysis.loaders import load, load_file

        if files:
            if len(files) != 2 or by or from_:
                fail("give two trace files (baseline, candidate), or one set with --by COLUMN", code=2)
            a, b = load_file(files[0]), load_file(files[1])
            for ts, path in ((a, files[0]), (b, files[1])):
                _warn_problems(ts.problems, str(path), len(ts))
                ts.require()
            label_a, label_b = str(files[0]), str(files[1])
        else:
            if not by:
                fail("give two trace files, or --by COLUMN to split one trace set (e.g. --by prompt_version)", code=2)
            ts = load(from_, experiment=experiment, filter_string=filter_)
            _warn_problems(ts.problems, str(from_) if from_ else ts.source, len(ts))
            ts.require()
            try:
                parts = ts.split(by)
            except KeyError as exc:
                fail(str(exc.args[0]))
            values = list(parts)
            if a_value is None and b_value is None:
                if len(values) != 2:
                    shown = ", ".join(map(str, values)) or "none"
                    fail(f"{by} has {len(values)} value(s) in this set ({shown}); choose two with --a and --b")
                pick_a, pick_b = values
            else:
                by_text = {str(v): v for v in values}
                missing = [v for v in (a_value, b_value) if v is None or v not in by_text]
                if missing:
                    fail(f"--a and --b must both be values of {by}: {', '.join(by_text) or 'none'}")
                pick_a, pick_b = by_text[a_value], by_text[b_value]
            a, b = parts[pick_a], parts[pick_b]
            label_a, label_b = f"{by} = {pick_a}", f"{by} = {pick_b}"
        problems = bool(a.problems or b.problems)
        table = compute(a, b, alpha=alpha)
    if significant:
        table = table[table["significant"]]
    if fmt is Format.table:
        console.print(
            f"A = {escape(label_a)} ({len(a)} traces)   B = {escape(label_b)} ({len(b)} traces)", highlight=False
        )
    _emit(table, fmt, title=f"B vs A (significant at p < {alpha} in bold)", highlight="significant",
          columns=["metric", "kind", "a", "b", "delta", "change", "p_value", "significant"],
          empty="no significant difference")  # fmt: skip
    if problems:
        raise typer.Exit(EXIT_PARTIAL)


@app.command()
def show(
    trace_id: str = typer.Argument(..., help="The trace id (tr-...)."),
    from_: Optional[Path] = FROM,
    width: int = typer.Option(
        160, "--width", "-w", min=0, help="Cut inputs/outputs at this many characters (0: never)."
    ),
    full: bool = typer.Option(False, "--full", help="With --format json: include whole inputs and outputs."),
    fmt: Format = typer.Option(Format.table, "--format", help="table (a tree) or json."),
) -> None:
    """One trace as a tree of spans, like the MLflow UI's trace view.

    Each span with its duration, start offset, status, error and key inputs/outputs (an LLM call's model,
    tokens and tool calls; a tool's arguments and result; a retriever's query and documents).
    """
    with user_errors():
        from llmops.analysis import io, tree

        trace = io.find_trace(from_, trace_id) if from_ else io.get_trace_dict(trace_id)
        limit = width or None
        if fmt is Format.json:
            import json

            sys.stdout.write(
                json.dumps(tree.tree_json(trace, limit=limit, full=full), ensure_ascii=False, indent=2, default=str)
            )
            sys.stdout.write("\n")
        elif fmt is Format.csv:
            fail("show prints a tree: use --format table or json", code=2)
        else:
            console.print(tree.render(trace, limit=limit))
