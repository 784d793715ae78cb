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
# # Module 3 — LLMOps : traces, prompts, évaluation / traces, prompts, evaluation
#
# **FR.** L'application analyse des commentaires de clients (RAG + agent à outils). Ici, un *run* est une
# **requête** (une trace par commentaire), l'artefact est la **trace** et le **prompt**, une *version* est une
# version de prompt (ou d'agent), et comparer, c'est comparer des **comportements** (une suite d'évaluation,
# deux versions de prompt). Tout tourne hors ligne avec le modèle de langage local du projet.
#
# **EN.** A run is a request (one trace per comment), the artifact a trace and a prompt, a version a
# prompt/agent version, and the comparison is between behaviours. Everything runs offline.
#
# En ligne de commande, tout ce notebook tient en une commande : `uv run llmops demo`.

# %%
import os
import tempfile
from pathlib import Path

import llmops

REPO = Path(llmops.__file__).resolve().parents[1]
os.environ["LLMOPS_LLM_BACKEND"] = "offline"  # the project's offline model: no network, no key
WORKDIR = Path(os.environ.get("COURSE_WORKDIR") or tempfile.mkdtemp(prefix="course-m3-"))
WORKDIR.mkdir(parents=True, exist_ok=True)
os.chdir(WORKDIR)  # mlflow.db, .chroma/, tickets.db land here
# The course material is read where it lives, as from a checkout (`llmops` reads ./data, ./prompts, ./evals.yaml).
for name in ("data", "prompts", "evals.yaml"):
    if not (WORKDIR / name).exists():
        (WORKDIR / name).symlink_to(REPO / name)
print("dossier de travail / working folder:", WORKDIR)

# %% [markdown]
# ## 1. Préparer : la base de connaissances et les prompts / Knowledge base and prompts
#
# `uv run llmops kb ingest` indexe `data/kb/` dans chromadb ; `uv run llmops prompts push` enregistre
# `prompts/*.yaml` (et leur historique) dans le registre de prompts de MLflow.

# %%
from llmops.prompts import registry
from llmops.rag import ingest
from llmops.tracing import setup

setup()
report = ingest()
print(f"{len(report.added)} documents indexés, {report.total_chunks} morceaux")
for pushed in registry.push_all("prompts"):
    print(f"{pushed.name} v{pushed.version}")
newest = int(registry.versions("comment-analyzer")[-1].version)
registry.promote("comment-analyzer", newest, "production", "cours : premier déploiement")
print("alias:", registry.aliases("comment-analyzer"))

# %% [markdown]
# ## 2. Versions de prompt / Prompt versions
#
# `uv run llmops prompts diff comment-analyzer 1 2` : ce qui a changé entre deux versions.

# %%
print(registry.diff("comment-analyzer", "1", str(newest))[:1500])

# %% [markdown]
# ## 3. Analyser des commentaires : une trace par requête / One trace per request
#
# `uv run llmops analyze data/comments.csv --out results.csv --limit 8`

# %%
from llmops.agent.analyzer import Analyzer
from llmops.agent.batch import read_comments, run_batch

comments = read_comments("data/comments.csv")
batch = run_batch(comments, "results.csv", Analyzer(prompt_alias="production"), concurrency=2, limit=8)
print(batch.summary)

# %% [markdown]
# ## 4. Le Traces tab en Python / The Traces tab in Python
#
# `mlflow.search_traces` renvoie les traces de l'expérience `comment-analyzer` ; `uv run llmops traces show
# <id>` dessine l'arbre des spans : agent → appels au modèle → outils → recherche dans la base.

# %%
import mlflow

experiment = mlflow.get_experiment_by_name("comment-analyzer")
traces = mlflow.search_traces(locations=[experiment.experiment_id], return_type="list")
print(len(traces), "traces")
trace_id = traces[0].info.trace_id

# %%
from rich.console import Console

from llmops.analysis import io, tree

Console(width=120).print(tree.render(io.get_trace_dict(trace_id), limit=100))

# %% [markdown]
# ## 5. Analyser des conversations / Conversation analysis
#
# Les traces portent une session (le lot) et un utilisateur (le client) : `uv run llmops traces sessions`.

# %%
from llmops import analysis

ts = analysis.load_store("comment-analyzer")
analysis.sessions(ts)

# %%
analysis.tool_usage(ts)

# %% [markdown]
# ## 6. Évaluation GenAI / GenAI evaluation
#
# `uv run llmops eval --suite ci` : l'analyseur tourne sur un jeu annoté, puis `mlflow.genai.evaluate` note ses
# traces (scorers de code et juges). Ici sur les 12 premières lignes seulement : les seuils d'`evals.yaml` sont
# faits pour les 112 lignes de la suite, le verdict sur 12 lignes n'a pas valeur de preuve (il peut échouer). Le
# résultat est un run de l'expérience `comment-analyzer-eval` (page *Evaluation runs* dans l'interface).

# %%
from llmops.evaluation.runner import run_suite

result = run_suite("ci", prompt_alias="production", limit=12)
print("verdict:", "PASS" if result.passed else "FAIL", result.reasons[:3])
{m.name: m.value.value for m in result.metrics if m.value.value is not None}

# %% [markdown]
# ## 7. Déboguer un agent : l'examen exam-7 / Debugging an agent: the exam-7 kit
#
# `traces/exam-7/` contient 35 traces enregistrées avec des pannes plantées (un outil qui expire, un document
# absent de l'index, une version de prompt qui casse le schéma…). Le quiz : `uv run llmops exam questions
# traces/exam-7/ --lang fr`.

# %%
exam = analysis.load_file(REPO / "traces" / "exam-7" / "traces.jsonl")
analysis.error_taxonomy(exam, by="prompt_version")

# %% [markdown]
# ## À retenir / Takeaways
#
# 1. Une trace = une requête, avec l'arbre de ce que l'agent a fait (modèle, outils, documents).
# 2. Un prompt a des versions et des alias, comme un modèle au registre ; chaque trace dit quelle version l'a servie.
# 3. Comparer des comportements : une suite d'évaluation, des seuils (`evals.yaml`), un verdict.
