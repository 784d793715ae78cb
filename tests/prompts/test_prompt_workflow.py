"""The prompt workflow an engineer follows: files in prompts/, versions and aliases in the registry."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmops.cli import app
from llmops.prompts import PromptError, load_source, registry

REPO_PROMPTS = Path(__file__).resolve().parents[2] / "prompts"
runner = CliRunner()


@pytest.fixture
def prompts_dir(tmp_path) -> Path:
    target = tmp_path / "prompts"
    shutil.copytree(REPO_PROMPTS, target)
    return target


def run(*args: str):
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_fresh_store_gets_the_shipped_history_and_push_is_idempotent(tmp_store, prompts_dir):
    code, out = run("prompts", "push", "--dir", str(prompts_dir))
    assert code == 0, out
    assert "comment-analyzer v1: registered" in out and "comment-analyzer v2: registered" in out
    assert [int(v.version) for v in registry.versions("comment-analyzer")] == [1, 2]

    code, out = run("prompts", "push", "--dir", str(prompts_dir))
    assert code == 0 and "registered" not in out.replace("unchanged", "")
    assert len(registry.versions("comment-analyzer")) == 2

    code, out = run("prompts", "diff", "comment-analyzer", "1", "2")
    assert code == 0
    assert "+Topic guide" in out and "-commit" not in out


def test_changed_file_makes_a_new_version_with_its_message(tmp_store, prompts_dir):
    registry.push_all(prompts_dir)
    path = prompts_dir / "comment-analyzer.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("short suggested reply", "brief suggested reply"))
    code, out = run("prompts", "push", "comment-analyzer", "--dir", str(prompts_dir), "-m", "shorter replies")
    assert code == 0 and "v3: registered" in out
    v3 = registry.resolve("comment-analyzer/3")
    assert v3.commit_message == "shorter replies"
    assert "brief suggested reply" in registry.render(v3)


def test_promote_and_rollback_move_aliases_and_record_why(tmp_store, prompts_dir):
    registry.push_all(prompts_dir)
    assert run("prompts", "promote", "comment-analyzer", "--version", "1", "--to", "production")[0] == 0
    code, out = run("prompts", "promote", "comment-analyzer", "-v", "2", "--to", "production", "--reason", "better topics")
    assert code == 0 and "v1 → v2" in out
    assert registry.resolve("comment-analyzer@production").version == 2

    code, out = run("prompts", "rollback", "comment-analyzer", "--alias", "production")
    assert code == 0, out
    assert registry.resolve("comment-analyzer@production").version == 1

    hist = registry.history("comment-analyzer")
    moves = [(m["event"], m["previous"], m["version"]) for m in hist["alias_moves"] if m["alias"] == "production"]
    assert moves == [("promote", None, 1), ("promote", 1, 2), ("rollback", 2, 1)]
    assert any(m["reason"] == "better topics" for m in hist["alias_moves"])
    code, out = run("prompts", "history", "comment-analyzer")
    assert code == 0 and "better topics" in out and "v2" in out


def test_show_accepts_alias_and_version_references(tmp_store, prompts_dir):
    registry.push_all(prompts_dir)
    registry.promote("comment-analyzer", 2, "staging")
    code, out = run("prompts", "show", "comment-analyzer@staging")
    assert code == 0 and "v2" in out and "Topic guide" in out
    code, out = run("prompts", "show", "comment-analyzer/1")
    assert code == 0 and "Topic guide" not in out


@pytest.mark.parametrize(
    "args, message",
    [
        (("prompts", "show", "no-such-prompt"), "'no-such-prompt' is not registered"),
        (("prompts", "show", "comment-analyzer/9"), "has no version 9"),
        (("prompts", "show", "comment-analyzer@canary"), "has no alias 'canary'"),
        (("prompts", "promote", "comment-analyzer", "-v", "1", "--to", "prod"), "use one of staging, production"),
        (("prompts", "rollback", "comment-analyzer"), "has no alias 'production'"),
    ],
)
def test_unknown_prompt_version_or_alias_is_a_clear_error(tmp_store, prompts_dir, args, message):
    registry.push_all(prompts_dir)
    code, out = run(*args)
    assert code == 1
    assert message in " ".join(out.split())
    assert "Traceback" not in out


def test_invalid_files_register_nothing(tmp_store, prompts_dir):
    broken = prompts_dir / "broken.yaml"
    broken.write_text("name: broken\nvariables: [x]\n", encoding="utf-8")
    code, out = run("prompts", "push", "--dir", str(prompts_dir))
    assert code == 1 and "broken.yaml: missing field(s) template" in " ".join(out.split())
    from mlflow import MlflowClient

    assert MlflowClient().get_prompt("comment-analyzer") is None  # nothing half-registered

    broken.write_text("name: broken\nvariables: [x]\ntemplate: 'Hello {{ y }}'\n", encoding="utf-8")
    with pytest.raises(PromptError, match="used but not declared: y; declared but not used: x"):
        load_source(broken)


def test_a_missing_variable_is_named_when_formatting(tmp_store, prompts_dir):
    registry.push_all(prompts_dir)
    version = registry.resolve("comment-analyzer/2")
    with pytest.raises(Exception, match="comment"):
        version.format(customer_id="CUST-0001", channel="email")
