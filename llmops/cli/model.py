"""``llmops model``: the analyzer as a registered MLflow model (``comment-analyzer-model``), promoted by the gate."""

from __future__ import annotations

from typing import Optional

import typer
from rich.table import Table

from llmops.cli.common import console, fail, user_errors

app = typer.Typer(help="The analyzer as an MLflow model: register, promote through the evaluation gate, list.", no_args_is_help=True)


@app.command()
def register(
    prompt_alias: str = typer.Option("production", "--prompt-alias", help="Prompt alias the model loads at predict time."),
    model_uri: Optional[str] = typer.Option(None, "--model-uri", help="An already logged model (default: log it now)."),
) -> None:
    """Log the analyzer (with its knowledge-base index) and register it as a new version, aliased staging."""
    with user_errors():
        from llmops import serving

        version = serving.register(model_uri, prompt_alias=prompt_alias)
    console.print(f"{serving.MODEL_NAME} v{version} registered → [bold]staging[/]")


@app.command()
def promote(
    version: int = typer.Option(..., "--version", "-v", help="Version to promote."),
    to: str = typer.Option("production", "--to", help="staging or production."),
    require_eval: str = typer.Option("ci", "--require-eval", help="Evaluation suite the version must pass."),
) -> None:
    """Point an alias at a version, only if the analyzer with the version's prompt alias passes the suite."""
    with user_errors():
        from llmops import serving

        decision = serving.promote(version, to, require_eval=require_eval)
    if not decision.promoted:
        fail(f"promotion refused: {serving.MODEL_NAME} v{version} fails suite {require_eval!r}: {decision.reason}")
    before = f"v{decision.previous}" if decision.previous else "nothing"
    console.print(f"{serving.MODEL_NAME}@{to}: {before} → [bold]v{version}[/]")


@app.command("list")
def list_versions() -> None:
    """Versions, aliases, prompt alias and the last gate decision."""
    with user_errors():
        from llmops import serving
        from llmops.tracing import setup

        setup(autolog=False)
        rows = serving.versions()
    if not rows:
        console.print("no model registered yet: run `uv run llmops model register`")
        return
    table = Table(title=serving.MODEL_NAME)
    for col in ("version", "aliases", "prompt alias", "gate", "reason"):
        table.add_column(col)
    for r in rows:
        table.add_row(f"v{r['version']}", ", ".join(r["aliases"]), r["prompt_alias"], r["decision"], r["reason"][:60])
    console.print(table)
