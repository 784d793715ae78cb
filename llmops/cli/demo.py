"""``llmops demo``: the README's main command — the whole analyzer, offline, from a fresh clone."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.panel import Panel

from llmops.cli.analyze import print_summary, run_analysis
from llmops.cli.common import console, user_errors


def demo(
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="How many comments to analyse."),
    concurrency: int = typer.Option(4, "--concurrency", "-c", min=1, max=64),
    out: Path = typer.Option(Path("results.csv"), "--out", "-o"),
    prompt_alias: str = typer.Option("production", "--prompt-alias"),
) -> None:
    """Ingest the knowledge base, register the prompts, analyse a sample of comments, show where the traces are."""
    with user_errors():
        from llmops.prompts import registry
        from llmops.rag import ingest
        from llmops.settings import get_settings
        from llmops.tracing import setup

        settings = get_settings()
        setup()
        console.rule("[bold]1. knowledge base")
        report = ingest()
        console.print(
            f"{len(report.added) + len(report.replaced)} documents indexed, {len(report.unchanged)} unchanged "
            f"({report.total_chunks} chunks in {settings.chroma_dir}/)"
        )
        console.rule("[bold]2. prompts")
        for pushed in registry.push_all(settings.prompts_dir):
            console.print(f"{pushed.name} v{pushed.version}: {'registered' if pushed.created else 'unchanged'}")
        if prompt_alias not in registry.aliases("comment-analyzer"):
            newest = registry.versions("comment-analyzer")[-1].version
            registry.promote("comment-analyzer", int(newest), prompt_alias, "demo: first deployment")
        aliases = ", ".join(f"{a}→v{v}" for a, v in sorted(registry.aliases("comment-analyzer").items()))
        console.print(f"comment-analyzer aliases: {aliases}")
        console.rule("[bold]3. analyse comments")
        batch = run_analysis(
            settings.data_dir / "comments.csv", out, concurrency=concurrency, limit=limit, resume=False,
            text_column="text", prompt_alias=prompt_alias,
        )  # fmt: skip
        print_summary(batch.summary, out)
        console.rule("[bold]4. evaluate: the ci suite")
        from llmops.cli.eval import demo_evaluation

        demo_evaluation(prompt_alias)
    uri = settings.tracking_uri
    console.print(
        Panel(
            f"Every comment is one trace in experiment [bold]{settings.experiment_name}[/] of {uri}. Start the UI:\n\n"
            f"  [bold]uv run mlflow ui --backend-store-uri {uri}[/]\n\n"
            "then open http://127.0.0.1:5000, click the experiment and open its [bold]Traces[/] tab. Click a trace to "
            "see the agent, its LLM calls, tool calls and retrieved passages. Traces are grouped by session "
            f"([bold]{batch.session_id}[/] for this run) and user (the customer id). The [bold]Prompts[/] page shows "
            "comment-analyzer, its versions and aliases.",
            title="Look at the traces",
        )
    )
