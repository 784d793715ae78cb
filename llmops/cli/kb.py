"""``llmops kb``: build and query the knowledge-base index."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from llmops.cli.common import console, user_errors

app = typer.Typer(help="The knowledge base: ingest data/kb/ into chromadb, search it.", no_args_is_help=True)


@app.command()
def ingest(
    kb_dir: Optional[Path] = typer.Option(None, "--kb", help="Folder of markdown documents (default: data/kb)."),
    exclude: list[str] = typer.Option([], "--exclude", help="Leave this document id out of the index."),
) -> None:
    """Index the knowledge base; unchanged documents are skipped, changed ones replaced."""
    with user_errors():
        from llmops.rag import ingest as run_ingest

        report = run_ingest(kb_dir, exclude=exclude)
    console.print(
        f"[bold]knowledge base[/]: {len(report.added)} added, {len(report.replaced)} replaced, "
        f"{len(report.unchanged)} unchanged, {len(report.removed)} removed; "
        f"{report.chunks_written} chunks written, {report.total_chunks} in the index"
    )


@app.command()
def search(
    query: str = typer.Argument(..., help="What to look for."),
    k: int = typer.Option(4, "-k", min=1, max=20, help="How many passages."),
) -> None:
    """Show the passages the analyzer's retriever would return for QUERY."""
    with user_errors():
        from llmops.rag import Retriever

        retriever = Retriever()
        if len(retriever) == 0:
            from llmops.cli.common import fail

            fail("the knowledge-base index is empty: run `uv run llmops kb ingest` first")
        documents = retriever.search(query, k=k)
    table = Table(title=f"Top {len(documents)} passages for {query!r}")
    table.add_column("score", justify="right")
    table.add_column("doc id")
    table.add_column("section")
    table.add_column("passage", overflow="fold")
    for d in documents:
        text = d.page_content.split("\n", 1)[-1]
        table.add_row(f"{d.metadata['score']:.3f}", d.metadata["doc_id"], d.metadata["section"], text[:240])
    console.print(table)
