"""The Module 1 exercise as NB2 runs it: the starter trains and evaluates without MLflow; the solution logs
exactly what the guide says, and the same as `churn train` / `churn evaluate` (run by the Module 2 notebook)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

COURSE = Path(__file__).resolve().parents[2] / "course"
GUIDES = [COURSE / "module1" / "guide.fr.md", COURSE / "module1" / "guide.en.md"]


def logged_per_guide(guide: Path) -> dict[str, dict[str, set[str]]]:
    """The guide's block "what the solution logs": {run name: {params|metrics|datasets|model|artifacts: names}}."""
    block = re.search(r"```text\n(Training_Run\n.*?)```", guide.read_text(), re.S)
    assert block, f"{guide.name} has no ```text block starting with Training_Run (what the solution logs)"
    spec: dict[str, dict[str, set[str]]] = {}
    for line in block.group(1).splitlines():
        if line and not line.startswith(" "):
            run = spec.setdefault(line.strip(), {})
        elif line.strip():
            kind, names = line.strip().split(":", 1)
            run[kind] = {name.strip() for name in names.split(",")}
    return spec


def logged_in_store(db: Path) -> tuple[dict[str, dict[str, set[str]]], float]:
    """What the store's experiment `churn` holds for the default model (logistic regression, C=1.0) and the
    evaluation of that run, in the guide's shape; and that training run's held-out ROC AUC."""
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{db}")
    experiment_id = client.get_experiment_by_name("churn").experiment_id
    runs = client.search_runs([experiment_id])
    training = next(
        r for r in runs
        if r.info.run_name == "Training_Run" and r.data.params.get("model") == "lr" and r.data.params.get("C") == "1.0"
    )  # fmt: skip
    evaluation = next(r for r in runs if r.data.params.get("training_run_id") == training.info.run_id)
    found: dict[str, dict[str, set[str]]] = {}
    for run in (training, evaluation):
        inputs = run.inputs.dataset_inputs if run.inputs else []
        logged = {
            "params": set(run.data.params),
            "metrics": set(run.data.metrics),
            "datasets": {f"{d.dataset.name} ({next(t.value for t in d.tags if t.key == 'mlflow.data.context')})"
                         for d in inputs},  # fmt: skip
        }
        models = client.search_logged_models([experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'")
        if models:
            logged["model"] = {m.name for m in models}
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        if artifacts:
            logged["artifacts"] = artifacts
        found[run.info.run_name] = logged
    return found, training.data.metrics["roc_auc"]


def test_both_guides_list_the_same_logged_names():
    fr, en = (logged_per_guide(guide) for guide in GUIDES)
    assert fr == en
    assert set(fr) == {"Training_Run", "Evaluate_Run"}


def test_starter_trains_and_evaluates_without_mlflow(notebook):
    sources = "".join(p.read_text() for p in (COURSE / "module1" / "starter" / "src").glob("*.py"))
    assert not re.search(r"^\s*(import|from) mlflow", sources, re.M)
    workdir, _ = notebook("nb2_project")
    starter = workdir / "starter"
    assert (starter / "model.joblib").is_file()
    charts = {p.name for p in (starter / "plots").iterdir()}
    assert charts == logged_per_guide(GUIDES[1])["Evaluate_Run"]["artifacts"]
    assert not (starter / "mlflow.db").exists() and not (starter / "mlruns").exists()


def test_solution_logs_what_the_guide_says_like_churn(notebook):
    solution_dir, _ = notebook("nb2_project")
    churn_dir, _ = notebook("module2_mlops")
    solution_db = solution_dir / "solution" / "mlflow.db"
    assert solution_db.is_file() and (solution_dir / "solution" / "mlruns").is_dir()  # where NB2 says they are

    expected = logged_per_guide(GUIDES[0])
    solution, solution_auc = logged_in_store(solution_db)
    churn, churn_auc = logged_in_store(churn_dir / "mlflow.db")
    assert solution == expected
    assert churn == expected
    # Same data, same split, same model: the same held-out ROC AUC (the churn package's feature step computes
    # what ColumnTransformer + OneHotEncoder + StandardScaler compute).
    assert solution_auc == pytest.approx(churn_auc, abs=0.002)
