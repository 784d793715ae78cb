"""Printing the quiz and grading answers files, good or bad: a score and notes, never a crash."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from llmops.cli import app
from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[2] / "traces" / "exam-7"  # the shipped kit (seed 7)

runner = CliRunner()


def _key() -> dict:
    return yaml.safe_load((SHIPPED / "teacher/answer_key.yaml").read_text())["answers"]


def _grade(tmp_path, content: str | bytes, *extra: str):
    path = tmp_path / "answers.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return runner.invoke(app, ["exam", "grade", str(SHIPPED), str(path), *extra])


@pytest.mark.parametrize(("lang", "expected"), [("en", "Which tool fails most often"), ("fr", "Quel outil échoue")])
def test_questions_print_in_french_or_english_without_answers(lang, expected):
    result = runner.invoke(app, ["exam", "questions", str(SHIPPED), "--lang", lang])
    assert result.exit_code == 0, result.output
    assert expected in result.output
    assert result.output.count("    A) ") >= 20 and "q20." in result.output
    key = _key()
    for leak in ("evidence", key["q01"]["explanation_en"], key["q01"]["explanation_fr"]):
        assert leak not in result.output


def test_questions_with_an_unknown_language_or_kit_fail_clearly(tmp_path):
    bad_lang = runner.invoke(app, ["exam", "questions", str(SHIPPED), "--lang", "de"])
    assert bad_lang.exit_code == 1 and "--lang must be one of" in bad_lang.output
    no_kit = runner.invoke(app, ["exam", "questions", str(tmp_path)])
    assert no_kit.exit_code == 1 and "questions.yaml" in no_kit.output


def test_all_right_answers_score_100(tmp_path):
    result = _grade(tmp_path, yaml.safe_dump({q: v["answer"] for q, v in _key().items()}))
    n = len(_key())
    assert result.exit_code == 0 and f"Score: {n}/{n} (100 %)" in result.output


def test_wrong_answers_get_the_evidence_a_teacher_would_give(tmp_path):
    key = _key()
    answers = {q: ("A" if v["answer"] != "A" else "B") for q, v in key.items()}
    answers["q01"] = key["q01"]["answer"]
    result = _grade(tmp_path, yaml.safe_dump(answers))
    assert result.exit_code == 0
    assert f"Score: 1/{len(key)}" in result.output
    assert "q01: right" in result.output and "q02: wrong" in result.output
    # the evidence names trace ids and figures
    assert "evidence:" in result.output and "tr-" in result.output
    french = _grade(tmp_path, yaml.safe_dump(answers), "--lang", "fr")
    assert "appels d'outil" in french.output


def test_unknown_ids_missing_and_invalid_answers_are_noted(tmp_path):
    key = _key()
    answers = {q: v["answer"] for q, v in key.items()}
    del answers["q03"]
    answers["q04"] = "E"
    answers["q99"] = "A"
    answers["Q05"] = key["q05"]["answer"].lower()  # ids and letters are case-insensitive
    del answers["q05"]
    result = _grade(tmp_path, yaml.safe_dump(answers))
    n = len(key)
    assert result.exit_code == 0, result.output
    assert f"Score: {n - 2}/{n}" in result.output
    assert "unknown question id(s) ignored: q99" in result.output
    assert "q03: wrong (answered -" in result.output and "no answer" in result.output
    assert "'E' is not one of A, B, C, D" in result.output


@pytest.mark.parametrize(
    ("content", "note"),
    [
        ("q01: [B\nq02: C\n", "is not valid YAML"),
        ("- B\n- C\n", "must map question ids to letters"),
        ("", "is empty"),
        (b"\xff\xfe\x00garbage", "is not valid YAML"),
    ],
)
def test_a_malformed_answers_file_is_graded_zero_with_a_note(tmp_path, content, note):
    result = _grade(tmp_path, content)
    assert result.exit_code == 0, result.output
    assert f"Score: 0/{len(_key())}" in result.output and note in result.output


def test_a_missing_answers_file_or_a_students_copy_cannot_crash_grading(tmp_path):
    missing = runner.invoke(app, ["exam", "grade", str(SHIPPED), str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 0 and "does not exist" in missing.output
    copy = tmp_path / "students"
    runner.invoke(app, ["exam", "student-copy", str(SHIPPED), str(copy)])
    no_key = runner.invoke(app, ["exam", "grade", str(copy), str(tmp_path / "nope.yaml")])
    assert no_key.exit_code == 1 and "teacher" in no_key.output
