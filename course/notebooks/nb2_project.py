# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # NB2 — Le projet et l'exercice / The project and the exercise
#
# **FR.** Un projet ML minimal (`data/ src/{loader,train,evaluate,serve}.py MLproject Dockerfile pyproject.toml`),
# d'abord *sans* MLflow (`course/module1/starter/`), puis avec le suivi ajouté (`course/module1/solution/`).
# On lance `src/train.py` puis `src/evaluate.py` et on retrouve `Training_Run` et `Evaluate_Run` dans le store.
#
# **EN.** A minimal ML project, first without MLflow, then with tracking added; run `src/train.py` and
# `src/evaluate.py`, then find `Training_Run` and `Evaluate_Run` in the store.

# %%
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import churn

REPO = Path(churn.__file__).resolve().parents[1]
os.environ.setdefault("CHURN_DATA", str(REPO / "data" / "telco_churn.csv"))  # downloaded there once if missing
WORKDIR = Path(os.environ.get("COURSE_WORKDIR") or tempfile.mkdtemp(prefix="course-nb2-"))
WORKDIR.mkdir(parents=True, exist_ok=True)
os.chdir(WORKDIR)
# A learner's copy of both projects: what they write (model.joblib, mlflow.db, mlruns/) stays out of the repository.
for project in ("starter", "solution"):
    shutil.copytree(REPO / "course" / "module1" / project, WORKDIR / project, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".venv", "mlflow.db", "mlruns", "plots", "model.joblib"))
print("dossier de travail / working folder:", WORKDIR)

# %% [markdown]
# ## 1. La structure minimale / The minimal layout

# %%
for path in sorted((WORKDIR / "starter").rglob("*")):
    if path.is_file():
        print(path.relative_to(WORKDIR / "starter"))

# %% [markdown]
# ## 2. Sans MLflow / Without MLflow
#
# `uv run src/train.py` dans `starter/` (ici avec le Python du projet, ce qui revient au même) : les métriques
# s'affichent… et disparaissent avec le terminal. Quel `C` a donné le meilleur ROC AUC il y a trois essais ?

# %%
def run(project: str, *args: str) -> None:
    """`uv run <args>` in the project's folder, with this notebook's Python (the same packages)."""
    result = subprocess.run([sys.executable, *args], cwd=WORKDIR / project, capture_output=True, text=True)
    print(result.stdout)
    if result.returncode != 0:
        raise RuntimeError(result.stderr)


run("starter", "src/train.py", "--C", "0.1")
run("starter", "src/evaluate.py")
print(sorted(p.name for p in (WORKDIR / "starter" / "plots").iterdir()))

# %% [markdown]
# ## 3. Modifier `src/train.py` pour ajouter MLflow / Add MLflow to `src/train.py`
#
# Ce que la solution ajoute (les lignes `+`) : choisir le store et l'expérience, ouvrir un run nommé
# `Training_Run`, enregistrer paramètres, jeux de données, modèle et métriques.

# %%
import difflib

starter = (WORKDIR / "starter" / "src" / "train.py").read_text().splitlines()
solution = (WORKDIR / "solution" / "src" / "train.py").read_text().splitlines()
added = [line for line in difflib.unified_diff(starter, solution, lineterm="", n=0) if line.startswith("+") and "mlflow" in line]
print("\n".join(added))

# %% [markdown]
# Deux entraînements avec la solution (`uv run src/train.py --C 0.1`, puis `uv run src/train.py`), puis
# l'évaluation du dernier (`uv run src/evaluate.py`) :

# %%
run("solution", "src/train.py", "--C", "0.1")
run("solution", "src/train.py")
run("solution", "src/evaluate.py")

# %% [markdown]
# ## 4. `mlflow.db` et `mlruns/`
#
# - `mlflow.db` : le *backend store* (runs, paramètres, métriques) — en production, PostgreSQL ;
# - `mlruns/` : l'*artifact store* (modèles, graphiques) — en production, S3 ou Azure Blob.
#
# Dans l'interface : `uv run mlflow ui` dans `solution/` puis http://127.0.0.1:5000 (`-p 5001` si le port est
# pris, `-h 0.0.0.0` pour l'ouvrir à d'autres machines). Ici on lit le même store en Python.

# %%
import mlflow

os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
mlflow.set_tracking_uri(f"sqlite:///{WORKDIR / 'solution' / 'mlflow.db'}")
runs = mlflow.search_runs(experiment_names=["churn"], order_by=["attributes.start_time ASC"])
runs[["tags.mlflow.runName", "params.C", "metrics.roc_auc", "metrics.f1", "metrics.brier_score"]]

# %% [markdown]
# ## 5. Training_Run : ses paramètres / its params

# %%
training = mlflow.get_run(runs[runs["tags.mlflow.runName"] == "Training_Run"].iloc[-1]["run_id"])
dict(sorted(training.data.params.items()))

# %% [markdown]
# ## 6. Evaluate_Run : ses artefacts / its artifacts
#
# La matrice de confusion, les courbes ROC et précision-rappel, la calibration et l'importance des variables
# sont gardées *avec le run* qui les a produites.

# %%
from IPython.display import Image, display

evaluation = runs[runs["tags.mlflow.runName"] == "Evaluate_Run"].iloc[-1]["run_id"]
print([a.path for a in mlflow.MlflowClient().list_artifacts(evaluation)])
display(Image(mlflow.artifacts.download_artifacts(run_id=evaluation, artifact_path="confusion_matrix.png")))

# %% [markdown]
# ## 7. Comparer / Compare
#
# Le meilleur run selon le ROC AUC : la question du début a maintenant une réponse, et elle reste vraie demain.

# %%
best = mlflow.search_runs(experiment_names=["churn"], filter_string="attributes.run_name = 'Training_Run'",
                          order_by=["metrics.roc_auc DESC"], max_results=1).iloc[0]
print(f"meilleur run / best run: C={best['params.C']} roc_auc={best['metrics.roc_auc']:.4f}")

# %% [markdown]
# La même chose avec le paquet du cours : `uv run churn train`, `uv run churn evaluate`, `uv run churn compare
# --plot` (mêmes noms de runs, mêmes paramètres, mêmes métriques).
