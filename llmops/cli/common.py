"""What every command group shares: the console and the way user errors end a command."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import typer
from rich.console import Console

from llmops.errors import UserError

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the library's user-facing errors into one clear line and a non-zero exit."""
    try:
        yield
    except UserError as exc:
        fail(str(exc))
