"""Stage 4, the model registry: register an evaluated model, promote it through a gate, roll it back.

The registered model is ``churn-classifier`` (``CHURN_MODEL_NAME``) and two aliases tell its versions apart:

- ``staging``: the latest registered candidate (:func:`register` moves it);
- ``production``: what serving uses (``models:/churn-classifier@production``), moved only by :func:`promote`
  and :func:`rollback`.

The gate compares held-out ROC AUCs, read from each version's evaluation run (the ``Evaluate_Run`` that scored
it on customers it never saw): the staging version is promoted when
``candidate >= current production + margin`` (``CHURN_PROMOTION_MARGIN``, default 0.0: "at least as good";
a positive margin demands an improvement, a negative one tolerates a small loss). With nothing in production
yet, the first candidate passes.

Everything is recorded in the registry itself, so the UI (and an exam question) can answer "why is this version
in production?":

- version tags set at registration: ``training_run_id``, ``evaluation_run_id``, ``model_family``, ``params``,
  ``roc_auc`` and ``data_sha256``;
- version tags set by each promotion attempt: ``promotion.decision`` (``promoted`` or ``refused``),
  ``promotion.alias``, ``promotion.candidate_roc_auc``, ``promotion.current_version``,
  ``promotion.current_roc_auc``, ``promotion.margin``, ``promotion.reason``, ``promotion.by``,
  ``promotion.at``; a rollback tags the version it removes (``rollback.*``);
- the registered-model tag ``alias_history.production``: every version that held the alias, oldest first
  (a JSON list), which is how :func:`rollback` knows the previous production version.

Run it as ``uv run churn register [--run-id ID]``, ``uv run churn promote --to production [--margin M]``,
``uv run churn rollback`` and ``uv run churn registry``.
"""

from __future__ import annotations

import getpass
import json
import math
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from churn.errors import ChurnError

STAGING = "staging"
PRODUCTION = "production"
GATE_METRIC = "roc_auc"
HISTORY_TAG = "alias_history.{alias}"
#: The evaluation metrics :func:`registry_table` shows for every version.
TABLE_METRICS = ("roc_auc", "accuracy", "f1", "precision", "recall")

_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Decision:
    """The outcome of one promotion attempt (also written on the candidate version as ``promotion.*`` tags)."""

    promoted: bool
    model: str
    alias: str
    candidate_version: int
    candidate_roc_auc: float
    current_version: int | None
    current_roc_auc: float | None
    margin: float
    reason: str
    by: str
    at: str

    @property
    def unchanged(self) -> bool:
        """The candidate already holds the alias: nothing was decided (and nothing recorded)."""
        return self.current_version == self.candidate_version

    @property
    def decision(self) -> str:
        return "unchanged" if self.unchanged else "promoted" if self.promoted else "refused"

    def to_dict(self) -> dict[str, object]:
        return {"decision": self.decision, **asdict(self)}


# --- helpers ----------------------------------------------------------------------------------------------------


def _setup(tracking_uri: str | None) -> None:
    from churn import tracking

    tracking.configure_store(tracking_uri)  # the registry needs no experiment: do not create one


def model_name(name: str | None = None) -> str:
    """The registered model's name: ``name`` if given, else the settings' (``churn-classifier``)."""
    from llmops.settings import get_settings

    return name or get_settings().churn_model_name


def _check_alias(alias: str) -> str:
    if not _ALIAS.match(alias or "") or alias == "latest" or re.fullmatch(r"[vV]\d+", alias):
        raise ChurnError(
            f"{alias!r} is not a usable alias: use letters, digits, '_' or '-' (not 'latest' nor v<number>)."
        )
    return alias


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _registered_model(client, name: str):
    from mlflow.exceptions import MlflowException

    try:
        return client.get_registered_model(name)
    except MlflowException:
        import mlflow

        raise ChurnError(
            f"no registered model {name!r} in {mlflow.get_tracking_uri()}: register an evaluated model first "
            "(`churn register`, or the whole chain with `churn pipeline`)."
        ) from None


