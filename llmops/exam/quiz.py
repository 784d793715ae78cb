"""What every exam kit shares: multiple-choice questions computed from data, their files, printing them.

A question bank is a list of ``(topic, text_en, text_fr, compute)``; ``compute(data, rng)`` returns a
:class:`Computed` (the right value, three distractors from the same data, the evidence and an explanation).
:func:`assemble` numbers the questions, shuffles each one's choices with a seeded RNG and records the key;
:func:`write_quiz` writes the students' ``questions.yaml`` and the teacher's ``teacher/answer_key.yaml``.
The Module 3 kit (:mod:`llmops.exam.questions`, answers from a trace set) and the Module 2 kit
(:mod:`churn.exam`, answers from a tracking store and model registry) both use it, so
:func:`render_questions` and :mod:`llmops.exam.grade` read either.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

import yaml

from llmops.exam.errors import ExamError

LETTERS = ("A", "B", "C", "D")
LANGS = ("en", "fr")
QUESTIONS = "questions.yaml"
TEACHER = "teacher"
KEY = "answer_key.yaml"
MANIFEST = "manifest.json"

DEFAULT_TITLE = {"en": "Module 3 exam: analyse the traces", "fr": "Examen du module 3 : analysez les traces"}

D = TypeVar("D")


@dataclass
class Choice:
    en: str
    fr: str

    @classmethod
    def same(cls, value: Any) -> "Choice":
        return cls(str(value), str(value))


@dataclass
class Computed:
    answer: Choice
    distractors: list[Choice]
    evidence: dict[str, Any]
    explanation_en: str
    explanation_fr: str
    params: dict[str, Any] = field(default_factory=dict)  # filled into the question's text ({trace_id}...)


@dataclass
class Question:
    id: str
    topic: str
    text_en: str
    text_fr: str
    choices: dict[str, Choice]
    key: str
    evidence: dict[str, Any] = field(default_factory=dict)
    explanation_en: str = ""
    explanation_fr: str = ""

    def student(self) -> dict:
        return {
            "id": self.id, "topic": self.topic, "text_en": self.text_en, "text_fr": self.text_fr,
            "choices": {k: {"en": c.en, "fr": c.fr} for k, c in self.choices.items()},
        }  # fmt: skip

    def teacher(self) -> dict:
        return {
            "answer": self.key, "value": self.choices[self.key].en, "evidence": self.evidence,
            "explanation_en": self.explanation_en, "explanation_fr": self.explanation_fr,
        }  # fmt: skip


Bank = list[tuple[str, str, str, Callable[[D, random.Random], Computed]]]


# --------------------------------------------------------------------------------------------------------
# Distractors
# --------------------------------------------------------------------------------------------------------


def pick(rng: random.Random, pool: list[Any], exclude: Any, n: int = 3) -> list[Any]:
    """``n`` distinct values of ``pool`` other than ``exclude``, in a seeded order."""
    seen: list[Any] = []
    for value in pool:
        if value != exclude and value not in seen:
            seen.append(value)
    if len(seen) < n:
        raise ExamError(f"not enough distinct values for distractors (need {n}, have {seen})")
    return rng.sample(seen, n)


def numbers(value: int, rng: random.Random, spread: list[int]) -> list[int]:
    """Three other non-negative integers near ``value`` (``value + d`` for ``d`` in ``spread``)."""
    candidates = sorted({value + d for d in spread if value + d >= 0 and d != 0})
    return rng.sample(candidates, 3)


# --------------------------------------------------------------------------------------------------------
# Assembling and writing a quiz
# --------------------------------------------------------------------------------------------------------


def assemble(bank: Bank, data: D, seed: int) -> list[Question]:
    """Compute every question of ``bank`` from ``data``; choices shuffled by ``seed`` (one RNG per question)."""
    questions = []
    for number, (topic, text_en, text_fr, compute) in enumerate(bank, start=1):
        qid = f"q{number:02d}"
        rng = random.Random(f"{seed}:{qid}")
        result = compute(data, rng)
        options = [result.answer, *result.distractors]
        if len({o.en for o in options}) != 4:
            raise ExamError(f"{qid}: choices are not distinct: {[o.en for o in options]}")
        rng.shuffle(options)
        choices = dict(zip(LETTERS, options))
        key = LETTERS[options.index(result.answer)]
        text_en, text_fr = text_en.format(**result.params), text_fr.format(**result.params)
        questions.append(
            Question(qid, topic, text_en, text_fr, choices, key, plain(result.evidence), result.explanation_en, result.explanation_fr)
        )  # fmt: skip
    return questions


def plain(value: Any) -> Any:
    """Evidence as plain YAML-safe values (numpy scalars and tuples become Python ones)."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else list(v)))


def dump_yaml(data: object) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=110)


def write_quiz(out: Path, seed: int, questions: list[Question], title: dict[str, str] | None = None) -> None:
    """``out/questions.yaml`` (students) and ``out/teacher/answer_key.yaml`` (teacher)."""
    (out / TEACHER).mkdir(parents=True, exist_ok=True)
    head: dict[str, Any] = {"kit": out.name, "seed": seed}
    if title:
        head.update({f"title_{lang}": text for lang, text in title.items()})
    (out / QUESTIONS).write_text(dump_yaml({**head, "questions": [q.student() for q in questions]}), encoding="utf-8")
    (out / TEACHER / KEY).write_text(
        dump_yaml({"kit": out.name, "seed": seed, "answers": {q.id: q.teacher() for q in questions}}), encoding="utf-8"
    )


# --------------------------------------------------------------------------------------------------------
# Reading and printing a kit's questions
# --------------------------------------------------------------------------------------------------------


def _questions_file(kit: Path | str) -> dict:
    path = Path(kit)
    path = path / QUESTIONS if path.is_dir() else path
    if not path.is_file():
        raise ExamError(f"{path} does not exist: give the kit folder (it holds {QUESTIONS})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ExamError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise ExamError(f"{path} has no 'questions' list")
    return data


def load_questions(kit: Path | str) -> list[dict]:
    """The student questions of a kit (``questions.yaml``); :class:`ExamError` naming the problem."""
    return _questions_file(kit)["questions"]


def render_questions(kit: Path | str, lang: str = "en") -> str:
    """The quiz as text, without answers."""
    if lang not in LANGS:
        raise ExamError(f"--lang must be one of {', '.join(LANGS)}, not {lang!r}")
    data = _questions_file(kit)
    title = data.get(f"title_{lang}") or DEFAULT_TITLE[lang]
    lines = [title, "=" * len(title), ""]
    for q in data["questions"]:
        lines.append(f"{q['id']}. {q['text_' + lang]}")
        for letter, choice in q["choices"].items():
            lines.append(f"    {letter}) {choice[lang]}")
        lines.append("")
    return "\n".join(lines)


def student_copy(kit: Path | str, out: Path | str) -> Path:
    """Copy ``kit`` to ``out`` without the teacher's folder (answers and manifest)."""
    kit, out = Path(kit), Path(out)
    if not (kit / QUESTIONS).is_file():
        raise ExamError(f"{kit} is not an exam kit (no {QUESTIONS})")
    if out.exists():
        raise ExamError(f"{out} already exists: choose a new folder for the students' copy")
    shutil.copytree(kit, out, ignore=shutil.ignore_patterns(TEACHER))
    return out
