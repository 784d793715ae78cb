"""The model registry as a user meets it: register -> staging, the ROC AUC gate, its records, rollback, the table,
and the mistakes a user can make. Real training/evaluation runs on the real data, in the session's SQLite store;
every test uses a registered model of its own."""

from __future__ import annotations

import itertools
import json
import re

import pytest

from churn import cli as churn_cli
from churn.errors import ChurnError

_names = itertools.count()



@pytest.fixture(scope="module")
def evaluated(trained, evaluations, session_store) -> dict[str, dict]:
    """The session's LR and RF training runs, evaluated: run ids and held-out ROC AUC of each."""
    from mlflow.tracking import MlflowClient

    out = {}
    for model in ("lr", "rf"):
        evaluation = evaluations[model]
        auc = MlflowClient().get_run(evaluation).data.metrics["roc_auc"]
        out[model] = {"train": trained[model], "evaluation": evaluation, "roc_auc": auc}
    return out


@pytest.fixture
def name(monkeypatch, session_store) -> str:
    """A registered-model name of the test's own, selected for the CLI through CHURN_MODEL_NAME."""
    value = f"churn-classifier-registry-{next(_names)}"
    monkeypatch.setenv("CHURN_MODEL_NAME", value)
    return value


def test_register_promote_refuse_rollback(evaluated, name):
    from mlflow.tracking import MlflowClient

    from churn.register import aliases, promote, register, registry_table, rollback

    client = MlflowClient()
    lr, rf = evaluated["lr"], evaluated["rf"]
    worse, better = sorted((lr, rf), key=lambda m: m["roc_auc"])
    assert better["roc_auc"] > worse["roc_auc"]

    # register: a new version, alias staging, and the evidence on the version
    v1 = register(worse["evaluation"], name=name)
    assert v1 == 1 and aliases(name) == {"staging": 1}
    tags = client.get_model_version(name, "1").tags
    assert tags["evaluation_run_id"] == worse["evaluation"] and tags["training_run_id"] == worse["train"]
    assert float(tags["roc_auc"]) == pytest.approx(worse["roc_auc"], abs=1e-6)

    # nothing in production yet: the first candidate passes
    first = promote("production", name=name)
    assert first.promoted and first.decision == "promoted" and first.current_version is None
    assert "nothing in production yet" in first.reason
    assert aliases(name) == {"staging": 1, "production": 1}

    # a training run id works too (its latest evaluation is registered); the better model takes over
    v2 = register(better["train"], name=name)
    assert v2 == 2 and client.get_model_version(name, "2").tags["evaluation_run_id"] == better["evaluation"]
    second = promote("production", margin=0.0, name=name)
    assert second.promoted and (second.current_version, second.candidate_version) == (1, 2)

    # the worse model again: refused, and why, recorded on the version; production stays
    v3 = register(worse["evaluation"], name=name)
    refused = promote("production", margin=0.0, name=name)
    assert not refused.promoted and refused.decision == "refused"
    assert f"v{v3} ROC AUC {worse['roc_auc']:.4f} < {better['roc_auc']:.4f}" in refused.reason
    assert "v2 stays in production" in refused.reason
    assert aliases(name)["production"] == 2
    recorded = client.get_model_version(name, str(v3)).tags
    assert recorded["promotion.decision"] == "refused"
    assert recorded["promotion.reason"] == refused.reason
    assert recorded["promotion.current_version"] == "2"
    assert float(recorded["promotion.candidate_roc_auc"]) == pytest.approx(worse["roc_auc"], abs=1e-6)
    assert float(recorded["promotion.current_roc_auc"]) == pytest.approx(better["roc_auc"], abs=1e-6)
    assert recorded["promotion.margin"] == "0" and recorded["promotion.by"] and recorded["promotion.at"]

    # a negative margin tolerates a small loss
    tolerated = promote("production", margin=-(better["roc_auc"] - worse["roc_auc"]) - 0.001, name=name)
    assert tolerated.promoted and aliases(name)["production"] == 3

    # promoting what is already in production decides (and records) nothing
    again = promote("production", name=name)
    assert again.unchanged and again.decision == "unchanged" and "already production" in again.reason
    assert client.get_model_version(name, "3").tags["promotion.decision"] == "promoted"

    # the alias history lets rollback walk back: 3 -> 2 -> 1, then there is nothing before
    history = json.loads(client.get_registered_model(name).tags["alias_history.production"])
    assert history == [1, 2, 3]
    assert rollback(name=name) == 2 and aliases(name)["production"] == 2
    assert client.get_model_version(name, "3").tags["rollback.restored_version"] == "2"
    assert rollback(name=name) == 1
    with pytest.raises(ChurnError, match="v1 is the first production version of .* no previous one"):
        rollback(name=name)

    # the table: newest first, aliases, metrics from the evaluation runs, the gate's last word
    rows = registry_table(name)
    assert [row["version"] for row in rows] == [3, 2, 1]
    assert rows[0]["aliases"] == ["staging"] and rows[2]["aliases"] == ["production"]
    assert rows[1]["roc_auc"] == pytest.approx(better["roc_auc"])
    assert (rows[0]["decision"], rows[0]["rolled_back"]) == ("promoted", True)


