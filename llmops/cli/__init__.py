"""The ``llmops`` command: one thin module per command group, each calling the library.

Sub-commands import their heavy dependencies (mlflow, langchain, chromadb) inside the command function, so
``llmops --help`` stays fast.
"""

from __future__ import annotations

import typer

from llmops.cli import analyze, demo, exam, kb, llm, model, prompts, server, traces
from llmops.cli import eval as eval_  # `eval` would shadow the builtin

app = typer.Typer(
    name="llmops",
    help="Observable, versioned and testable LLM applications with MLflow.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command(help=demo.demo.__doc__)(demo.demo)
app.command(help=analyze.analyze.__doc__)(analyze.analyze)
app.add_typer(llm.app, name="llm")
app.add_typer(kb.app, name="kb")
app.add_typer(prompts.app, name="prompts")
app.add_typer(traces.app, name="traces")
app.add_typer(exam.app, name="exam")
app.add_typer(eval_.app, name="eval")
app.add_typer(model.app, name="model")
app.command(help=server.server.__doc__)(server.server)