def aliases(name: str | None = None, *, tracking_uri: str | None = None) -> dict[str, int]:
    """Alias -> version number of the registered model (a clear error if it is not registered)."""
    from mlflow.tracking import MlflowClient

    _setup(tracking_uri)
    name = model_name(name)
    return {alias: int(version) for alias, version in _registered_model(MlflowClient(), name).aliases.items()}


def _describe_aliases(mapping: dict[str, int]) -> str:
    if not mapping:
        return "it has no alias yet"
    return "its aliases: " + ", ".join(f"{a} -> v{v}" for a, v in sorted(mapping.items()))


def version_for_alias(alias: str, name: str | None = None, *, tracking_uri: str | None = None) -> int:
    """The version number an alias points at; a clear error naming the existing aliases otherwise."""
    mapping = aliases(name, tracking_uri=tracking_uri)
    if alias not in mapping:
        raise ChurnError(f"{model_name(name)} has no alias {alias!r}; {_describe_aliases(mapping)}.")
    return mapping[alias]


def _history(model, alias: str) -> list[int]:
    raw = model.tags.get(HISTORY_TAG.format(alias=alias), "[]")
    try:
        return [int(v) for v in json.loads(raw)]
    except (ValueError, TypeError):
        return []


def _set_history(client, name: str, alias: str, history: list[int]) -> None:
    client.set_registered_model_tag(name, HISTORY_TAG.format(alias=alias), json.dumps(history))


def _evaluation_metrics(client, version) -> dict[str, float]:
    """The held-out metrics of a version, from the evaluation run recorded on it at registration."""
    from mlflow.exceptions import MlflowException

    run_id = version.tags.get("evaluation_run_id")
    if not run_id:
        raise ChurnError(
            f"version {version.version} of {version.name} has no evaluation run (tag evaluation_run_id), so the "
            "gate cannot compare it: register models with `churn register`, which records it."
        )
    try:
        return dict(client.get_run(run_id).data.metrics)
    except MlflowException:
        raise ChurnError(
            f"the evaluation run {run_id} of version {version.version} of {version.name} is not in this "
            "tracking store."
        ) from None


# --- register ---------------------------------------------------------------------------------------------------


def _evaluation_run_for(run_id: str | None, experiment_id: str):
    """The evaluation run to register: ``run_id`` itself (an evaluation run), the latest evaluation of
    ``run_id`` (a training run), or the latest evaluation run of the experiment (``run_id`` None)."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from churn import tracking

    client = MlflowClient()
    finished = f"tags.{tracking.STAGE_TAG} = 'evaluate' AND attributes.status = 'FINISHED'"
    if run_id is None:
        runs = client.search_runs(
            [experiment_id], filter_string=finished, order_by=["attributes.start_time DESC"], max_results=1
        )
        if not runs:
            raise ChurnError(
                "no finished evaluation run in this experiment yet: run `churn train` then `churn evaluate` "
                "(the gate needs the held-out ROC AUC an evaluation records)."
            )
        return runs[0]
    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise ChurnError(f"no run with id {run_id!r} in the tracking store {tracking._uri()}.") from None
    stage = run.data.tags.get(tracking.STAGE_TAG)
    if stage == "evaluate":
        return run
    if stage != "train":
        raise ChurnError(
            f"run {run_id} is neither a training nor an evaluation run (its name is {run.info.run_name!r})."
        )
    runs = client.search_runs(
        [run.info.experiment_id],
        filter_string=f"{finished} AND tags.{tracking.TRAINING_RUN_TAG} = '{run_id}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        raise ChurnError(
            f"training run {run_id} has not been evaluated yet: run `churn evaluate --run-id {run_id}` first "
            "(the gate needs its held-out ROC AUC)."
        )
    return runs[0]


def register(
    run_id: str | None = None,
    *,
    alias: str = STAGING,
    name: str | None = None,
    experiment: str | None = None,
    tracking_uri: str | None = None,
) -> int:
    """Register the model of an evaluated training run as a new version and point ``alias`` (``staging``) at it.

    ``run_id`` is an evaluation run, or a training run (its latest evaluation is used); default: the latest
    evaluation run of the experiment. Returns the new version number.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from churn import tracking
    from churn.compare import describe

    _check_alias(alias)
    experiment_id = tracking.configure(tracking_uri, experiment)
    name = model_name(name)
    evaluation = _evaluation_run_for(run_id, experiment_id)
    training_run_id = evaluation.data.tags.get(tracking.TRAINING_RUN_TAG) or evaluation.data.params.get(
        "training_run_id"
    )
    training = tracking.get_training_run(training_run_id)
    outputs = training.outputs.model_outputs if training.outputs else []
    model_id = outputs[0].model_id if outputs else None
    source = f"models:/{model_id}" if model_id else f"runs:/{training_run_id}/model"
    auc = evaluation.data.metrics.get(GATE_METRIC)
    if auc is None:
        raise ChurnError(f"evaluation run {evaluation.info.run_id} has no {GATE_METRIC} metric.")

    client = MlflowClient()
    try:
        client.create_registered_model(
            name,
            description="Telco customer churn classifier (course Module 2): predicts 1 for a customer likely to "
            "leave. Aliases: staging (latest candidate), production (served).",
        )
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    family = training.data.tags.get(tracking.FAMILY_TAG, "")
    tags = {
        "training_run_id": training_run_id,
        "evaluation_run_id": evaluation.info.run_id,
        "model_family": family,
        "params": describe(training.data.params),
        GATE_METRIC: f"{auc:.6f}",
        "data_sha256": training.data.params.get("data_sha256", ""),
    }
    version = client.create_model_version(
        name,
        source=source,
        run_id=training_run_id,
        tags=tags,
        description=f"{describe(training.data.params)} ({family}); held-out ROC AUC {auc:.4f} "
        f"(evaluation run {evaluation.info.run_id}).",
        model_id=model_id,
    )
    client.set_registered_model_alias(name, alias, version.version)
    return int(version.version)


