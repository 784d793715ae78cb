"""The analyzer as an MLflow ``PythonModel``: a DataFrame of comments in, one result or error row per comment out.

The columns out are the local engine's (:data:`llmops.agent.batch.RESULT_COLUMNS`), values written as that
engine writes them in its CSV (strings; ``topics`` and ``citations`` joined by ``|``), so a Spark run, a REST
answer and ``llmops analyze`` can be compared cell by cell. A comment that cannot be analysed comes back as a
row with ``status=error`` and its cause, never as an exception that would lose the rest of the batch.

What the model carries (artifacts) and what it looks up at predict time:

* ``kb_index``: the chromadb index of the knowledge base, built when the model is logged; each process copies
  it once to a folder of its own, since several processes writing chromadb's SQLite file would corrupt it;
* ``customers``: the customer table ``lookup_customer`` reads;
* the system prompt, loaded by alias from the prompt registry at predict time (``prompt_alias`` in the
  model config, or the ``prompt_alias`` param): promoting a prompt changes what the model does, without
  logging it again;
* the tracking store and experiment of its traces, from the environment (``LLMOPS_TRACKING_URI``...), as for
  every llmops process; traces go through the lossless writer and are flushed before ``predict`` returns, so a
  row handed back has its trace in the store.

This module imports mlflow (it defines a ``PythonModel``): import it only where a model is logged or loaded.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from mlflow.pyfunc import PythonModel

from llmops.agent.batch import RESULT_COLUMNS

#: The columns a request may carry; only ``comment_id`` and ``text`` are required.
INPUT_COLUMNS = {"comment_id": True, "text": True, "customer_id": False, "channel": False, "row": False}
DEFAULT_PROMPT_ALIAS = "production"

# One analyzer per process and prompt alias: Spark loads the model again for every partition, and the
# analyzer (agent, chromadb handle, offline model server) is what costs time to build.
_ANALYZERS: dict[tuple[str, str, str], Any] = {}
_INDEX_COPIES: dict[str, str] = {}
_LOCK = threading.RLock()


def signature() -> Any:
    """Input: the comment columns; output: every result column as a string; params: prompt alias, session."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    inputs = Schema(
        [ColSpec("long" if name == "row" else "string", name, required=req) for name, req in INPUT_COLUMNS.items()]
    )
    outputs = Schema([ColSpec("string", name) for name in RESULT_COLUMNS])
    params = ParamSchema(
        [ParamSpec("prompt_alias", "string", DEFAULT_PROMPT_ALIAS), ParamSpec("session_id", "string", "")]
    )
    return ModelSignature(inputs=inputs, outputs=outputs, params=params)


def _private_index(packaged: str) -> str:
    with _LOCK:
        if packaged not in _INDEX_COPIES:
            target = Path(tempfile.mkdtemp(prefix="llmops-kb-")) / "index"
            shutil.copytree(packaged, target)
            _INDEX_COPIES[packaged] = str(target)
        return _INDEX_COPIES[packaged]


def _analyzer(artifacts: dict[str, str], alias: str) -> Any:
    from llmops.agent.analyzer import Analyzer
    from llmops.agent.customers import CustomerTable
    from llmops.rag import Retriever

    key = (artifacts["kb_index"], artifacts["customers"], alias)
    with _LOCK:
        if key not in _ANALYZERS:
            _ANALYZERS[key] = Analyzer(
                prompt_alias=alias,
                retriever=Retriever(_private_index(artifacts["kb_index"])),
                customers=CustomerTable.load(artifacts["customers"]),
            )
        return _ANALYZERS[key]


def as_cell(value: Any) -> str:
    """A value as the local engine's CSV writes it: missing values (None, NaN, NA) become ''."""
    import pandas as pd

    return "" if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) else str(value)


def _comments(frame: Any) -> list[Any]:
    from llmops.agent.analyzer import Comment

    comments = []
    for position, record in enumerate(frame.to_dict("records"), start=1):
        row = record.get("row")
        comments.append(
            Comment(
                comment_id=as_cell(record.get("comment_id")).strip() or f"row-{position}",
                text=as_cell(record.get("text")),
                customer_id=as_cell(record.get("customer_id")).strip() or None,
                channel=as_cell(record.get("channel")).strip() or "unknown",
                # Without a file row (a REST request), errors name the comment's position in the request.
                row=int(row) if as_cell(row) else position,
            )
        )
    return comments


class AnalyzerModel(PythonModel):
    """The comment analyzer behind MLflow's pyfunc interface (``mlflow.pyfunc.load_model``, ``spark_udf``,
    ``mlflow models serve``)."""

    def load_context(self, context: Any) -> None:
        from llmops.tracing import setup

        self.artifacts = dict(context.artifacts)
        self.default_alias = (context.model_config or {}).get("prompt_alias", DEFAULT_PROMPT_ALIAS)
        setup()
        _analyzer(self.artifacts, self.default_alias)  # fail at load, not on the first row, if the alias is missing

    # model_input is left unannotated: MLflow reads predict()'s type hints as a second signature.
    def predict(self, context, model_input, params: dict[str, Any] | None = None):
        import pandas as pd

        from llmops.agent.batch import _error_row, _result_row
        from llmops.agent.analyzer import AnalysisError
        from llmops.tracing import flush, setup

        params = params or {}
        setup()  # the same store as at load unless the environment moved it (cheap when nothing changed)
        analyzer = _analyzer(self.artifacts, params.get("prompt_alias") or self.default_alias)
        session_id = params.get("session_id") or None
        rows = []
        for comment in _comments(model_input):
            try:
                rows.append(_result_row(comment, analyzer.analyze(comment, session_id=session_id)))
            except AnalysisError as exc:
                rows.append(_error_row(comment, exc.cause, str(exc), exc.trace_id))
            except Exception as exc:  # a bug must not lose the row (nor the batch): recorded with its cause
                rows.append(_error_row(comment, type(exc).__name__, f"{type(exc).__name__}: {exc}", None))
        # The rows leave only once their traces are stored: a caller that keeps a row may count on its trace.
        flush()
        frame = pd.DataFrame(rows, columns=RESULT_COLUMNS)
        return frame.map(as_cell)

