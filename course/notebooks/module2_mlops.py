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
# # Module 2 — MLOps : registre, promotion, service REST / registry, promotion, REST serving
#
# **FR.** Au Module 1, un *run* était une expérience. Ici, un run est une étape d'une chaîne
# (entraîner → évaluer → enregistrer → promouvoir → servir) ; l'artefact est un modèle prêt à servir (et son
# image Docker) ; une *version* est une version du **registre** ; comparer, c'est comparer deux versions avant de
# changer l'alias `production`.
#
# **EN.** A run is now a pipeline step, the artifact a servable model, a version a registry version, and the
# comparison is between versions before the `production` alias moves.
#
# Les mêmes étapes en ligne de commande : `uv run churn train`, `churn evaluate`, `churn register`,
# `churn promote --to production`, `churn serve`, ou tout d'un coup `uv run churn pipeline`.

# %%
import os
import tempfile
from pathlib import Path

import churn

REPO = Path(churn.__file__).resolve().parents[1]
os.environ.setdefault("CHURN_DATA", str(REPO / "data" / "telco_churn.csv"))  # downloaded there once if missing
os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
WORKDIR = Path(os.environ.get("COURSE_WORKDIR") or tempfile.mkdtemp(prefix="course-m2-"))
WORKDIR.mkdir(parents=True, exist_ok=True)
os.chdir(WORKDIR)  # the store is ./mlflow.db, as for `uv run churn ...` run from here
print("dossier de travail / working folder:", WORKDIR)

# %% [markdown]
# ## 1. Un premier modèle, jusqu'en production / A first model, all the way to production
#
# `churn train` + `churn evaluate` (Module 1), puis `churn register` (nouvelle version, alias `staging`) et
# `churn promote --to production` (la première version passe toujours la barrière).

# %%
from churn import register as registry
from churn.evaluate import evaluate
from churn.train import TrainParams, train

first_eval = evaluate(train(TrainParams(model="lr")))
v1 = registry.register(first_eval)
decision = registry.promote("production")
print(f"version {v1}: {decision.decision} — {decision.reason}")

# %% [markdown]
# ## 2. Un challenger / A challenger
#
# Une forêt aléatoire (`churn train --model rf --max-depth 6`), évaluée, enregistrée en `staging`. La
# promotion compare les ROC AUC des runs d'évaluation : `staging` doit faire au moins aussi bien que
# `production` (+ la marge). Refusée ou acceptée, la décision est gardée sur la version (tags `promotion.*`).

# %%
second_eval = evaluate(train(TrainParams(model="rf", max_depth=6)))
v2 = registry.register(second_eval)
decision = registry.promote("production", margin=0.0)
print(f"version {v2}: {decision.decision} — {decision.reason}")

# %% [markdown]
# ## 3. Le registre / The registry
#
# `uv run churn registry` affiche ce tableau ; l'interface le montre dans **Models → churn-classifier**.

# %%
import pandas as pd

table = pd.DataFrame(registry.registry_table())
table[["version", "aliases", "model_family", "roc_auc", "decision", "reason"]]

# %%
from mlflow import MlflowClient

model = MlflowClient().get_registered_model("churn-classifier")
print("alias -> version:", model.aliases)

# %% [markdown]
# ## 4. Charger « le modèle de production » / Loading "the production model"
#
# Le code qui utilise le modèle ne connaît qu'un nom et un alias : `models:/churn-classifier@production`.
# Changer d'alias change de modèle sans changer de code.

# %%
import mlflow

from churn import loader

customers = loader.features(loader.load().head(3))
production = mlflow.pyfunc.load_model("models:/churn-classifier@production")
print(list(production.predict(customers)))

# %% [markdown]
# ## 5. Servir en REST / REST serving
#
# `uv run churn serve` lance le serveur de scoring de MLflow sur 127.0.0.1 ; on lui envoie un client en JSON
# (`POST /invocations`, format `dataframe_split`). Ici sur un port libre, puis on l'arrête.

# %%
import httpx

from churn.serve import payload, serve

with serve(alias="production", port=0) as server:
    body = payload(customers)
    answer = httpx.post(f"{server.url}/invocations", json=body, timeout=30)
    print(answer.status_code, answer.json())
    missing = {"dataframe_split": {"columns": ["tenure"], "data": [[3]]}}
    refused = httpx.post(f"{server.url}/invocations", json=missing, timeout=30)
    print(refused.status_code, refused.json()["error_code"])

# %% [markdown]
# ## 6. MLflow Projects et Docker
#
# Le fichier `MLproject` du dépôt rend chaque étape rejouable avec ses paramètres :
#
# ```bash
# uv run mlflow run . -e train --env-manager local -P model=rf -P max_depth=6
# uv run mlflow run . -e pipeline --env-manager local --experiment-name churn
# ```
#
# L'image Docker sert la version `production` : `uv run churn export-model` puis
# `docker build -t churn-classifier:production .`.
#
# **Examen du Module 2** : `uv run churn exam build --seed 3 --out exam-m2/` construit un store et un registre
# laissés par cinq pipelines, et 15 questions (`uv run churn exam questions exam-m2/ --lang fr`).