# --- promote and roll back ----------------------------------------------------------------------------------------


def promote(
    to: str = PRODUCTION,
    margin: float | None = None,
    *,
    source: str = STAGING,
    name: str | None = None,
    tracking_uri: str | None = None,
) -> Decision:
    """Move alias ``to`` onto the ``source`` (staging) version if it passes the ROC AUC gate; else leave it.

    The decision (either way), both ROC AUCs, the margin, the reason, who and when are written on the
    candidate version as ``promotion.*`` tags. A refusal is not an error: check ``Decision.promoted``. When the
    staging version already holds ``to`` nothing is decided or recorded (``Decision.unchanged``).
    """
    from mlflow.tracking import MlflowClient

    from llmops.settings import get_settings

    _check_alias(to)
    _check_alias(source)
    if to == source:
        raise ChurnError(f"cannot promote {source!r} onto itself: choose another --to alias.")
    margin = get_settings().churn_promotion_margin if margin is None else float(margin)
    if not math.isfinite(margin):
        raise ChurnError(f"the margin must be a finite number, not {margin}.")
    _setup(tracking_uri)
    name = model_name(name)
    client = MlflowClient()
    model = _registered_model(client, name)
    mapping = {alias: int(v) for alias, v in model.aliases.items()}
    if source not in mapping:
        raise ChurnError(
            f"no {source} version of {name} to promote ({_describe_aliases(mapping)}): register an evaluated model "
            f"first with `churn register` (it sets {source})."
        )
    candidate = client.get_model_version(name, str(mapping[source]))
    candidate_auc = _evaluation_metrics(client, candidate)[GATE_METRIC]
    current_version = mapping.get(to)
    current_auc = None
    if current_version is not None:
        current_auc = _evaluation_metrics(client, client.get_model_version(name, str(current_version)))[GATE_METRIC]

    cand = int(candidate.version)
    if current_version is None:
        promoted, reason = True, f"nothing in {to} yet: v{cand} (ROC AUC {candidate_auc:.4f}) is the first."
    elif current_version == cand:
        promoted, reason = False, f"v{cand} is already {to}: nothing to do."
    else:
        needed = current_auc + margin
        promoted = candidate_auc >= needed
        comparison = (
            f"v{cand} ROC AUC {candidate_auc:.4f} {'>=' if promoted else '<'} {needed:.4f} "
            f"(v{current_version} in {to}: {current_auc:.4f}, margin {margin:+.4f})"
        )
        reason = comparison + (f": v{cand} takes over {to}." if promoted else f": v{current_version} stays in {to}.")

    decision = Decision(
        promoted=promoted,
        model=name,
        alias=to,
        candidate_version=cand,
        candidate_roc_auc=candidate_auc,
        current_version=current_version,
        current_roc_auc=current_auc,
        margin=margin,
        reason=reason,
        by=_who(),
        at=_now(),
    )
    if decision.unchanged:
        return decision
    for key, value in {
        "decision": decision.decision,
        "alias": to,
        "candidate_roc_auc": f"{candidate_auc:.6f}",
        "current_version": "" if current_version is None else str(current_version),
        "current_roc_auc": "" if current_auc is None else f"{current_auc:.6f}",
        "margin": f"{margin:g}",
        "reason": reason,
        "by": decision.by,
        "at": decision.at,
    }.items():
        client.set_model_version_tag(name, str(cand), f"promotion.{key}", value)
    if promoted:
        client.set_registered_model_alias(name, to, str(cand))
        history = _history(model, to)
        if current_version is not None and (not history or history[-1] != current_version):
            history.append(current_version)  # the alias was moved by hand before: keep it rollback-able
        _set_history(client, name, to, [*history, cand])
    return decision


