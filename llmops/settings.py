"""The one place that reads the environment.

Every other module asks :func:`get_settings` instead of reading ``os.environ`` itself, so a newcomer can see
every knob in one file and a test can change any of them with ``monkeypatch.setenv``.

Reading the settings has one deliberate side effect: when the LLM backend is the offline model, it sets the
environment variables that keep MLflow and chromadb from calling out to the internet (telemetry, MLflow's model
catalogue). Those are ``setdefault``-ed, so a user who sets them explicitly wins.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from llmops.errors import UserError

BACKENDS = ("offline", "openai")

#: IBM's public copy of the Telco Customer Churn data (Apache-2.0); only fetched when the file is missing.
TELCO_CHURN_URL = (
    "https://raw.githubusercontent.com/IBM/telco-customer-churn-on-icp4d/master/data/Telco-Customer-Churn.csv"
)
TELCO_CHURN_SHA256 = "16320c9c1ec72448db59aa0a26a0b95401046bef5d02fd3aeb906448e3055e91"

#: Variables that keep MLflow (and friends) offline. Without them the first judge call spends 8-10 s fetching
#: a model catalogue, and telemetry tries to phone home.
OFFLINE_GUARDS = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_MODEL_CATALOG_URI": "",
    "DO_NOT_TRACK": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}


class SettingsError(UserError, ValueError):
    """A setting from the environment is invalid; the message names the variable and the accepted values."""


@dataclass(frozen=True)
class Settings:
    tracking_uri: str
    experiment_name: str
    llm_backend: str
    llm_base_url: str | None
    chat_model: str
    embedding_model: str
    judge_model: str
    data_dir: Path
    chroma_dir: Path
    offline_faults: str
    tickets_db: Path
    prompts_dir: Path
    churn_data: Path
    churn_data_url: str
    churn_experiment: str
    churn_data_sha256: str
    # churn Module 2: the registered model, the promotion gate, the local scoring server
    churn_model_name: str = "churn-classifier"
    churn_promotion_margin: float = 0.0
    churn_serve_port: int = 5001
    churn_serve_workers: int = 1
    churn_serve_timeout: float = 120.0
    churn_serve_engine: str = "batching"
    churn_serve_batch_wait_ms: float = 2.0
    # Never printed: a repr of the settings ends up in logs and tracebacks.
    llm_api_key: str | None = field(default=None, repr=False)
    # production mode: the tracking server's database, read directly by the analysis (may hold a password)
    backend_store_uri: str | None = field(default=None, repr=False)

    @property
    def offline(self) -> bool:
        return self.llm_backend == "offline"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value.strip() == "" else value.strip()


#: How `churn serve` runs MLflow's scoring server: with request batching (churn/batching.py) or as `mlflow models serve`.
SERVE_ENGINES = ("batching", "mlflow")


def _number(name: str, default: str, kind: type, minimum: float | None = None) -> int | float:
    raw = _env(name, default)
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a {'whole number' if kind is int else 'number'}.") from None
    if minimum is not None and value < minimum:
        raise SettingsError(f"{name}={raw!r} must be at least {minimum}.")
    return value


def get_settings() -> Settings:
    """Read the settings from the environment (cheap: no import of mlflow or any client library)."""
    backend = _env("LLMOPS_LLM_BACKEND", "offline").lower()
    if backend not in BACKENDS:
        raise SettingsError(
            f"LLMOPS_LLM_BACKEND={backend!r} is not a known backend; use one of: {', '.join(BACKENDS)} "
            "('openai' means any OpenAI-compatible endpoint, set with LLMOPS_LLM_BASE_URL and OPENAI_API_KEY)."
        )
    base_url = os.environ.get("LLMOPS_LLM_BASE_URL") or None
    api_key = os.environ.get("OPENAI_API_KEY") or None
    if backend == "openai" and not api_key and not base_url:
        raise SettingsError(
            "LLMOPS_LLM_BACKEND=openai needs OPENAI_API_KEY (for OpenAI) or LLMOPS_LLM_BASE_URL "
            "(for a compatible local server)."
        )
    engine = _env("CHURN_SERVE_ENGINE", "batching")
    if engine not in SERVE_ENGINES:
        raise SettingsError(f"CHURN_SERVE_ENGINE={engine!r} is not a serving engine; use one of: {', '.join(SERVE_ENGINES)}.")
    default_chat = "offline-analyst" if backend == "offline" else "gpt-4o-mini"
    default_embed = "offline-embed" if backend == "offline" else "text-embedding-3-small"
    data_dir = Path(_env("LLMOPS_DATA_DIR", "data"))
    settings = Settings(
        tracking_uri=_env("LLMOPS_TRACKING_URI", _env("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")),
        experiment_name=_env("LLMOPS_EXPERIMENT", "comment-analyzer"),
        llm_backend=backend,
        llm_base_url=base_url,
        chat_model=_env("LLMOPS_CHAT_MODEL", default_chat),
        embedding_model=_env("LLMOPS_EMBEDDING_MODEL", default_embed),
        judge_model=_env("LLMOPS_JUDGE_MODEL", default_chat),
        data_dir=data_dir,
        chroma_dir=Path(_env("LLMOPS_CHROMA_DIR", ".chroma")),
        offline_faults=_env("LLMOPS_OFFLINE_FAULTS", ""),
        tickets_db=Path(_env("LLMOPS_TICKETS_DB", "tickets.db")),
        prompts_dir=Path(_env("LLMOPS_PROMPTS_DIR", "prompts")),
        churn_data=Path(_env("CHURN_DATA", str(data_dir / "telco_churn.csv"))),
        churn_data_url=_env("CHURN_DATA_URL", TELCO_CHURN_URL),
        churn_experiment=_env("CHURN_EXPERIMENT", "churn"),
        churn_data_sha256=_env("CHURN_DATA_SHA256", TELCO_CHURN_SHA256),
        churn_model_name=_env("CHURN_MODEL_NAME", "churn-classifier"),
        churn_promotion_margin=_number("CHURN_PROMOTION_MARGIN", "0.0", float),
        churn_serve_port=_number("CHURN_SERVE_PORT", "5001", int, minimum=0),
        churn_serve_workers=_number("CHURN_SERVE_WORKERS", "1", int, minimum=1),
        churn_serve_timeout=_number("CHURN_SERVE_TIMEOUT", "120", float, minimum=1),
        churn_serve_engine=engine,
        churn_serve_batch_wait_ms=_number("CHURN_SERVE_BATCH_WAIT_MS", "2", float, minimum=0),
        llm_api_key=api_key,
        backend_store_uri=os.environ.get("LLMOPS_BACKEND_STORE_URI", "").strip() or None,
    )
    if settings.offline:
        apply_offline_guards()
    return settings


def apply_offline_guards() -> None:
    """Set (without overriding) the variables that keep MLflow, chromadb and HF libraries offline."""
    for name, value in OFFLINE_GUARDS.items():
        os.environ.setdefault(name, value)
