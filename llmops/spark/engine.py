"""Batch analysis on Spark: the same comments, rows and summary as the local engine, scored by the logged model.

How a run goes:

1. The driver reads the CSV with the local engine's reader (same validation, same row numbers and errors).
2. Comments already in the output are skipped (``resume``); the rest go in *waves* of ``wave_rows``.
3. Each wave is one Spark job: its rows are spread over partitions, each partition runs the model through
   ``mlflow.pyfunc.spark_udf`` (``env_manager="local"``: the executors' Python is this project's), and the
   job appends one Parquet file per partition to the output dataset. Spark commits a job's files only when the
   whole job succeeded, so a killed run leaves complete waves and nothing of the wave in flight: ``resume``
   redoes that wave only, and no row is written twice.
4. Each executor's model sends its traces through the lossless writer and flushes it before handing rows back
   (see :mod:`llmops.serving.pyfunc`), so every row written has its trace in the store.

The output is a Parquet dataset (a folder). For small runs ``--out results.csv`` also works: the Parquet dataset
is kept next to it as ``results.csv.parts/`` (what ``--resume`` continues) and the CSV, with the local
engine's columns, is written from it at the end.

On a cluster (``master="spark://..."``, ``yarn``, ``k8s://...``) the same code runs; the tracking store must then
be a server every executor reaches (``LLMOPS_TRACKING_URI=http://...``), not a SQLite file on the driver.
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any, Callable

from llmops.agent.analyzer import Comment
from llmops.agent.batch import RESULT_COLUMNS, BatchReport, InputError, summarize
from llmops.serving.pyfunc import INPUT_COLUMNS, as_cell

DEFAULT_MASTER = "local[2]"
#: Rows per Spark job: what a killed run may have to redo, against one job's start-up cost (~1 s locally).
DEFAULT_WAVE_ROWS = 2000
_INTEGERS = ("row", "prompt_version", "llm_calls", "tokens")
_DOUBLES = ("latency_ms", "cost_usd")


def spark_session(master: str | None = None, *, app_name: str = "llmops-analyze", shuffle_partitions: int = 4) -> Any:
    """A SparkSession for analysis runs (the active one if there is one).

    In local mode Spark binds 127.0.0.1 and its web UI is off; executors run this interpreter. Rows reach the
    model in Arrow batches of at most 64, so traces are flushed at least every 64 rows.
    """
    from pyspark.sql import SparkSession

    master = master or DEFAULT_MASTER
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "64")
        .config("spark.python.worker.reuse", "true")
    )
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    return builder.getOrCreate()


def resolve_model(model_uri: str | None, say: Callable[[str], None] = lambda _: None) -> str:
    """``model_uri``, else ``models:/comment-analyzer-model@production``, else a model logged now from this code."""
    from llmops import serving

    if model_uri:
        return model_uri
    registered = serving.model_uri("production")
    if registered:
        return registered
    say(f"no {serving.MODEL_NAME}@production in the registry: logging the analyzer from this checkout")
    return serving.log_model()


def _executor_env() -> dict[str, str]:
    """The settings the executors need, made absolute: an executor does not share the driver's folder."""
    from llmops.settings import get_settings

    settings = get_settings()
    uri = settings.tracking_uri
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        uri = "sqlite:///" + str(Path(uri[len("sqlite:///"):]).resolve())
    return {
        "LLMOPS_TRACKING_URI": uri,
        "MLFLOW_TRACKING_URI": uri,
        "LLMOPS_EXPERIMENT": settings.experiment_name,
        "LLMOPS_TICKETS_DB": str(settings.tickets_db.resolve()),
        "LLMOPS_PROMPTS_DIR": str(settings.prompts_dir.resolve()),
        "LLMOPS_DATA_DIR": str(settings.data_dir.resolve()),
        "LLMOPS_LLM_BACKEND": settings.llm_backend,
    }


def _dataset_path(out: Path) -> Path:
    return out.with_name(out.name + ".parts") if out.suffix.lower() == ".csv" else out


