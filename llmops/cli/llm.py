"""``llmops llm``: serve the offline model, or send it (or the configured endpoint) one chat message."""

from __future__ import annotations

import typer

app = typer.Typer(help="The offline OpenAI-compatible model and the configured chat endpoint.", no_args_is_help=True)
