"""Every ``llmops`` / ``churn`` command line shown in README.md, the package READMEs and the course guides names a
command and options that exist: a renamed option or command fails here, not in a learner's terminal."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted(
    {REPO / "README.md", *REPO.glob("course/**/guide.*.md"), *REPO.glob("llmops/**/README.md"),
     *REPO.glob("examples/**/README.md")}
)  # fmt: skip


def _shell_blocks(text: str):
    """Lines of the fenced blocks that are shell (```bash, ```sh, ```console or a bare fence)."""
    inside, shell = False, False
    for line in text.splitlines():
        fence = re.match(r"\s*```(\w*)", line)
        if fence:
            inside, shell = (not inside), fence.group(1) in ("", "bash", "sh", "console", "shell")
            continue
        if inside and shell:
            yield line


def _documented_commands() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        joined = re.sub(r"\\\n\s*", " ", "\n".join(_shell_blocks(doc.read_text(encoding="utf-8"))))
        for line in joined.splitlines():
            line = re.split(r"\s+#\s", line.strip(), maxsplit=1)[0].strip()
            for part in line.split("&&"):
                part = part.strip()
                command = re.match(r"(?:uv run )?(llmops|churn)\s+(.*)", part)
                if command and " | " not in part and ">" not in part:
                    found.append((f"{doc.relative_to(REPO)}: {part}", part))
    return found


COMMANDS = _documented_commands()


def _cli(name: str):
    if name == "llmops":
        from llmops.cli import app
    else:
        from churn.cli import app
    return typer.main.get_command(app)


def test_the_docs_show_commands_of_both_clis():
    clis = {re.match(r"(?:uv run )?(\w+)", line).group(1) for _, line in COMMANDS}
    assert clis == {"llmops", "churn"} and len(COMMANDS) > 40  # the extraction finds the docs' command lines


@pytest.mark.parametrize("where, line", COMMANDS, ids=[f"{i}" for i in range(len(COMMANDS))])
def test_a_documented_command_line_parses(where, line):
    words = shlex.split(re.sub(r"\[([^\]]*)\]", r"\1", line))  # [--limit N] is an optional part: check it too
    if words[:2] == ["uv", "run"]:
        words = words[2:]
    command, path = _cli(words[0]), [words[0]]
    args = words[1:]
    # Typer ships its own copy of click: walk its objects by what they have, not by click's classes.
    while hasattr(command, "commands") and args and not args[0].startswith("-"):
        sub = command.commands.get(args[0])
        assert sub is not None, f"{where}: `{' '.join(path)}` has no command {args[0]!r}"
        command, path, args = sub, [*path, args[0]], args[1:]
    ctx = command.context_class(command, info_name=" ".join(path))  # a bare context: no parsing, no callbacks
    try:
        command.make_parser(ctx).parse_args(list(args))  # options and their values only; no file checks
    except Exception as exc:
        if not hasattr(exc, "format_message"):
            raise
        pytest.fail(f"{where}: {exc.format_message()}")