def read_results(dataset: Path) -> list[dict]:
    """The rows of an output dataset, valued as the local engine's CSV has them (strings), by input row."""
    import pandas as pd

    if not dataset.exists():
        return []
    if not dataset.is_dir():
        raise InputError(f"{dataset} is not a Parquet dataset of this tool (a folder); use another --out")
    # Only committed files, at the top: what a killed job left (under _temporary/) is not part of the results.
    parts = sorted(p for p in dataset.glob("*.parquet") if not p.name.startswith(("_", ".")))
    if not parts:
        return []
    frame = pd.concat([pd.read_parquet(p, dtype_backend="pyarrow") for p in parts], ignore_index=True)
    missing = [c for c in RESULT_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"{dataset} is not a results dataset of this tool (no {', '.join(missing)}); use another --out")
    frame = frame.sort_values("row")
    return [{c: as_cell(r[c]) for c in RESULT_COLUMNS} for r in frame.to_dict("records")]


def run_spark(
    comments: list[Comment],
    out: Path | str,
    *,
    spark: Any,
    model_uri: str,
    resume: bool = False,
    limit: int | None = None,
    prompt_alias: str = "production",
    session_id: str | None = None,
    partitions: int | None = None,
    wave_rows: int = DEFAULT_WAVE_ROWS,
    on_wave: Callable[[int, int], None] | None = None,
) -> BatchReport:
    """Analyse ``comments`` (the first ``limit``) on ``spark`` into ``out``; returns every row of this run's scope."""
    import mlflow
    import pandas as pd
    from pyspark.sql import functions as F
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    out = Path(out)
    dataset = _dataset_path(out)
    if not resume:
        for path in (dataset, out):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    # A killed job leaves its committed tasks under _temporary/0/: the next job's commit would move them into
    # the dataset next to the same rows analysed again. They are not results yet: drop them.
    shutil.rmtree(dataset / "_temporary", ignore_errors=True)
    scope = comments[:limit] if limit else comments
    done = {r["comment_id"] for r in read_results(dataset)}
    todo = [c for c in scope if c.comment_id not in done]
    skipped = len(scope) - len(todo)
    session_id = session_id or f"batch-{uuid.uuid4().hex[:8]}"
    slots = partitions or spark.sparkContext.defaultParallelism

    env = _executor_env()
    mlflow.set_tracking_uri(env["LLMOPS_TRACKING_URI"])
    udf = mlflow.pyfunc.spark_udf(
        spark, model_uri, env_manager="local", params={"prompt_alias": prompt_alias, "session_id": session_id},
        extra_env=env,
    )  # fmt: skip
    schema = StructType(
        [StructField(name, LongType() if name == "row" else StringType(), True) for name in INPUT_COLUMNS]
    )
    for start in range(0, len(todo), wave_rows):
        wave = todo[start : start + wave_rows]
        frame = pd.DataFrame(
            [(c.comment_id, c.text, c.customer_id, c.channel, c.row) for c in wave], columns=list(INPUT_COLUMNS)
        )
        rows = spark.createDataFrame(frame, schema=schema).repartition(max(1, min(slots, len(wave))))
        scored = rows.select(udf(*[F.col(c) for c in INPUT_COLUMNS]).alias("r")).select("r.*")
        typed = scored.select(
            *[
                # try_cast: an error row's empty cells become nulls (a plain cast fails in Spark's ANSI mode).
                F.col(c).try_cast("long").alias(c) if c in _INTEGERS
                else F.col(c).try_cast("double").alias(c) if c in _DOUBLES
                else F.col(c)
                for c in RESULT_COLUMNS
            ]
        )  # fmt: skip
        typed.write.mode("append").parquet(str(dataset))
        if on_wave:
            on_wave(start + len(wave), len(todo))

    in_scope = {c.comment_id for c in scope}
    rows = [r for r in read_results(dataset) if r["comment_id"] in in_scope]
    if out != dataset:
        pd.DataFrame(rows, columns=RESULT_COLUMNS).to_csv(out, index=False)
    return BatchReport(rows=rows, skipped_on_resume=skipped, session_id=session_id, summary=summarize(rows))
