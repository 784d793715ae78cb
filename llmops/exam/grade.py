"""Grading: an answers file against a kit's answer key, with the evidence a teacher would give.

Bad input never crashes the grading: an unreadable or malformed answers file, unknown question ids, missing
or invalid answers all end up as notes in the report (and count as wrong where a question is concerned).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from llmops.exam.errors import ExamError
from llmops.exam.quiz import KEY, LETTERS, QUESTIONS, TEACHER, load_questions


@dataclass
class QuestionResult:
    id: str
    given: str | None
    correct: str
    right: bool
    note: str
    evidence: dict[str, Any]
    explanation: str


@dataclass
class GradeReport:
    results: list[QuestionResult]
    notes: list[str] = field(default_factory=list)

    @property
    def score(self) -> int:
        return sum(r.right for r in self.results)

    @property
    def total(self) -> int:
        return len(self.results)

    def text(self, lang: str = "en") -> str:
        lines = [f"Score: {self.score}/{self.total} ({100 * self.score / max(self.total, 1):.0f} %)"]
        for note in self.notes:
            lines.append(f"note: {note}")
        lines.append("")
        for r in self.results:
            mark = "right" if r.right else "wrong"
            given = r.given if r.given is not None else "-"
            lines.append(f"{r.id}: {mark} (answered {given}, correct {r.correct}){' — ' + r.note if r.note else ''}")
            if not r.right:
                lines.append(f"     {r.explanation}")
                lines.append(f"     evidence: {_evidence(r.evidence)}")
        return "\n".join(lines)


def _evidence(evidence: dict[str, Any]) -> str:
    parts = []
    for key, value in evidence.items():
        if isinstance(value, list) and len(value) > 6:
            value = value[:6] + [f"... {len(value) - 6} more"]
        parts.append(f"{key}={value}")
    return "; ".join(parts)


def load_key(kit: Path | str) -> dict[str, dict]:
    path = Path(kit) / TEACHER / KEY
    if not path.is_file():
        raise ExamError(f"{path} does not exist: grading needs the teacher's copy of the kit (with {TEACHER}/{KEY})")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("answers"), dict):
        raise ExamError(f"{path} has no 'answers' mapping")
    return data["answers"]


def _read_answers(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The answers mapping and notes; an unusable file gives an empty mapping and a note saying why."""
    if not path.is_file():
        return {}, [f"answers file {path} does not exist: every question counts as unanswered"]
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1})" if where is not None else ""
        return {}, [f"answers file {path} is not valid YAML{at}: every question counts as unanswered"]
    if data is None:
        return {}, [f"answers file {path} is empty: every question counts as unanswered"]
    if isinstance(data, dict) and isinstance(data.get("answers"), dict):
        data = data["answers"]
    if not isinstance(data, dict):
        return {}, [
            f"answers file {path} must map question ids to letters (e.g. 'q01: B'), not a {type(data).__name__}: "
            "every question counts as unanswered"
        ]
    return {str(k).strip().lower(): v for k, v in data.items()}, []


def grade(kit: Path | str, answers: Path | str, lang: str = "en") -> GradeReport:
    """Grade ``answers`` (YAML ``{q01: B, ...}``) against the kit's key."""
    key = load_key(kit)
    load_questions(Path(kit) / QUESTIONS)  # the kit must be whole
    given, notes = _read_answers(Path(answers))
    unknown = sorted(k for k in given if k not in key)
    if unknown:
        notes.append(f"unknown question id(s) ignored: {', '.join(unknown)} (questions are {min(key)}..{max(key)})")
    results = []
    for qid, entry in key.items():
        raw = given.get(qid)
        correct = entry["answer"]
        note = ""
        letter = None
        if raw is None:
            note = "no answer"
        else:
            letter = str(raw).strip().upper().rstrip(")")
            if letter not in LETTERS:
                note = f"{raw!r} is not one of {', '.join(LETTERS)}"
        right = letter == correct and not note
        results.append(
            QuestionResult(
                id=qid, given=None if raw is None else str(raw), correct=correct, right=right, note=note,
                evidence=entry.get("evidence") or {}, explanation=entry.get(f"explanation_{lang}") or entry.get("explanation_en", ""),
            )
        )  # fmt: skip
    missing = [r.id for r in results if r.given is None]
    if missing and len(missing) < len(results):
        notes.append(f"{len(missing)} question(s) unanswered: {', '.join(missing)}")
    return GradeReport(results=results, notes=notes)