def rollback(alias: str = PRODUCTION, *, name: str | None = None, tracking_uri: str | None = None) -> int:
    """Point ``alias`` back at the version that held it before the current one; return that version."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    _check_alias(alias)
    _setup(tracking_uri)
    name = model_name(name)
    client = MlflowClient()
    model = _registered_model(client, name)
    mapping = {a: int(v) for a, v in model.aliases.items()}
    if alias not in mapping:
        raise ChurnError(f"{name} has no {alias} version to roll back; {_describe_aliases(mapping)}.")
    current = mapping[alias]
    history = _history(model, alias)
    while history and history[-1] == current:
        history.pop()
    previous = None
    while history:
        try:
            client.get_model_version(name, str(history[-1]))
            previous = history[-1]
            break
        except MlflowException:  # deleted since: skip it
            history.pop()
    if previous is None:
        raise ChurnError(
            f"v{current} is the first {alias} version of {name} on record: there is no previous one to roll "
            "back to."
        )
    client.set_registered_model_alias(name, alias, str(previous))
    _set_history(client, name, alias, history)
    for key, value in {"alias": alias, "restored_version": str(previous), "by": _who(), "at": _now()}.items():
        client.set_model_version_tag(name, str(current), f"rollback.{key}", value)
    return previous


# --- the table --------------------------------------------------------------------------------------------------


def registry_table(name: str | None = None, *, tracking_uri: str | None = None) -> list[dict[str, object]]:
    """One row per version, newest first: version, aliases, model, params, the evaluation metrics in
    :data:`TABLE_METRICS`, the last promotion decision and its reason, run ids and creation time."""
    from mlflow.tracking import MlflowClient

    _setup(tracking_uri)
    name = model_name(name)
    client = MlflowClient()
    model = _registered_model(client, name)
    by_version: dict[int, list[str]] = {}
    for alias, version in model.aliases.items():
        by_version.setdefault(int(version), []).append(alias)
    rows = []
    for version in client.search_model_versions(f"name = '{name}'", max_results=10000):
        number = int(version.version)
        try:
            metrics = _evaluation_metrics(client, version)
        except ChurnError:
            metrics = {}
        rows.append(
            {
                "version": number,
                "aliases": sorted(by_version.get(number, [])),
                "model_family": version.tags.get("model_family", ""),
                "params": version.tags.get("params", ""),
                **{metric: metrics.get(metric) for metric in TABLE_METRICS},
                "decision": version.tags.get("promotion.decision", ""),
                "reason": version.tags.get("promotion.reason", ""),
                "rolled_back": "rollback.at" in version.tags,
                "training_run_id": version.tags.get("training_run_id", version.run_id or ""),
                "evaluation_run_id": version.tags.get("evaluation_run_id", ""),
                "created": datetime.fromtimestamp(version.creation_timestamp / 1000, tz=timezone.utc),
            }
        )
    return sorted(rows, key=lambda row: row["version"], reverse=True)
