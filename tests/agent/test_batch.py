"""`llmops analyze` as a user runs it: every row accounted for, resumable, clear errors on bad input."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llmops.agent.batch import InputError, read_comments, run_batch

REPO_ROOT = Path(__file__).resolve().parents[2]


def read_rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_run_accounts_for_every_row_including_empty_ones(analyzer, comments, tmp_path):
    sample = [c for c in comments if not c.text.strip()][:2] + [c for c in comments if c.text.strip()][:10]
    out = tmp_path / "results.csv"
    report = run_batch(sample, out, analyzer, concurrency=4)
    rows = read_rows(out)
    assert sorted(r["comment_id"] for r in rows) == sorted(c.comment_id for c in sample)
    errors = [r for r in rows if r["status"] == "error"]
    assert {r["error_cause"] for r in errors} == {"empty_text"}
    assert all(f"row {r['row']}" in r["error"] for r in errors)
    assert report.summary["rows"] == 12 and report.summary["errors"] == 2
    assert sum(report.summary["sentiment"].values()) == 10


def test_resume_skips_finished_rows_and_redoes_a_torn_line(analyzer, comments, tmp_path):
    sample = [c for c in comments if c.text.strip()][:6]
    out = tmp_path / "results.csv"
    run_batch(sample[:3], out, analyzer, concurrency=2)
    with out.open("a", encoding="utf-8") as fh:  # what kill -9 in the middle of a write leaves behind
        fh.write(f"{sample[3].comment_id},99,CUST-00")
    report = run_batch(sample, out, analyzer, concurrency=2, resume=True)
    rows = read_rows(out)
    assert report.skipped_on_resume == 3
    assert [r["comment_id"] for r in rows].count(sample[3].comment_id) == 1
    assert sorted(r["comment_id"] for r in rows) == sorted(c.comment_id for c in sample)


def test_bad_input_files_get_clear_messages(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_comments(tmp_path / "missing.csv")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,body\n1,hello\n", encoding="utf-8")
    with pytest.raises(InputError, match="no 'text' column; its columns are: id, body.*--text-column"):
        read_comments(wrong)
    assert read_comments(wrong, text_column="body")[0].text == "hello"
    latin = tmp_path / "latin.csv"
    latin.write_bytes("comment_id,text\nA,ok\nB,facture payée\n".encode("latin-1"))
    with pytest.raises(InputError, match="line 3 is not valid UTF-8"):
        read_comments(latin)


def _cli(*args: str, env: dict, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "llmops.cli", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_cli_resume_after_kill_9_neither_redoes_nor_duplicates(tmp_path, kb_index):
    """A real `llmops analyze` process killed with SIGKILL, then resumed."""
    subset = tmp_path / "comments.csv"
    with (REPO_ROOT / "data" / "comments.csv").open(encoding="utf-8", newline="") as src:
        rows = [r for r in csv.DictReader(src) if r["text"].strip()][:16]
    with subset.open("w", encoding="utf-8", newline="") as dst:
        writer = csv.DictWriter(dst, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    env = {
        **os.environ,
        "LLMOPS_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "LLMOPS_CHROMA_DIR": kb_index,
        "LLMOPS_DATA_DIR": str(REPO_ROOT / "data"),
        "LLMOPS_TICKETS_DB": str(tmp_path / "tickets.db"),
        "LLMOPS_OFFLINE_FAULTS": "latency_ms=150",
    }
    env.pop("LLMOPS_LLM_BASE_URL", None)
    out = tmp_path / "results.csv"
    args = ["analyze", str(subset), "--out", str(out), "--concurrency", "2"]
    proc = _cli(*args, env=env, cwd=REPO_ROOT)
    deadline = time.time() + 120
    while time.time() < deadline:
        if out.exists() and len(read_rows(out)) >= 3:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = {r["comment_id"] for r in read_rows(out)}
    assert 3 <= len(done_before) < 16

    resumed = _cli(*args, "--resume", env=env, cwd=REPO_ROOT)
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    final = read_rows(out)
    ids = [r["comment_id"] for r in final]
    assert len(ids) == len(set(ids)) == 16
    assert f"{len(done_before)} rows were already done" in stdout
