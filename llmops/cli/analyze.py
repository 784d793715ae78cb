"""``llmops analyze``: run the analyzer over a CSV of comments, with a progress bar and a closing summary."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from llmops.cli.common import console, fail, user_errors


def print_summary(summary: dict, out: Path | None = None) -> None:
    table = Table(title="Batch summary", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("rows", f"{summary['rows']} ({summary['ok']} analysed, {summary['errors']} errors)")
    if summary["error_causes"]:
        table.add_row("error causes", ", ".join(f"{k}: {v}" for k, v in summary["error_causes"].items()))
    table.add_row("sentiment", ", ".join(f"{k} {v}" for k, v in summary["sentiment"].items()))
    table.add_row("churn risk", ", ".join(f"{k} {v}" for k, v in summary["churn_risk"].items()))
    table.add_row("top topics", ", ".join(f"{k} {v}" for k, v in summary["top_topics"].items()))
    high = summary["high_risk_customers"]
    listed = ", ".join(high[:10]) + (" …" if len(high) > 10 else "")
    table.add_row("high-risk customers", f"{len(high)}: {listed}" if high else "none")
    table.add_row("tickets opened", str(summary["tickets_opened"]))
    table.add_row("injections flagged", str(summary["injections_flagged"]))
    table.add_row("latency", f"p50 {summary['latency_p50_ms']} ms, p95 {summary['latency_p95_ms']} ms")
    table.add_row("tokens / cost", f"{summary['tokens']} tokens, ${summary['cost_usd']:.4f}")
    if out is not None:
        table.add_row("results", str(out))
    console.print(table)


def run_analysis(
    input_csv: Path,
    out: Path,
    *,
    concurrency: int,
    limit: int | None,
    resume: bool,
    text_column: str,
    prompt_alias: str,
):
    """Shared by ``analyze`` and ``demo``: set up tracing, run the batch with a progress bar."""
    from llmops.agent.analyzer import Analyzer
    from llmops.agent.batch import read_comments, run_batch
    from llmops.tracing import setup

    comments = read_comments(input_csv, text_column=text_column)
    setup()
    analyzer = Analyzer(prompt_alias=prompt_alias)
    total = min(len(comments), limit) if limit else len(comments)
    with Progress(
        TextColumn("[bold]analysing"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[errors]} errors"),
        TimeElapsedColumn(), console=console, transient=False,
    ) as progress:  # fmt: skip
        task = progress.add_task("analyse", total=total, errors=0)
        errors = 0

        def on_row(row: dict) -> None:
            nonlocal errors
            errors += row["status"] == "error"
            progress.update(task, advance=1, errors=errors)

        report = run_batch(
            comments, out, analyzer, concurrency=concurrency, resume=resume, limit=limit, on_row=on_row
        )
        progress.update(task, completed=total)
    if report.skipped_on_resume:
        console.print(f"resumed: {report.skipped_on_resume} rows were already done in {out}")
    return report


def run_spark_analysis(
    input_csv: Path,
    out: Path,
    *,
    master: str,
    model_uri: str | None,
    limit: int | None,
    resume: bool,
    text_column: str,
    prompt_alias: str,
):
    """``analyze --engine spark``: the analyzer model through ``spark_udf``, one Spark job per wave of rows."""
    from llmops.agent.batch import read_comments
    from llmops.spark import engine
    from llmops.tracing import setup

    comments = read_comments(input_csv, text_column=text_column)
    setup(autolog=False)
    model_uri = engine.resolve_model(model_uri, say=console.print)
    console.print(f"spark: {master}, model {model_uri}")
    spark = engine.spark_session(master)
    report = engine.run_spark(
        comments, out, spark=spark, model_uri=model_uri, resume=resume, limit=limit, prompt_alias=prompt_alias,
        on_wave=lambda done, total: console.print(f"analysed {done}/{total}"),
    )  # fmt: skip
    if report.skipped_on_resume:
        console.print(f"resumed: {report.skipped_on_resume} rows were already done in {out}")
    return report


def analyze(
    input_csv: Path = typer.Argument(..., help="CSV of comments (columns comment_id, customer_id, channel, text)."),
    out: Path = typer.Option(Path("results.csv"), "--out", "-o", help="Where to write one result per row."),
    concurrency: int = typer.Option(4, "--concurrency", "-c", min=1, max=64, help="Comments analysed at once."),
    limit: Optional[int] = typer.Option(None, "--limit", "-n", min=1, help="Only the first N rows."),
    resume: bool = typer.Option(False, "--resume", help="Continue a run that was interrupted."),
    text_column: str = typer.Option("text", "--text-column", help="Column holding the comment text."),
    prompt_alias: str = typer.Option("production", "--prompt-alias", help="Prompt alias to analyse with."),
    engine: str = typer.Option("local", "--engine", help="local (threads) or spark (the analyzer model on Spark)."),
    master: Optional[str] = typer.Option(None, "--master", help="Spark master (spark engine; default local[CONCURRENCY])."),
    model: Optional[str] = typer.Option(
        None, "--model", help="Model URI for the spark engine (default models:/comment-analyzer-model@production)."
    ),
) -> None:
    """Analyse every comment of INPUT_CSV; each row ends as a result or an error record naming its cause."""
    from llmops.tracing import require_stored, stats

    before = stats()
    with user_errors():
        if engine not in ("local", "spark"):
            fail(f"--engine {engine!r}: use local or spark")
        if engine == "spark":
            report = run_spark_analysis(
                input_csv, out, master=master or f"local[{concurrency}]", model_uri=model, limit=limit,
                resume=resume, text_column=text_column, prompt_alias=prompt_alias,
            )  # fmt: skip
        else:
            report = run_analysis(
                input_csv, out, concurrency=concurrency, limit=limit, resume=resume, text_column=text_column,
                prompt_alias=prompt_alias,
            )  # fmt: skip
    print_summary(report.summary, out)
    if report.errors:
        console.print(f"[yellow]{len(report.errors)} rows ended as error records[/] (status=error in {out}).")
    with user_errors():
        require_stored(since=before)  # a trace lost on the way to the store fails the command, by count
