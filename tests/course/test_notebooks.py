"""Every course notebook runs top to bottom offline, in a folder of its own, and leaves what it teaches."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[2] / "course" / "notebooks"


def printed(executed) -> str:
    """Everything the notebook's cells printed or displayed as text."""
    return "\n".join(
        output.get("text") or output.get("data", {}).get("text/plain", "")
        for cell in executed.cells
        for output in cell.get("outputs", [])
    )


def test_every_notebook_of_the_folder_is_run_by_ci():
    from importlib.util import module_from_spec, spec_from_file_location

    spec = spec_from_file_location("course_run", NOTEBOOKS / "run.py")
    run = module_from_spec(spec)
    spec.loader.exec_module(run)
    assert sorted(run.NOTEBOOKS) == sorted(p.stem for p in NOTEBOOKS.glob("*.py") if p.stem != "run")


def test_nb1_logs_a_run_and_loads_its_model_back(notebook):
    from mlflow import MlflowClient

    workdir, executed = notebook("nb1_mlflow")
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("nb1-decouverte").experiment_id])
    assert run.info.run_name == "premier_run" and run.data.params["C"] == "0.5"
    assert 0.82 < run.data.metrics["roc_auc"] < 0.87
    assert "predictions of the reloaded model: [" in printed(executed)
    assert (workdir / "mlruns").is_dir()


def test_module2_registers_promotes_and_serves(notebook):
    from mlflow import MlflowClient

    workdir, executed = notebook("module2_mlops")
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    model = client.get_registered_model("churn-classifier")
    assert str(model.aliases["staging"]) == "2"  # the challenger is always the staging candidate
    production = client.get_model_version("churn-classifier", model.aliases["production"])
    assert production.tags["promotion.decision"] == "promoted"
    out = printed(executed)
    assert "200 {'predictions': [" in out  # the REST answer for three customers
    assert "400 " in out  # a request without the model's columns is refused


def test_module3_traces_prompts_and_evaluation(notebook):
    from mlflow import MlflowClient

    workdir, executed = notebook("module3_llmops")
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    analyzer = client.get_experiment_by_name("comment-analyzer").experiment_id
    traces = client.search_traces(locations=[analyzer])
    assert len(traces) == 8 and {t.info.state.value for t in traces} == {"OK"}
    assert client.get_prompt_version_by_alias("comment-analyzer", "production").version >= 2
    (evaluation,) = client.search_runs([client.get_experiment_by_name("comment-analyzer-eval").experiment_id])
    assert "sentiment_accuracy" in str(evaluation.data.metrics)
    assert "analyze_comment" in printed(executed)  # the span tree's root
