"""The whole Module 2 chain in one call: train -> evaluate -> register (staging) -> promote (gate) -> serve ->
smoke request -> stop.

:func:`pipeline` returns a :class:`PipelineSummary` (run ids, the new version, the gate's decision, what was
served and what it answered, seconds per stage). The gate may refuse the new version: the pipeline then still
serves (and smoke-tests) the version that stays in production, and says so. Run it as ``uv run churn pipeline``
or ``uv run mlflow run . -e pipeline --env-manager local``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from churn.register import Decision
from churn.train import TrainParams

SMOKE_CUSTOMERS = 5


@dataclass
class PipelineSummary:
    training_run_id: str
    evaluation_run_id: str
    model: str
    version: int
    roc_auc: float
    decision: Decision
    served_version: int | None = None
    url: str | None = None
    smoke_customers: list[str] = field(default_factory=list)
    smoke_predictions: list[int] = field(default_factory=list)
    smoke_expected: list[int] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def smoke_ok(self) -> bool:
        """The served model answered every smoke customer exactly as the registered model does in-process."""
        return bool(self.smoke_predictions) and self.smoke_predictions == self.smoke_expected


def pipeline(
    params: TrainParams | None = None,
    *,
    data: str | Path | None = None,
    experiment: str | None = None,
    tracking_uri: str | None = None,
    name: str | None = None,
    margin: float | None = None,
    port: int = 0,
    serve: bool = True,
    on_stage: Callable[[str, float, dict], None] | None = None,
) -> PipelineSummary:
    """Run the chain; ``on_stage(stage, seconds, details)`` is called after each stage (for progress output).

    ``port`` 0 serves on any free port (the server only lives for the smoke request); ``serve=False`` stops
    after the promotion.
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    from churn import loader, register
    from churn import serve as serving
    from churn.evaluate import evaluate
    from churn.train import train

    params = params or TrainParams()
    seconds: dict[str, float] = {}

    def done(stage: str, started: float, **details) -> None:
        seconds[stage] = time.perf_counter() - started
        if on_stage:
            on_stage(stage, seconds[stage], details)

    t = time.perf_counter()
    training_run_id = train(params, data=data, experiment=experiment, tracking_uri=tracking_uri)
    done("train", t, run_id=training_run_id, family=params.family)

    t = time.perf_counter()
    evaluation_run_id = evaluate(training_run_id, data=data, experiment=experiment, tracking_uri=tracking_uri)
    roc_auc = MlflowClient().get_run(evaluation_run_id).data.metrics["roc_auc"]
    done("evaluate", t, run_id=evaluation_run_id, roc_auc=roc_auc)

    t = time.perf_counter()
    name = register.model_name(name)
    version = register.register(evaluation_run_id, name=name, experiment=experiment, tracking_uri=tracking_uri)
    done("register", t, model=name, version=version)

    t = time.perf_counter()
    decision = register.promote(register.PRODUCTION, margin, name=name, tracking_uri=tracking_uri)
    done("promote", t, decision=decision)

    summary = PipelineSummary(
        training_run_id=training_run_id,
        evaluation_run_id=evaluation_run_id,
        model=name,
        version=version,
        roc_auc=roc_auc,
        decision=decision,
        seconds=seconds,
    )
    if not serve:
        return summary

    t = time.perf_counter()
    with serving.serve(register.PRODUCTION, port, name=name, tracking_uri=tracking_uri) as server:
        summary.served_version, summary.url = server.version, server.url
        done("serve", t, url=server.url, version=server.version)

        t = time.perf_counter()
        # A few held-out customers: what the served model answers must be what the registered model predicts.
        _, test_df = loader.split(loader.load(data), params.test_size, params.split_seed)
        customers = test_df.head(SMOKE_CUSTOMERS)
        summary.smoke_customers = customers[loader.ID].tolist()
        summary.smoke_predictions = [int(p) for p in serving.predict(server.url, loader.features(customers))]
        production = mlflow.pyfunc.load_model(f"models:/{name}/{server.version}")
        summary.smoke_expected = [int(p) for p in production.predict(loader.features(customers))]
        done("smoke", t, predictions=summary.smoke_predictions, ok=summary.smoke_ok)
    return summary
