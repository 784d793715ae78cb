"""The Module 2 question bank: every answer computed from the kit's tracking store and model registry.

:class:`Store` reads what a learner can read: the runs of experiment ``churn`` (params, metrics, tags,
dataset inputs, artifacts) and the versions, aliases and tags of ``churn-classifier``, all through
``MlflowClient``. Nothing here reads the scenario that built the store. Each question returns a
:class:`~llmops.exam.quiz.Computed`: the right value, three distractors from the same store, the evidence
(run ids, versions, figures) and an explanation in both languages.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from churn import tracking
from churn.train import LR_PARAMS, RF_PARAMS
from llmops.exam.errors import ExamError
from llmops.exam.quiz import Bank, Choice, Computed, Question, assemble, numbers, pick

TITLE = {
    "en": "Module 2 exam: find the facts in the runs and the registry",
    "fr": "Examen du module 2 : trouvez les faits dans les runs et le registre",
}
#: The kit's tracking store and model registry, in the kit's folder.
STORE = "mlflow.db"
#: Files a learner may expect from an evaluation run but that ours never logs (the "which is not" question).
NOT_LOGGED = ("lift_curve.png", "shap_summary.png", "precision_recall.png", "threshold_plot.png", "residuals.png")


def params_label(params: dict[str, str]) -> str:
    """``rf: n_estimators=200, max_depth=6, min_samples_leaf=5`` (the model's own params and class_weight)."""
    model = params.get("model", "?")
    own = LR_PARAMS if model == "lr" else RF_PARAMS
    shown = [name for name in own if name != "random_state"] + ["class_weight"]
    return f"{model}: " + ", ".join(f"{name}={params.get(name)}" for name in shown)


def three(value: float) -> str:
    return f"{value:.3f}"


class Store:
    """The runs and registry of a kit's store, as a learner sees them through ``MlflowClient``."""

    def __init__(self, tracking_uri: str, experiment: str, model: str) -> None:
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
        found = self.client.get_experiment_by_name(experiment)
        if found is None:
            raise ExamError(f"no experiment {experiment!r} in {tracking_uri}: the kit's store is incomplete")
        self.experiment = found
        self.runs = self.client.search_runs([found.experiment_id], max_results=1000, order_by=["attributes.start_time ASC"])
        self.training = [r for r in self.runs if r.data.tags.get(tracking.STAGE_TAG) == "train"]
        self.evaluation = [r for r in self.runs if r.data.tags.get(tracking.STAGE_TAG) == "evaluate"]
        self.model = self.client.get_registered_model(model)
        self.versions = sorted(self.client.search_model_versions(f"name = '{model}'"), key=lambda v: int(v.version))
        if len(self.training) < 4 or len(self.versions) < 4:
            raise ExamError(f"the kit's store holds {len(self.training)} training runs and {len(self.versions)} versions: "
                            "not enough for the quiz (build it with `churn exam build`)")  # fmt: skip

    def alias(self, name: str) -> int:
        if name not in self.model.aliases:
            raise ExamError(f"no version of {self.model.name} holds the alias {name!r}")
        return int(self.model.aliases[name])

    def version(self, number: int):
        return next(v for v in self.versions if int(v.version) == number)

    def evaluation_of(self, training_run_id: str):
        runs = [r for r in self.evaluation if r.data.tags.get(tracking.TRAINING_RUN_TAG) == training_run_id]
        if not runs:
            raise ExamError(f"training run {training_run_id} has no evaluation run")
        return runs[-1]

    def training_of(self, version) -> object:
        return next(r for r in self.training if r.info.run_id == version.run_id)

    def aucs(self) -> list[float]:
        return [r.data.metrics["roc_auc"] for r in self.evaluation]


def _near(value: float, others: list[float], rng: random.Random) -> list[str]:
    """Three 3-decimal distractors: the other runs' values first, then close made-up ones if they collide."""
    pool = [three(v) for v in others] + [three(value + d) for d in (-0.012, 0.009, -0.021, 0.017)]
    return pick(rng, pool, three(value))


# --------------------------------------------------------------------------------------------------------
# The questions. Each returns a Computed; the rng only orders distractors.
# --------------------------------------------------------------------------------------------------------


def q_best_run(s: Store, rng: random.Random) -> Computed:
    ranked = sorted(s.training, key=lambda r: -r.data.metrics["roc_auc"])
    best = ranked[0]
    ids = [r.info.run_id for r in ranked]
    return Computed(
        Choice.same(best.info.run_id), [Choice.same(x) for x in pick(rng, ids, best.info.run_id)],
        {"run_id": best.info.run_id, "roc_auc": best.data.metrics["roc_auc"],
         "ranking": {r.info.run_id: round(r.data.metrics["roc_auc"], 4) for r in ranked}},
        f"search_runs ordered by metrics.roc_auc DESC (tags.stage = 'train'): {best.info.run_id} comes first "
        f"with {best.data.metrics['roc_auc']:.4f}.",
        f"search_runs trié par metrics.roc_auc DESC (tags.stage = 'train') : {best.info.run_id} arrive en tête "
        f"avec {best.data.metrics['roc_auc']:.4f}.",
    )  # fmt: skip


def q_best_auc(s: Store, rng: random.Random) -> Computed:
    aucs = sorted(s.aucs(), reverse=True)
    best = aucs[0]
    run = next(r for r in s.evaluation if r.data.metrics["roc_auc"] == best)
    return Computed(
        Choice.same(three(best)), [Choice.same(x) for x in _near(best, aucs[1:], rng)],
        {"evaluation_run_id": run.info.run_id, "roc_auc": best},
        f"The best evaluation run ({run.info.run_id}) has roc_auc = {best:.6f}, {three(best)} to 3 decimals.",
        f"Le meilleur run d'évaluation ({run.info.run_id}) a roc_auc = {best:.6f}, soit {three(best)}.",
    )


def _version_choice(number: int) -> Choice:
    return Choice(f"version {number}", f"version {number}")


def q_alias_holder(alias: str):
    """The question "which version holds ``alias``?" (production, staging)."""

    def compute(s: Store, rng: random.Random) -> Computed:
        number = s.alias(alias)
        pool = [int(v.version) for v in s.versions]
        return Computed(
            _version_choice(number), [_version_choice(x) for x in pick(rng, pool, number)],
            {"alias": alias, "version": number, "aliases": dict(s.model.aliases)},
            f"get_model_version_by_alias('{s.model.name}', '{alias}') returns version {number}.",
            f"get_model_version_by_alias('{s.model.name}', '{alias}') renvoie la version {number}.",
        )

    return compute


def q_production_params(s: Store, rng: random.Random) -> Computed:
    version = s.version(s.alias("production"))
    run = s.training_of(version)
    label = params_label(run.data.params)
    pool = [params_label(r.data.params) for r in s.training]
    return Computed(
        Choice.same(label), [Choice.same(x) for x in pick(rng, pool, label)],
        {"version": int(version.version), "training_run_id": run.info.run_id, "params": dict(run.data.params)},
        f"Version {version.version} comes from training run {run.info.run_id}, whose params are {label}.",
        f"La version {version.version} vient du run d'entraînement {run.info.run_id}, de paramètres {label}.",
    )


def q_version_count(s: Store, rng: random.Random) -> Computed:
    n = len(s.versions)
    return Computed(
        Choice.same(n), [Choice.same(x) for x in numbers(n, rng, [-2, -1, 1, 2, 3])],
        {"model": s.model.name, "versions": [int(v.version) for v in s.versions]},
        f"search_model_versions(\"name = '{s.model.name}'\") returns {n} versions.",
        f"search_model_versions(\"name = '{s.model.name}'\") renvoie {n} versions.",
    )


def _refused(s: Store) -> list:
    return [v for v in s.versions if v.tags.get("promotion.decision") == "refused"]


def q_refused_count(s: Store, rng: random.Random) -> Computed:
    refused = _refused(s)
    n = len(refused)
    return Computed(
        Choice.same(n), [Choice.same(x) for x in numbers(n, rng, [-2, -1, 1, 2, 3])],
        {"refused_versions": [int(v.version) for v in refused],
         "decisions": {v.version: v.tags.get("promotion.decision") for v in s.versions}},
        f"{n} versions carry the tag promotion.decision = refused.",
        f"{n} versions portent le tag promotion.decision = refused.",
    )  # fmt: skip


def q_refused_against(s: Store, rng: random.Random) -> Computed:
    refused = _refused(s)
    if not refused:
        raise ExamError("the gate refused no version: the kit has no refusal to ask about")
    version = refused[-1]
    current = float(version.tags["promotion.current_roc_auc"])
    others = [float(v.tags["roc_auc"]) for v in s.versions if abs(float(v.tags["roc_auc"]) - current) > 1e-9]
    return Computed(
        Choice.same(three(current)), [Choice.same(x) for x in _near(current, others, rng)],
        {"version": int(version.version), "candidate_roc_auc": float(version.tags["promotion.candidate_roc_auc"]),
         "current_version": int(version.tags["promotion.current_version"]), "current_roc_auc": current,
         "reason": version.tags.get("promotion.reason", "")},
        f"Version {version.version} was compared with version {version.tags['promotion.current_version']} "
        f"(ROC AUC {current:.4f}): {version.tags.get('promotion.reason', '')}",
        f"La version {version.version} a été comparée à la version {version.tags['promotion.current_version']} "
        f"(ROC AUC {current:.4f}) : {version.tags.get('promotion.reason', '')}",
        {"version": int(version.version)},
    )  # fmt: skip


def q_not_an_artifact(s: Store, rng: random.Random) -> Computed:
    number = s.alias("production")
    run = s.evaluation_of(s.version(number).run_id)
    logged = sorted(f.path for f in s.client.list_artifacts(run.info.run_id))
    fake = pick(rng, [x for x in NOT_LOGGED if x not in logged], None, 1)[0]
    return Computed(
        Choice.same(fake), [Choice.same(x) for x in pick(rng, logged, fake)],
        {"evaluation_run_id": run.info.run_id, "artifacts": logged},
        f"Evaluation run {run.info.run_id} logs {', '.join(logged)}; no {fake}.",
        f"Le run d'évaluation {run.info.run_id} enregistre {', '.join(logged)} ; pas de {fake}.",
        {"version": number},
    )


def q_production_recall(s: Store, rng: random.Random) -> Computed:
    number = s.alias("production")
    run = s.evaluation_of(s.version(number).run_id)
    recall = run.data.metrics["recall"]
    others = [r.data.metrics["recall"] for r in s.evaluation if r.info.run_id != run.info.run_id]
    return Computed(
        Choice.same(three(recall)), [Choice.same(x) for x in _near(recall, others, rng)],
        {"version": number, "evaluation_run_id": run.info.run_id, "recall": recall},
        f"The evaluation run of version {number} ({run.info.run_id}) has recall = {recall:.6f}.",
        f"Le run d'évaluation de la version {number} ({run.info.run_id}) a recall = {recall:.6f}.",
    )


def q_overfit(s: Store, rng: random.Random) -> Computed:
    gaps = {r.info.run_id: r.data.metrics["train_roc_auc"] - r.data.metrics["roc_auc"] for r in s.training}
    ranked = sorted(gaps, key=lambda run_id: -gaps[run_id])
    worst = ranked[0]
    return Computed(
        Choice.same(worst), [Choice.same(x) for x in pick(rng, ranked, worst)],
        {"run_id": worst, "gaps": {k: round(v, 4) for k, v in gaps.items()}},
        f"train_roc_auc − roc_auc is largest for {worst}: {gaps[worst]:.3f}.",
        f"train_roc_auc − roc_auc est le plus grand pour {worst} : {gaps[worst]:.3f}.",
    )


def _history_label(history: list[int]) -> str:
    return " → ".join(f"v{v}" for v in history)


def q_production_history(s: Store, rng: random.Random) -> Computed:
    promoted = [int(v.version) for v in s.versions if v.tags.get("promotion.decision") == "promoted"]
    answer = _history_label(promoted)
    numbers_ = [int(v.version) for v in s.versions]
    pool = [_history_label(promoted[:-1] or [numbers_[-1]]), _history_label([*promoted, numbers_[-1]]),
            _history_label(numbers_[:2]), _history_label(numbers_[::2]), _history_label([numbers_[0], numbers_[-1]]),
            _history_label(numbers_)]  # fmt: skip
    return Computed(
        Choice.same(answer), [Choice.same(x) for x in pick(rng, pool, answer)],
        {"promoted": promoted, "history_tag": s.model.tags.get("alias_history.production")},
        f"Versions tagged promotion.decision = promoted, in order: {answer} (also the registered model's tag "
        "alias_history.production).",
        f"Versions marquées promotion.decision = promoted, dans l'ordre : {answer} (c'est aussi le tag "
        "alias_history.production du modèle).",
    )


def q_run_count(s: Store, rng: random.Random) -> Computed:
    n = len(s.runs)
    return Computed(
        Choice.same(n), [Choice.same(x) for x in numbers(n, rng, [-5, -2, -1, 1, 2, 5])],
        {"experiment": s.experiment.name, "training": len(s.training), "evaluation": len(s.evaluation)},
        f"Experiment {s.experiment.name} holds {len(s.training)} training and {len(s.evaluation)} evaluation runs.",
        f"L'expérience {s.experiment.name} contient {len(s.training)} runs d'entraînement et {len(s.evaluation)} d'évaluation.",
    )


def q_evaluation_of(s: Store, rng: random.Random) -> Computed:
    training = s.training[len(s.training) // 2]
    run = s.evaluation_of(training.info.run_id)
    pool = [r.info.run_id for r in s.evaluation]
    return Computed(
        Choice.same(run.info.run_id), [Choice.same(x) for x in pick(rng, pool, run.info.run_id)],
        {"training_run_id": training.info.run_id, "evaluation_run_id": run.info.run_id},
        f"Run {run.info.run_id} has tag training_run_id = {training.info.run_id}.",
        f"Le run {run.info.run_id} porte le tag training_run_id = {training.info.run_id}.",
        {"run_id": training.info.run_id},
    )


def q_heldout_rows(s: Store, rng: random.Random) -> Computed:
    run = s.evaluation[0]
    held_out = [d.dataset for d in run.inputs.dataset_inputs if d.dataset.name == "telco_churn-test"]
    if not held_out:
        raise ExamError(f"evaluation run {run.info.run_id} logged no held-out dataset")
    rows = int(json.loads(held_out[0].profile)["num_rows"])
    total = int(run.data.params.get("data_rows") or s.training[0].data.params["data_rows"])
    pool = [total, total - rows, round(total * 0.25), round(total * 0.3), rows + 100]
    return Computed(
        Choice.same(rows), [Choice.same(x) for x in pick(rng, pool, rows)],
        {"evaluation_run_id": run.info.run_id, "dataset": held_out[0].name, "num_rows": rows, "digest": held_out[0].digest},
        f"The dataset input telco_churn-test of {run.info.run_id} has a profile with num_rows = {rows} "
        f"(of {total} customers).",
        f"Le dataset d'entrée telco_churn-test de {run.info.run_id} a un profil avec num_rows = {rows} "
        f"(sur {total} clients).",
    )  # fmt: skip


BANK: Bank = [
    ("runs", "Which training run has the best held-out ROC AUC?", "Quel run d'entraînement a la meilleure ROC AUC sur le jeu de test ?", q_best_run),
    ("runs", "What is the best ROC AUC of the evaluation runs, to 3 decimals?", "Quelle est la meilleure ROC AUC des runs d'évaluation, à 3 décimales ?", q_best_auc),
    ("registry", "Which version of churn-classifier holds the alias production?", "Quelle version de churn-classifier porte l'alias production ?", q_alias_holder("production")),
    ("registry", "Which version of churn-classifier holds the alias staging?", "Quelle version de churn-classifier porte l'alias staging ?", q_alias_holder("staging")),
    ("registry", "With which parameters was the production version trained?", "Avec quels paramètres la version en production a-t-elle été entraînée ?", q_production_params),
    ("registry", "How many versions of churn-classifier are registered?", "Combien de versions de churn-classifier sont enregistrées ?", q_version_count),
    ("promotion", "How many versions did the promotion gate refuse to put in production?", "Combien de versions la porte de promotion a-t-elle refusé de mettre en production ?", q_refused_count),
    ("promotion", "Version {version} was refused: what was the ROC AUC of the production version it was compared with (3 decimals)?", "La version {version} a été refusée : quelle était la ROC AUC de la version en production à laquelle elle a été comparée (3 décimales) ?", q_refused_against),
    ("artifacts", "Which of these files is NOT an artifact of the evaluation run of version {version}?", "Lequel de ces fichiers n'est PAS un artefact du run d'évaluation de la version {version} ?", q_not_an_artifact),
    ("metrics", "What is the recall of the production version on its held-out customers (3 decimals)?", "Quel est le rappel (recall) de la version en production sur ses clients de test (3 décimales) ?", q_production_recall),
    ("runs", "Which training run over-fits most (largest train_roc_auc minus roc_auc)?", "Quel run d'entraînement sur-apprend le plus (plus grand écart train_roc_auc moins roc_auc) ?", q_overfit),
    ("promotion", "Which versions have held the alias production, oldest first?", "Quelles versions ont porté l'alias production, de la plus ancienne à la plus récente ?", q_production_history),
    ("runs", "How many runs does the experiment churn hold (training and evaluation)?", "Combien de runs l'expérience churn contient-elle (entraînement et évaluation) ?", q_run_count),
    ("runs", "Which evaluation run evaluated training run {run_id}?", "Quel run d'évaluation a évalué le run d'entraînement {run_id} ?", q_evaluation_of),
    ("datasets", "How many customers are in the held-out split the evaluation runs score?", "Combien de clients compte le jeu de test que notent les runs d'évaluation ?", q_heldout_rows),
]  # fmt: skip


def store_uri(kit: Path | str) -> str:
    """The tracking URI of the store inside ``kit``."""
    return f"sqlite:///{(Path(kit) / STORE).resolve()}"


def compute_questions(kit: Path | str, seed: int, *, experiment: str = "churn", model: str = "churn-classifier") -> list[Question]:
    """The quiz of the kit in ``kit`` (its ``mlflow.db``), answers computed from the store; choices shuffled by ``seed``."""
    return assemble(BANK, Store(store_uri(Path(kit)), experiment, model), seed)


__all__ = ["BANK", "NOT_LOGGED", "STORE", "Store", "compute_questions", "params_label", "store_uri"]
