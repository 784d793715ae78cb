"""Log the analyzer as an MLflow model, register it, and promote it only through the evaluation gate.

The registered model is ``comment-analyzer-model``, not ``comment-analyzer``: MLflow keeps prompts in the model
registry's namespace and refuses a registered model named like an existing prompt ("the name is already taken
by a prompt"), and the analyzer's prompt is ``comment-analyzer``.

Aliases work as for the churn model: :func:`register` points ``staging`` at the new version; ``production``
(what ``llmops analyze --engine spark`` and ``mlflow models serve`` use) moves only through :func:`promote`,
which first runs an evaluation suite (``ci`` by default) with the version's prompt alias and refuses on a
failed gate. Every attempt is written on the version as ``promotion.*`` tags.
"""

from __future__ import annotations

import getpass
import importlib.metadata
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from llmops.errors import UserError

MODEL_NAME = "comment-analyzer-model"
STAGING = "staging"
PRODUCTION = "production"
PROMOTABLE = (STAGING, PRODUCTION)
MODEL_FILE = Path(__file__).with_name("analyzer_model.py")
#: What the model needs at inference, pinned to the versions it was logged with (MLflow would otherwise infer
#: them by importing the model in a subprocess, ~8 s per log). llmops itself is installed from the project.
REQUIREMENTS = (
    "mlflow", "openai", "langchain", "langchain-core", "langchain-openai", "langgraph", "chromadb", "pandas",
    "pydantic", "pyyaml", "httpx",
)  # fmt: skip


class ModelRegistryError(UserError, ValueError):
    """The registered model, a version or an alias is missing or the request is not allowed."""


@dataclass(frozen=True)
class Promotion:
    promoted: bool
    version: int
    alias: str
    previous: int | None
    reason: str


def pinned_requirements() -> list[str]:
    return [f"{name}=={importlib.metadata.version(name)}" for name in REQUIREMENTS]


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def log_model(
    *, prompt_alias: str = PRODUCTION, kb_dir: Path | str | None = None, customers: Path | str | None = None
) -> str:
    """Log the analyzer (models-from-code) in a run of the analyzer's experiment; returns the model URI.

    The knowledge base is indexed into a fresh folder packaged with the model, so the model answers the same
    wherever it runs; the prompt is not packaged: the model loads ``comment-analyzer@prompt_alias`` when used.
    """
    import mlflow

    from llmops.agent.analyzer import PROMPT_NAME
    from llmops.prompts import registry as prompts
    from llmops.rag import ingest
    from llmops.serving.pyfunc import signature
    from llmops.settings import get_settings
    from llmops.tracing import setup

    settings = get_settings()
    setup(autolog=False)
    prompt = prompts.ensure(PROMPT_NAME, prompt_alias, settings.prompts_dir)
    kb_dir = Path(kb_dir) if kb_dir is not None else settings.data_dir / "kb"
    customers = Path(customers) if customers is not None else settings.data_dir / "customers.csv"
    if not customers.is_file():
        raise ModelRegistryError(f"customer table {customers} does not exist (set LLMOPS_DATA_DIR)")
    with tempfile.TemporaryDirectory(prefix="llmops-model-") as tmp:
        index = Path(tmp) / "kb_index"
        ingest(kb_dir, index)
        with mlflow.start_run(run_name="analyzer-model"):
            mlflow.log_params({"prompt_alias": prompt_alias, "prompt_version_at_log": prompt.version})
            info = mlflow.pyfunc.log_model(
                name="analyzer",
                python_model=str(MODEL_FILE),
                artifacts={"kb_index": str(index), "customers": str(customers)},
                model_config={"prompt_alias": prompt_alias},
                signature=signature(),
                pip_requirements=pinned_requirements(),
            )
    return info.model_uri


