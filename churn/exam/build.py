"""Build a Module 2 exam kit: the real pipeline, run five times into a fresh store, then the quiz on that store.

::

    <kit>/mlflow.db                 the tracking store and model registry (SQLite)
    <kit>/mlartifacts/              the runs' artifacts: models, charts (the experiment's artifact location)
    <kit>/questions.yaml            the quiz, French and English, no answers
    <kit>/README.md                 the students' instructions
    <kit>/teacher/answer_key.yaml   answers with evidence (run ids, versions, figures) and explanations
    <kit>/teacher/manifest.json     seed, versions of the tools, what each run was and what the gate decided

Each candidate of :func:`churn.exam.scenario.candidates` goes through :func:`churn.pipeline.pipeline` without
serving: train -> evaluate -> register (``staging``) -> promote (the ROC AUC gate, margin 0). The same seed
gives the same runs, metrics, versions and decisions (training is seeded), so the same questions and key;
run ids and dates are MLflow's own and differ from build to build.

MLflow stores artifact locations as absolute paths: the kit works where it was built. Build it in the
folder the learners will use (it takes about a minute), or rebuild it there from the seed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from llmops.exam.errors import ExamError

EXPERIMENT = "churn"
MODEL = "churn-classifier"
MARGIN = 0.0
ARTIFACTS = "mlartifacts"
README = "README.md"


@dataclass
class BuildReport:
    out: Path
    seed: int
    runs: int
    versions: int
    production: int
    questions: int
    seconds: float


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ExamError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        raise ExamError(
            f"{out} is not empty: a kit's store must hold only the kit's runs. Choose a new folder "
            "(or remove this one if it is an old kit you no longer need)."
        )


def build_kit(seed: int, out: Path | str, data: Path | str | None = None) -> BuildReport:
    """Build the kit of ``seed`` into ``out`` (a new or empty folder); ``data`` as for ``churn train``."""
    import mlflow

    from churn import loader
    from churn.errors import ChurnError
    from churn.exam.questions import TITLE, compute_questions, store_uri
    from churn.exam.scenario import candidates
    from churn.pipeline import pipeline
    from llmops.exam.quiz import MANIFEST, TEACHER, write_quiz

    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ExamError(f"the seed must be a non-negative integer, not {seed!r}")
    out = Path(out)
    _check_out(out)
    started = time.perf_counter()
    df = loader.load(data)  # a bad data file fails here, before anything is written
    out.mkdir(parents=True, exist_ok=True)
    uri = store_uri(out)
    previous = mlflow.get_tracking_uri()
    runs = []
    try:
        client = mlflow.MlflowClient(uri, registry_uri=uri)
        client.create_experiment(EXPERIMENT, artifact_location=(out / ARTIFACTS).resolve().as_uri())
        for candidate in candidates(seed):
            summary = pipeline(
                candidate.params, data=data, experiment=EXPERIMENT, tracking_uri=uri, name=MODEL, margin=MARGIN, serve=False
            )
            runs.append(
                {
                    "slot": candidate.slot, "params": candidate.params.to_log(), "version": summary.version,
                    "training_run_id": summary.training_run_id, "evaluation_run_id": summary.evaluation_run_id,
                    "roc_auc": round(summary.roc_auc, 6), "decision": summary.decision.decision,
                    "reason": summary.decision.reason,
                }
            )  # fmt: skip
        questions = compute_questions(out, seed, experiment=EXPERIMENT, model=MODEL)
        production = int(client.get_registered_model(MODEL).aliases["production"])
    except ChurnError as exc:
        raise ExamError(f"building the kit in {out} failed: {exc}") from None
    finally:
        mlflow.set_tracking_uri(previous)

    write_quiz(out, seed, questions, TITLE)
    manifest = {
        "kit": out.name,
        "seed": seed,
        "built_in": str(out.resolve()),
        "tracking_uri": uri,
        "experiment": EXPERIMENT,
        "model": MODEL,
        "margin": MARGIN,
        "data_sha256": df.attrs["sha256"],
        "versions": _versions(),
        "runs": runs,
        "production": production,
        "questions": len(questions),
    }
    (out / TEACHER / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / README).write_text(student_readme(out, len(runs), len(questions)), encoding="utf-8")
    return BuildReport(
        out=out, seed=seed, runs=2 * len(runs), versions=len(runs), production=production,
        questions=len(questions), seconds=time.perf_counter() - started,
    )  # fmt: skip


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {package: version(package) for package in ("mlflow", "scikit-learn", "pandas")}


def student_readme(out: Path, candidates: int, questions: int) -> str:
    name = out.name
    return f"""# Module 2 exam — {name}

The churn team ran its pipeline (train → evaluate → register → promote) on **{candidates} candidate models**.
Everything they did is in this folder: the tracking store and model registry `mlflow.db`, and the runs'
artifacts in `mlartifacts/`. Find the facts in the runs and the registry, with MLflow's commands, the UI and
small analysis scripts of your own, and answer the **{questions} multiple-choice questions** of
`questions.yaml` (each in English and French).

*L'équipe churn a exécuté son pipeline sur {candidates} modèles candidats. Retrouvez les faits dans les runs et
le registre de `mlflow.db` (commandes MLflow, interface, petits scripts d'analyse) et répondez aux {questions}
questions de `questions.yaml`.*

This kit was built in `{out.resolve()}`; MLflow records artifact locations as absolute paths, so work in
that folder (the metadata questions work anywhere, the artifact ones need the folder where it was built).

## 1. Read the questions

```bash
uv run churn exam questions {name}/ --lang en     # or --lang fr
```

## 2. Point MLflow at the kit's store and open the UI

```bash
cd {name}
export MLFLOW_TRACKING_URI=sqlite:///mlflow.db
uv run mlflow ui --backend-store-uri sqlite:///mlflow.db --workers 1    # then http://127.0.0.1:5000
```

In the UI: experiment `churn` (runs `Training_Run` and `Evaluate_Run`; compare them, sort by a metric, open
one for its params, metrics, tags, dataset inputs and artifacts) and **Models** → `churn-classifier` (versions,
aliases, tags `promotion.*`).

## 3. Commands and APIs that help

```bash
uv run mlflow experiments search
uv run mlflow runs list --experiment-id 1
uv run mlflow runs describe --run-id RUN_ID
uv run mlflow artifacts list --run-id RUN_ID
uv run churn compare            # training runs side by side, best ROC AUC first
uv run churn registry           # versions, aliases, metrics, promotion decisions
```

```python
import mlflow
from mlflow import MlflowClient

mlflow.set_tracking_uri("sqlite:///mlflow.db")
runs = mlflow.search_runs(experiment_names=["churn"], filter_string="tags.stage = 'train'",
                          order_by=["metrics.roc_auc DESC"])          # a pandas DataFrame
client = MlflowClient()
client.get_run(run_id).data.params; client.list_artifacts(run_id)
client.get_model_version_by_alias("churn-classifier", "production").tags
client.search_model_versions("name = 'churn-classifier'")
```

## 4. Answer

Write `answers.yaml`, one line per question, with the letter you choose:

```yaml
q01: B
q02: D
```

Your teacher grades it with `uv run churn exam grade {name}/ answers.yaml`.
"""
