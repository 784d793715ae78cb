"""``llmops prompts``: prompt files under prompts/ and their versions in the MLflow prompt registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.syntax import Syntax
from rich.table import Table

from llmops.cli.common import console, fail, user_errors

app = typer.Typer(help="Version prompts: push prompts/*.yaml to the registry, promote, roll back, diff.", no_args_is_help=True)

PROMPTS_DIR = typer.Option(None, "--dir", help="Folder of prompt sources (default: prompts/, or LLMOPS_PROMPTS_DIR).")


def _setup() -> None:
    from llmops.tracing import setup

    setup(autolog=False)


@app.command()
def push(
    name: Optional[str] = typer.Argument(None, help="Only this prompt (default: all)."),
    message: Optional[str] = typer.Option(None, "-m", "--message", help="Commit message (default: from the file)."),
    prompts_dir: Optional[Path] = PROMPTS_DIR,
) -> None:
    """Register a new version of each prompt whose content changed (history files first)."""
    with user_errors():
        from llmops.prompts import registry
        from llmops.settings import get_settings

        _setup()
        results = registry.push_all(prompts_dir or get_settings().prompts_dir, name, message)
    for r in results:
        state = "[green]registered[/]" if r.created else "[dim]unchanged[/]"
        console.print(f"{r.name} v{r.version}: {state}  ({r.source})")


@app.command("list")
def list_prompts() -> None:
    """Prompts in the registry with their latest version and aliases."""
    with user_errors():
        from mlflow import MlflowClient

        from llmops.prompts import registry

        _setup()
        prompts = MlflowClient().search_prompts()
        table = Table(title="Prompts")
        for col in ("name", "latest", "aliases", "description"):
            table.add_column(col)
        for p in prompts:
            vs = registry.versions(p.name)
            aliases = registry.aliases(p.name)
            table.add_row(
                p.name, f"v{vs[-1].version}", ", ".join(f"{a}→v{v}" for a, v in sorted(aliases.items())),
                (p.tags or {}).get("description", "")[:60],
            )  # fmt: skip
    console.print(table if prompts else "no prompts registered yet: run `uv run llmops prompts push`")


@app.command()
def show(ref: str = typer.Argument(..., help="NAME, NAME@ALIAS or NAME/VERSION.")) -> None:
    """Print one version: template, model config, response schema, commit message."""
    with user_errors():
        from llmops.prompts import registry

        _setup()
        version = registry.resolve(ref)
    console.print(f"[bold]{version.name}[/] v{version.version}  aliases: {', '.join(version.aliases or []) or '-'}")
    console.print(f"message: {version.commit_message or '-'}")
    console.print(Syntax(registry.render(version), "markdown", word_wrap=True))


@app.command()
def diff(
    name: str = typer.Argument(...),
    a: str = typer.Argument(..., help="Version number or alias."),
    b: str = typer.Argument(..., help="Version number or alias."),
) -> None:
    """A unified diff of two versions or aliases (template and config)."""
    with user_errors():
        from llmops.prompts import registry

        _setup()
        text = registry.diff(name, a, b)
    console.print(Syntax(text, "diff", word_wrap=True) if text else "the two versions are identical")


@app.command()
def promote(
    name: str = typer.Argument(...),
    version: int = typer.Option(..., "--version", "-v", help="Version to promote."),
    to: str = typer.Option(..., "--to", help="staging or production."),
    reason: str = typer.Option("", "--reason", help="Why (recorded in the history)."),
    require_eval: Optional[str] = typer.Option(
        None, "--require-eval", help="Run this evaluation suite on the candidate first; refuse if it fails."
    ),
) -> None:
    """Point an alias at a version (optionally only if it passes an evaluation suite)."""
    with user_errors():
        from llmops.prompts import registry

        _setup()
        if require_eval:
            from llmops.evaluation.promotion import require_suite

            verdict = require_suite(require_eval, name, version)
            if not verdict.passed:
                fail(f"promotion refused: {name} v{version} fails suite {require_eval!r}: {verdict.reason}")
        entry = registry.promote(name, version, to, reason)
    before = f"v{entry['previous']}" if entry["previous"] else "nothing"
    console.print(f"{name}@{to}: {before} → [bold]v{entry['version']}[/]")


@app.command()
def rollback(
    name: str = typer.Argument(...),
    alias: str = typer.Option("production", "--alias"),
    reason: str = typer.Option("", "--reason"),
) -> None:
    """Point an alias back to the version it pointed to before its last move."""
    with user_errors():
        from llmops.prompts import registry

        _setup()
        entry = registry.rollback(name, alias, reason)
    console.print(f"{name}@{alias}: v{entry['previous']} → [bold]v{entry['version']}[/] (rolled back)")


@app.command()
def history(name: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """Versions (who, when, why) and every alias move."""
    with user_errors():
        from llmops.prompts import registry

        _setup()
        data = registry.history(name)
    if as_json:
        console.print_json(json.dumps(data))
        return
    table = Table(title=f"{name}: versions")
    for col in ("version", "created", "by", "aliases", "message"):
        table.add_column(col)
    for v in data["versions"]:
        table.add_row(f"v{v['version']}", v["created"], v["by"] or "-", ", ".join(v["aliases"]), v["message"])
    console.print(table)
    if data["alias_moves"]:
        moves = Table(title=f"{name}: alias moves")
        for col in ("when", "alias", "move", "by", "reason"):
            moves.add_column(col)
        for m in data["alias_moves"]:
            prev = f"v{m['previous']}" if m["previous"] else "-"
            moves.add_row(m["at"], m["alias"], f"{prev} → v{m['version']} ({m['event']})", m["by"], m["reason"])
        console.print(moves)
