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
# # NB1 — Qu'est-ce que MLflow ? / What MLflow is
#
# **FR.** MLflow garde la trace de chaque expérience de machine learning : ce qu'on a essayé (paramètres), ce que
# cela a donné (métriques), ce qu'on a produit (artefacts : modèles, graphiques) et quelle version est en
# production. Quatre briques :
#
# | brique | rôle | dans ce cours |
# | --- | --- | --- |
# | **Tracking** | enregistrer des *runs* : paramètres, métriques, artefacts | Module 1 (`Training_Run`, `Evaluate_Run`) |
# | **Projects** | rendre un entraînement rejouable (`MLproject`) | Module 2 (`mlflow run`) |
# | **Models** | un format de modèle unique, rechargeable et servable | Modules 1–2 (`mlflow.sklearn`, `mlflow models serve`) |
# | **Model Registry** | versions nommées d'un modèle, alias `staging` / `production` | Module 2 |
#
# **EN.** MLflow records every ML experiment: what was tried (params), what it gave (metrics), what it produced
# (artifacts: models, charts) and which version is in production — Tracking, Projects, Models, Model Registry.
#
# Ce notebook travaille dans un dossier temporaire : `mlflow.db` et `mlruns/` n'arrivent jamais dans le dépôt.

# %%
import os
import tempfile
from pathlib import Path

import churn

REPO = Path(churn.__file__).resolve().parents[1]
os.environ.setdefault("CHURN_DATA", str(REPO / "data" / "telco_churn.csv"))  # downloaded there once if missing
WORKDIR = Path(os.environ.get("COURSE_WORKDIR") or tempfile.mkdtemp(prefix="course-nb1-"))
WORKDIR.mkdir(parents=True, exist_ok=True)
os.chdir(WORKDIR)
print("dossier de travail / working folder:", WORKDIR)

# %% [markdown]
# ## 1. Les données / The data
#
# 7 043 clients d'un opérateur télécom (jeu de données public d'IBM) ; `Churn` = 1 si le client est parti.

# %%
from churn import loader

df = loader.load()
train_df, test_df = loader.split(df)
print(f"{len(df)} clients, taux de churn {df['Churn'].mean():.1%} ; {len(train_df)} pour entraîner, {len(test_df)} mis de côté")
df.head(3)

# %% [markdown]
# ## 2. Tracking : un premier run / a first run
#
# `mlflow.set_tracking_uri` choisit le *backend store* (ici un fichier SQLite, `mlflow.db`) ; les artefacts vont
# dans `mlruns/`. Un run s'ouvre avec `mlflow.start_run` ; tout ce qu'on enregistre dedans lui appartient.

# %%
import mlflow
from sklearn.metrics import roc_auc_score

from churn.train import TrainParams, build_pipeline

os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
mlflow.set_tracking_uri("sqlite:///mlflow.db")
mlflow.set_experiment("nb1-decouverte")

X_train, y_train = loader.features(train_df), loader.target(train_df)
X_test, y_test = loader.features(test_df), loader.target(test_df)

with mlflow.start_run(run_name="premier_run") as run:
    params = TrainParams(C=0.5)
    mlflow.log_params({"model": "lr", "C": params.C, "max_iter": params.max_iter})
    pipeline = build_pipeline(params).fit(X_train, y_train)
    auc = roc_auc_score(y_test, pipeline.predict_proba(X_test)[:, 1])
    mlflow.log_metric("roc_auc", auc)
    model_info = mlflow.sklearn.log_model(
        pipeline,
        name="model",
        input_example=X_train.head(3),
        pip_requirements=mlflow.sklearn.get_default_pip_requirements(include_skops=True),
        skops_trusted_types=["churn.features.TelcoFeatures"],
    )
print(f"run {run.info.run_id}: roc_auc = {auc:.3f}")
print("modèle enregistré / logged model:", model_info.model_uri)

# %% [markdown]
# ## 3. Le modèle est un artefact auquel on peut revenir / The logged model is an artifact you come back to
#
# On oublie l'objet Python et on recharge le modèle depuis le store : c'est ce que feront l'évaluation, le
# registre et le serveur REST.

# %%
del pipeline
reloaded = mlflow.pyfunc.load_model(model_info.model_uri)
predictions = reloaded.predict(X_test.head(5))
print("prédictions du modèle rechargé / predictions of the reloaded model:", list(predictions))

# %% [markdown]
# ## 4. Où tout cela est rangé / Where it all lives
#
# - `mlflow.db` : le **backend store** (runs, paramètres, métriques, tags) — PostgreSQL en production ;
# - `mlruns/` : l'**artifact store** (modèles, graphiques) — S3 / Azure Blob en production.

# %%
for path in sorted(WORKDIR.rglob("*"))[:25]:
    if path.is_file():
        print(f"{path.relative_to(WORKDIR)}  ({path.stat().st_size:,} o)")

# %% [markdown]
# ## 5. Retrouver ses runs / Finding runs again
#
# `mlflow.search_runs` renvoie un tableau pandas : le même que la liste des runs dans l'interface.

# %%
mlflow.search_runs(experiment_names=["nb1-decouverte"])[["run_id", "tags.mlflow.runName", "params.C", "metrics.roc_auc"]]

# %% [markdown]
# ## 6. Projects et Model Registry : un aperçu / a glimpse
#
# Le dépôt est lui-même un **MLflow Project** : son fichier `MLproject` décrit des points d'entrée rejouables
# (`uv run mlflow run . -e train --env-manager local -P model=rf`). Le **registre** donne un nom et des versions
# au modèle ; c'est le Module 2.

# %%
print("\n".join((REPO / "MLproject").read_text().splitlines()[20:34]))

# %% [markdown]
# ## À retenir / Takeaways
#
# 1. Un *run* = une expérience : paramètres + métriques + artefacts.
# 2. `mlflow.db` (backend store) et `mlruns/` (artifact store) sont deux choses différentes.
# 3. Un modèle enregistré se recharge par son URI (`models:/…` ou `runs:/<id>/model`), partout.
#
# Suite : **NB2**, le projet et l'exercice (ajouter MLflow à `src/train.py`).
