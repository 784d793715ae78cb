"""The analyzer against the gold labels of data/comments.csv, with the offline model (issue targets).

The offline model never sees the labels or the comment ids: it reads the same prompt a real model would.
"""

from __future__ import annotations

import csv
from pathlib import Path

from llmops.agent.batch import run_batch

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_sentiment_and_churn_risk_accuracy_on_all_comments(analyzer, comments, tmp_path):
    with (REPO_ROOT / "data" / "comments.csv").open(encoding="utf-8", newline="") as fh:
        gold = {r["comment_id"]: r for r in csv.DictReader(fh)}
    scored = [c for c in comments if c.text.strip()]
    report = run_batch(scored, tmp_path / "results.csv", analyzer, concurrency=4)
    ok = [r for r in report.rows if r["status"] == "ok"]
    assert len(ok) == len(scored), report.summary["error_causes"]
    sentiment = sum(r["sentiment"] == gold[r["comment_id"]]["sentiment"] for r in ok) / len(ok)
    churn = sum(r["churn_risk"] == gold[r["comment_id"]]["churn_risk"] for r in ok) / len(ok)
    print(f"\nsentiment accuracy {sentiment:.3f}, churn-risk accuracy {churn:.3f} over {len(ok)} comments")
    assert sentiment >= 0.80
    assert churn >= 0.70
