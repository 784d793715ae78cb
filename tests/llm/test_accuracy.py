"""The offline model's analysis against the gold labels of data/comments.csv (written independently of it)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from llmops.llm.analysis import analyze

COMMENTS = Path(__file__).resolve().parents[2] / "data" / "comments.csv"


@pytest.fixture(scope="module")
def scored() -> list[tuple[dict[str, str], object]]:
    if not COMMENTS.exists():
        pytest.skip("data/comments.csv is not there")
    with COMMENTS.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [(row, analyze(row["text"])) for row in rows]


def _accuracy(pairs) -> float:
    pairs = list(pairs)
    return sum(gold == predicted for gold, predicted in pairs) / len(pairs)


def test_sentiment_and_churn_risk_accuracy(scored):
    sentiment = _accuracy((row["sentiment"], a.sentiment) for row, a in scored)
    churn = _accuracy((row["churn_risk"], a.churn_risk) for row, a in scored)
    assert sentiment >= 0.80, f"sentiment accuracy {sentiment:.3f}"
    assert churn >= 0.70, f"churn-risk accuracy {churn:.3f}"


def test_language_topics_and_reply_need(scored):
    labelled = [(row, a) for row, a in scored if row["language"]]
    language = _accuracy((row["language"], a.language) for row, a in labelled)
    main_topic = sum(a.topics[0] in row["topics"].split("|") for row, a in scored) / len(scored)
    needs_reply = _accuracy((row["needs_reply"], str(a.needs_reply).lower()) for row, a in scored)
    assert language >= 0.95, f"language accuracy {language:.3f}"
    assert main_topic >= 0.85, f"main topic among the gold topics: {main_topic:.3f}"
    assert needs_reply >= 0.80, f"needs_reply accuracy {needs_reply:.3f}"