def test_cli_register_promote_registry_rollback(evaluated, name, monkeypatch):
    from typer.testing import CliRunner

    monkeypatch.setattr(churn_cli.console, "width", 200)
    runner = CliRunner()

    def churn(*args):
        return runner.invoke(churn_cli.app, [str(a) for a in args])

    lr, rf = evaluated["lr"], evaluated["rf"]
    worse, better = sorted((lr, rf), key=lambda m: m["roc_auc"])

    registered = churn("register", "--run-id", better["evaluation"])
    assert registered.exit_code == 0, registered.output
    assert f"Registered {name} v1 -> staging" in registered.stdout
    assert f"held-out ROC AUC {better['roc_auc']:.4f}" in registered.stdout

    promoted = churn("promote", "--to", "production")
    assert promoted.exit_code == 0, promoted.output
    assert "promoted v1 to production: nothing in production yet" in promoted.stdout
    assert "promotion.* tags" in promoted.stdout

    assert churn("register", "--run-id", worse["evaluation"]).exit_code == 0
    refused = churn("promote", "--to", "production", "--margin", "0.001")
    assert refused.exit_code == 1, refused.output  # a gate a CI step can fail on
    assert "refused v2 for production" in refused.stdout
    assert f"{worse['roc_auc']:.4f} < {better['roc_auc'] + 0.001:.4f}" in refused.stdout
    assert "v1 stays in production" in refused.stdout

    table = churn("registry")
    assert table.exit_code == 0, table.output
    line = {int(m.group(1)): m.group(0) for m in re.finditer(r"^\s*v(\d+) .*$", table.stdout, re.M)}
    assert "staging" in line[2] and "refused" in line[2] and f"{worse['roc_auc']:.4f}" in line[2]
    assert "production" in line[1] and "promoted" in line[1] and f"{better['roc_auc']:.4f}" in line[1]
    assert "production history: v1" in table.stdout

    nothing_before = churn("rollback")
    assert nothing_before.exit_code == 1
    assert "v1 is the first production version" in nothing_before.stderr

    assert churn("promote", "--margin", "-1").exit_code == 0  # let v2 in, then take it back
    rolled = churn("rollback")
    assert rolled.exit_code == 0, rolled.output
    assert f"Rolled back {name} production: v2 -> v1" in rolled.stdout
    assert "promoted, rolled back" in churn("registry").stdout


def test_mistakes_get_clear_messages(evaluated, name, session_store):
    import mlflow
    from typer.testing import CliRunner

    from churn.register import promote, register, version_for_alias

    runner = CliRunner()

    with pytest.raises(ChurnError, match=f"no registered model '{name}' in sqlite:.*churn register"):
        promote("production", name=name)

    # registered, but not as staging: nothing to promote
    register(evaluated["lr"]["evaluation"], alias="candidate", name=name)
    result = runner.invoke(churn_cli.app, ["promote", "--to", "production"])
    assert result.exit_code == 1
    assert f"no staging version of {name} to promote (its aliases: candidate -> v1)" in result.stderr
    assert "Traceback" not in result.output

    with pytest.raises(ChurnError, match=f"{name} has no alias 'canary'; its aliases: candidate -> v1"):
        version_for_alias("canary", name)
    with pytest.raises(ChurnError, match="'latest' is not a usable alias"):
        promote("latest", name=name)
    with pytest.raises(ChurnError, match="cannot promote 'staging' onto itself"):
        promote("staging", name=name)

    with pytest.raises(ChurnError, match="no run with id 'nope'"):
        register("nope", name=name)
    # a training run nobody evaluated: the gate would have nothing to compare
    mlflow.set_experiment(f"registry-mistakes-{name}")
    with mlflow.start_run() as run:
        mlflow.set_tag("stage", "train")
    with pytest.raises(ChurnError, match=f"training run {run.info.run_id} has not been evaluated yet.*churn evaluate"):
        register(run.info.run_id, name=name)


def test_margin_from_the_environment(evaluated, name, monkeypatch):
    from typer.testing import CliRunner

    from churn.register import promote, register

    register(evaluated["lr"]["evaluation"], name=name)
    promote(name=name)
    register(evaluated["lr"]["evaluation"], name=name)
    monkeypatch.setenv("CHURN_PROMOTION_MARGIN", "0.5")
    decision = promote(name=name)
    assert not decision.promoted and decision.margin == 0.5 and "margin +0.5000" in decision.reason

    monkeypatch.setenv("CHURN_PROMOTION_MARGIN", "a little")
    result = CliRunner().invoke(churn_cli.app, ["promote"])
    assert result.exit_code == 1
    assert "error: CHURN_PROMOTION_MARGIN='a little' is not a number." in result.stderr
