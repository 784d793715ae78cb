"""``llmops exam``: build a Module 3 exam kit, print its quiz, grade an answers file."""

from __future__ import annotations

from pathlib import Path

import typer

from llmops.cli.common import console, fail, user_errors

app = typer.Typer(help="Module 3 exam kits: planted faults in real traces, a bilingual quiz, grading.", no_args_is_help=True)


@app.command()
def build(
    seed: int = typer.Option(..., "--seed", help="Same seed, same kit (byte for byte); another seed, another exam."),
    out: Path = typer.Option(..., "--out", help="Kit folder to write, e.g. traces/exam-7/."),
) -> None:
    """Run the analyzer over a scenario with planted faults and write the kit (traces, quiz, answer key)."""
    with user_errors():
        from llmops.exam.build import build_kit

        report = build_kit(seed, out)
    console.print(
        f"[bold]exam kit[/] {report.out}: {report.traces} traces, {report.questions} questions "
        f"(seed {report.seed}, {report.seconds:.1f} s)\n"
        f"students get everything but {report.out}/teacher/ "
        f"(`llmops exam student-copy {report.out} OUT` copies it without the answers)",
        highlight=False,
    )


@app.command()
def questions(
    kit: Path = typer.Argument(..., help="Kit folder (holds questions.yaml)."),
    lang: str = typer.Option("en", "--lang", help="fr or en."),
) -> None:
    """Print the quiz, without answers."""
    with user_errors():
        from llmops.exam.quiz import render_questions

        text = render_questions(kit, lang)
    console.print(text, highlight=False, markup=False, soft_wrap=True)


@app.command()
def grade(
    kit: Path = typer.Argument(..., help="Kit folder, teacher's copy (with teacher/answer_key.yaml)."),
    answers: Path = typer.Argument(..., help="YAML file mapping question ids to letters: 'q01: B'."),
    lang: str = typer.Option("en", "--lang", help="Language of the feedback: fr or en."),
) -> None:
    """Print the score and, per question, right or wrong with the evidence."""
    if lang not in ("en", "fr"):
        fail(f"--lang must be fr or en, not {lang!r}")
    with user_errors():
        from llmops.exam.grade import grade as run_grade

        report = run_grade(kit, answers, lang)
    console.print(report.text(lang), highlight=False, markup=False, soft_wrap=True)


@app.command("student-copy")
def student_copy(
    kit: Path = typer.Argument(..., help="Kit folder (teacher's copy)."),
    out: Path = typer.Argument(..., help="New folder for the students: the kit without teacher/."),
) -> None:
    """Copy a kit without its answer key and manifest."""
    with user_errors():
        from llmops.exam.quiz import student_copy as copy

        path = copy(kit, out)
    console.print(f"students' copy in {path} (no teacher/ folder)", highlight=False)
