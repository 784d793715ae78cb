"""The offline model on text nobody here wrote it for: data/eval/unseen/comments.csv (170 US-English telecom
complaint titles, questions and comments, written and labelled before the lexicon was looked at; see its
README). Prints the accuracy next to the one on our own data/comments.csv."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from llmops.llm.analysis import analyze

DATA = Path(__file__).resolve().parents[2] / "data"
UNSEEN = DATA / "eval" / "unseen" / "comments.csv"
REGULATORS = ("fcc", "ftc", "cfpb", "bbb", "better business bureau", "attorney general", "utilities commission")


@pytest.fixture(scope="module")
def unseen() -> list[tuple[dict[str, str], object]]:
    with UNSEEN.open(encoding="utf-8", newline="") as f:
        return [(row, analyze(row["text"])) for row in csv.DictReader(f)]


def test_sentiment_on_the_independent_set_and_on_our_own_data(unseen):
    sentiment = sum(row["sentiment"] == a.sentiment for row, a in unseen) / len(unseen)
    main_topic = sum(row["topic"] == a.main_topic for row, a in unseen) / len(unseen)
    with (DATA / "comments.csv").open(encoding="utf-8", newline="") as f:
        own = [(row, analyze(row["text"])) for row in csv.DictReader(f)]
    own_sentiment = sum(row["sentiment"] == a.sentiment for row, a in own) / len(own)
    print(
        f"\nindependent set ({len(unseen)} rows): sentiment {sentiment:.3f}, main topic {main_topic:.3f}; "
        f"data/comments.csv ({len(own)} rows): sentiment {own_sentiment:.3f}"
    )
    assert sentiment >= 0.80
    assert own_sentiment >= 0.80


def test_a_complaint_to_a_regulator_is_never_positive(unseen):
    filed = [(row, a) for row, a in unseen if any(r in row["text"].lower() for r in REGULATORS)]
    assert len(filed) >= 8
    assert [row["text"] for row, a in filed if a.sentiment == "positive"] == []
    assert analyze("Happy to say the FCC complaint got my refund approved, great outcome").sentiment != "positive"


def test_bare_complaint_titles_are_negative_and_plain_questions_neutral(unseen):
    titles = [(row, a) for row, a in unseen if len(row["text"].split()) <= 4 and row["sentiment"] == "negative"]
    questions = [(row, a) for row, a in unseen if row["text"].endswith("?") and row["sentiment"] == "neutral"]
    assert len(titles) >= 10 and len(questions) >= 15
    title_accuracy = sum(a.sentiment == "negative" for _, a in titles) / len(titles)
    question_accuracy = sum(a.sentiment == "neutral" for _, a in questions) / len(questions)
    print(f"\nbare complaint titles negative {title_accuracy:.2f}, plain questions neutral {question_accuracy:.2f}")
    assert title_accuracy >= 0.8 and question_accuracy >= 0.8