def register(model_uri: str | None = None, *, prompt_alias: str = PRODUCTION, name: str = MODEL_NAME) -> int:
    """Register ``model_uri`` (a freshly logged model if None) as a new version and point ``staging`` at it."""
    import mlflow
    from mlflow import MlflowClient

    from llmops.tracing import setup

    setup(autolog=False)
    model_uri = model_uri or log_model(prompt_alias=prompt_alias)
    version = mlflow.register_model(model_uri, name, tags={"prompt_alias": prompt_alias, "registered_by": _who()})
    MlflowClient().set_registered_model_alias(name, STAGING, version.version)
    return int(version.version)


def aliases(name: str = MODEL_NAME) -> dict[str, int]:
    """Alias -> version of the registered model ({} when it is not registered)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        model = MlflowClient().get_registered_model(name)
    except MlflowException:
        return {}
    return {alias: int(v) for alias, v in model.aliases.items()}


def model_uri(alias: str = PRODUCTION, name: str = MODEL_NAME) -> str | None:
    """``models:/name@alias`` when that alias exists, else None."""
    return f"models:/{name}@{alias}" if alias in aliases(name) else None


def promote(
    version: int,
    to: str = PRODUCTION,
    *,
    require_eval: str = "ci",
    name: str = MODEL_NAME,
    eval_config: Path | str | None = None,
    eval_limit: int | None = None,
) -> Promotion:
    """Move alias ``to`` to ``version`` if the version passes suite ``require_eval``; tags record the decision.

    The suite evaluates the analyzer with the version's prompt alias (the model's behaviour is the analyzer's
    code plus that prompt), against the prompt's ``production`` as baseline when it differs.
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from llmops.evaluation.runner import run_suite
    from llmops.tracing import setup

    if to not in PROMOTABLE:
        raise ModelRegistryError(f"cannot promote to {to!r}: use one of {', '.join(PROMOTABLE)}")
    if not require_eval:
        raise ModelRegistryError("a model version is promoted only through an evaluation suite (--require-eval)")
    setup(autolog=False)
    client = MlflowClient()
    try:
        mv = client.get_model_version(name, str(version))
    except MlflowException:
        raise ModelRegistryError(f"{name} has no version {version} (register one with `llmops model register`)") from None
    prompt_alias = (mv.tags or {}).get("prompt_alias", PRODUCTION)
    previous = aliases(name).get(to)
    report = run_suite(
        require_eval, prompt_alias=prompt_alias, baseline=PRODUCTION if prompt_alias != PRODUCTION else None,
        config=eval_config, limit=eval_limit,
    )  # fmt: skip
    reason = "" if report.passed else "; ".join(report.reasons)
    tags = {
        "promotion.decision": "promoted" if report.passed else "refused",
        "promotion.alias": to,
        "promotion.suite": require_eval,
        "promotion.eval_run_id": report.candidate.run_id,
        "promotion.previous_version": str(previous or ""),
        "promotion.reason": (reason or f"suite {require_eval} passed")[:4900],
        "promotion.by": _who(),
        "promotion.at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, str(version), key, value)
    if report.passed:
        client.set_registered_model_alias(name, to, str(version))
    return Promotion(report.passed, int(version), to, previous, reason)


def versions(name: str = MODEL_NAME) -> list[dict[str, Any]]:
    """Every version with its aliases, prompt alias and last promotion decision, newest first."""
    from mlflow import MlflowClient

    by_version: dict[int, list[str]] = {}
    for alias, v in aliases(name).items():
        by_version.setdefault(v, []).append(alias)
    rows = []
    for mv in MlflowClient().search_model_versions(f"name = '{name}'"):
        tags = mv.tags or {}
        rows.append(
            {
                "version": int(mv.version),
                "aliases": sorted(by_version.get(int(mv.version), [])),
                "prompt_alias": tags.get("prompt_alias", ""),
                "decision": tags.get("promotion.decision", ""),
                "reason": tags.get("promotion.reason", ""),
                "source": mv.source,
            }
        )
    return sorted(rows, key=lambda r: -r["version"])
