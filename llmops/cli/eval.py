"""``llmops eval``: run an evaluation suite and gate on it (exit 0 pass, 1 threshold/regression, 2 usage error)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from llmops.cli.common import console, err_console, fail
from llmops.errors import UserError

app = typer.Typer(
    help="Evaluate the analyzer on a suite of evals.yaml with mlflow.genai; exit 1 on a failed threshold or a "
    "regression against --baseline, 2 on a usage error.",
    invoke_without_command=True,
    no_args_is_help=False,
)

USAGE = 2


def _usage_errors():
    from contextlib import contextmanager

    @contextmanager
    def guard():
        try:
            yield
        except UserError as exc:
            fail(str(exc), code=USAGE)

    return guard()


@app.callback()
def run(
    ctx: typer.Context,
    suite: str | None = typer.Option(None, "--suite", "-s", help="Suite of evals.yaml: ci or full."),
    prompt_alias: str = typer.Option("production", "--prompt-alias", help="Prompt version to evaluate (alias)."),
    baseline: str | None = typer.Option(
        None, "--baseline", help="Also evaluate this alias on the same rows; a metric worse than it fails."
    ),
    fail_under: list[str] = typer.Option(
        [], "--fail-under", help="NAME=VALUE: add or override a threshold for this run (repeatable)."
    ),
    config: Path = typer.Option(Path("evals.yaml"), "--config", help="Suites and thresholds."),
    report: Path = typer.Option(Path("eval-report.md"), "--report", help="Markdown report to write."),
    junit: Path = typer.Option(Path("eval-junit.xml"), "--junit", help="JUnit XML report to write."),
    experiment: str | None = typer.Option(None, "--experiment", help="MLflow experiment (default: <experiment>-eval)."),
    workers: int = typer.Option(4, "--workers", min=1, max=32, help="Comments analysed at once."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N rows (a quick look)."),
) -> None:
    """Run a suite, print the metrics against their thresholds, write eval-report.md and a JUnit XML file."""
    if ctx.invoked_subcommand is not None:
        return
    if suite is None:
        fail("missing --suite (a suite of evals.yaml, e.g. --suite ci)", code=USAGE)
    with _usage_errors():
        from llmops.evaluation.config import load_config, parse_fail_under

        cfg = load_config(config)
        cfg.suite(suite)  # unknown suite: a usage error before anything heavy
        overrides = parse_fail_under(fail_under)
    with _usage_errors():
        from llmops.evaluation.report import write
        from llmops.evaluation.runner import run_suite

        result = run_suite(
            suite, prompt_alias=prompt_alias, baseline=baseline, fail_under=overrides, config=cfg,
            experiment=experiment, workers=workers, limit=limit,
            on_progress=lambda message: err_console.print(f"[dim]{message}[/]", highlight=False),
        )  # fmt: skip
        written = write(result, report, junit)
    print_report(result)
    console.print("reports: " + ", ".join(str(p) for p in written))
    import gc

    # Everything is written. Python's final garbage collection over MLflow's, LangChain's and chromadb's
    # objects costs ~3 s at exit; frozen objects are skipped (atexit hooks still run).
    gc.freeze()
    raise typer.Exit(result.exit_code)


def print_report(result) -> None:
    from llmops.evaluation.gate import FAIL, NOT_APPLICABLE, NOT_MEASURED, PASS

    c, b = result.candidate, result.baseline
    title = f"suite {result.suite.name}: {c.prompt_name}@{c.alias} v{c.prompt_version}"
    if b is not None:
        title += f" vs {b.alias} v{b.prompt_version}"
    table = Table(title=title)
    for col in ("metric", "value", "measured", "threshold"):
        table.add_column(col, justify="right" if col != "metric" else "left")
    if b is not None:
        table.add_column(b.alias, justify="right")
        table.add_column("Δ", justify="right")
    table.add_column("status")
    for m in result.metrics:
        total = m.value.measured + m.value.not_measured
        measured = "n/a" if not total else f"{m.value.measured}/{total}"
        if m.regressed:
            status = "[bold red]REGRESSED[/]"
        else:
            status = {
                PASS: "[green]pass[/]", FAIL: "[bold red]FAIL[/]", NOT_MEASURED: "[yellow]not measured[/]",
                NOT_APPLICABLE: "[dim]n/a[/]",
            }.get(m.status, "")  # fmt: skip
        cells = [m.name, m.spec.format(m.value.value), measured, m.bound or ""]
        if b is not None:
            cells += [
                m.spec.format(m.baseline.value if m.baseline else None),
                "" if m.delta is None else f"{m.delta:+.3f}",
            ]
        table.add_row(*cells, status)
    # CI logs are not terminals (80 columns): keep the table readable there.
    console.print(table, width=max(console.width, 130))
    if b is not None and result.changed_rows:
        console.print(f"{len(result.changed_rows)} row verdict(s) changed vs {b.alias} (all in the report), e.g.:")
        for r in result.changed_rows[:10]:
            console.print(
                f"  {r.row_id} {r.feedback}: {'pass' if r.before else 'fail'} → {'pass' if r.after else 'fail'}  "
                f"traces {r.baseline_trace} → {r.candidate_trace}",
                highlight=False,
                soft_wrap=True,
            )
    console.print(
        f"MLflow run {c.run_id} (experiment {c.experiment_id}), traces stored {c.traces_stored}/{c.traces_expected}, "
        f"{result.timings.get('wall_s', 0):.1f} s",
        highlight=False,
        soft_wrap=True,
    )
    if result.passed:
        console.print("[bold green]PASSED[/]")
    else:
        console.print("[bold red]FAILED[/]")
        for reason in result.reasons:
            console.print(f"  - {reason}", highlight=False, soft_wrap=True)


@app.command("build-datasets")
def build_datasets(
    out: Path = typer.Option(Path("data/eval"), "--out", help="Folder for ci.jsonl and full.jsonl."),
    check: bool = typer.Option(False, "--check", help="Only check that the files are up to date (exit 1 if not)."),
) -> None:
    """Rebuild data/eval/{ci,full}.jsonl from data/comments.csv and the curated expectations."""
    with _usage_errors():
        from llmops.evaluation import datasets
        from llmops.settings import get_settings

        settings = get_settings()
        sets = datasets.build(settings.data_dir / "comments.csv", settings.data_dir / "kb")
        if check:
            stale = [
                name for name, rows in sets.items()
                if not (out / f"{name}.jsonl").is_file()
                or (out / f"{name}.jsonl").read_text(encoding="utf-8") != "".join(r.to_json() + "\n" for r in rows)
            ]  # fmt: skip
            if stale:
                fail(f"out of date: {', '.join(stale)} (run `uv run llmops eval build-datasets`)", code=1)
            console.print("evaluation sets are up to date")
            return
        paths = datasets.write(sets, out)
    for name, path in paths.items():
        console.print(f"{path}: {len(sets[name])} rows")


@app.command("register-datasets")
def register_datasets(
    suite: list[str] = typer.Option(["ci", "full"], "--suite", help="Suites to register (repeatable)."),
    config: Path = typer.Option(Path("evals.yaml"), "--config"),
    experiment: str | None = typer.Option(None, "--experiment", help="MLflow experiment (default: <experiment>-eval)."),
) -> None:
    """Register the suites' rows as MLflow GenAI evaluation datasets (comment-analyzer-<suite>)."""
    with _usage_errors():
        from llmops.evaluation import datasets
        from llmops.evaluation.config import load_config
        from llmops.settings import get_settings
        from llmops.tracing import setup

        cfg = load_config(config)
        chosen = [cfg.suite(name) for name in suite]
        done = setup(experiment=experiment or f"{get_settings().experiment_name}-eval", autolog=False)
        for s in chosen:
            rows = datasets.load(s.dataset)
            dataset = datasets.register(f"comment-analyzer-{s.name}", rows, done.experiment_id)
            console.print(f"comment-analyzer-{s.name}: {len(rows)} records (dataset {dataset.dataset_id})")


