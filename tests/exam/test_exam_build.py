"""Same seed, same kit, byte for byte; another seed, another exam; the students' copy has no answers."""

from __future__ import annotations

import json

import pytest
import yaml

from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[2] / "traces" / "exam-7"  # the shipped kit (seed 7)

FILES = ("traces.jsonl", "questions.yaml", "README.md", "teacher/answer_key.yaml", "teacher/manifest.json")


@pytest.mark.parametrize("name", FILES)
def test_the_shipped_kit_is_rebuilt_byte_for_byte_from_its_seed(rebuilt_kits, name):
    rebuilt = rebuilt_kits[7]
    assert (rebuilt / name).read_bytes() == (SHIPPED / name).read_bytes(), f"{name} differs from the shipped kit"


def test_another_seed_is_another_exam(rebuilt_kits):
    a, b = rebuilt_kits[7], rebuilt_kits[8]
    assert (a / "traces.jsonl").read_bytes() != (b / "traces.jsonl").read_bytes()
    key_a = yaml.safe_load((a / "teacher/answer_key.yaml").read_text())["answers"]
    key_b = yaml.safe_load((b / "teacher/answer_key.yaml").read_text())["answers"]
    assert key_a.keys() == key_b.keys()
    assert [v["value"] for v in key_a.values()] != [v["value"] for v in key_b.values()]
    assert [v["answer"] for v in key_a.values()] != [v["answer"] for v in key_b.values()]


def test_the_kit_holds_the_planted_faults_and_nothing_machine_specific():
    manifest = json.loads((SHIPPED / "teacher/manifest.json").read_text())
    assert set(manifest["planted"]) == {
        "tool_timeout", "retrieval_miss", "schema_breaking_prompt", "hallucinated_citation",
        "rate_limit_retries", "prompt_injection", "redaction_off",
    }  # fmt: skip
    assert manifest["traces"] == 35 and manifest["questions"] >= 20
    text = (SHIPPED / "traces.jsonl").read_text()
    for leak in ("/work/", "/tmp/", "/root/", "site-packages", "mlflow.source.", '"mlflow.user"', "artifactLocation"):
        assert leak not in text, leak
    # The simulated clock: the first session starts on the hour, trace ids come from the seed.
    first = json.loads(text.splitlines()[0])
    assert first["info"]["request_time"].endswith("T09:00:00.000Z")


def test_the_students_copy_has_no_answers(tmp_path):
    from typer.testing import CliRunner

    from llmops.cli import app

    out = tmp_path / "students"
    result = CliRunner().invoke(app, ["exam", "student-copy", str(SHIPPED), str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "questions.yaml", "traces.jsonl"]
    assert "answer" not in (out / "questions.yaml").read_text().lower().split("questions:")[0]
    again = CliRunner().invoke(app, ["exam", "student-copy", str(SHIPPED), str(out)])
    assert again.exit_code == 1 and "already exists" in again.output


def test_the_shipped_key_is_what_the_toolkit_computes_from_the_shipped_traces():
    from llmops.exam.questions import compute_questions

    key = yaml.safe_load((SHIPPED / "teacher/answer_key.yaml").read_text())["answers"]
    questions = compute_questions(SHIPPED / "traces.jsonl", 7)
    assert len(questions) >= 20
    assert {q.id: q.teacher() for q in questions} == key


def test_a_bad_seed_or_folder_fails_with_one_clear_line(tmp_path):
    from typer.testing import CliRunner

    from llmops.cli import app

    result = CliRunner().invoke(app, ["exam", "build", "--seed", "-1", "--out", str(tmp_path / "kit")])
    assert result.exit_code == 1 and "non-negative" in result.output
    assert not (tmp_path / "kit").exists()