def demo_evaluation(prompt_alias: str = "production", config: Path = Path("evals.yaml"), suite: str = "ci") -> None:
    """The last step of ``llmops demo``: the ci suite on the prompt the demo just used, with its verdict.

    Skipped (with a word) outside a checkout, where there is no evals.yaml; a failing gate is reported, not
    turned into a failing demo.
    """
    if not config.is_file():
        console.print(f"no {config} here: run `uv run llmops eval --suite {suite}` from the repository to evaluate")
        return
    try:
        from llmops.evaluation.report import write
        from llmops.evaluation.runner import run_suite

        result = run_suite(
            suite, prompt_alias=prompt_alias, config=config,
            on_progress=lambda message: err_console.print(f"[dim]{message}[/]", highlight=False),
        )  # fmt: skip
        written = write(result, "eval-report.md", "eval-junit.xml")
    except UserError as exc:
        console.print(f"evaluation skipped: {exc}", highlight=False)
        return
    from llmops.settings import get_settings

    print_report(result)
    console.print(
        "reports: " + ", ".join(str(p) for p in written) + ". In the MLflow UI: experiment "
        f"[bold]{get_settings().experiment_name}-eval[/], its [bold]Evaluations[/] tab; every trace carries one "
        "assessment per scorer.",
        highlight=False,
    )
