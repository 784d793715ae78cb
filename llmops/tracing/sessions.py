"""Users and sessions: tag every trace made inside a block with the metadata MLflow's UI groups by.

MLflow 3.17 reads the user from trace metadata ``mlflow.trace.user`` and the session from
``mlflow.trace.session`` (the SQL store also copies the session into an indexed column, so
``search_traces(filter_string="metadata.`mlflow.trace.session` = 's-1'")`` is cheap). ``session()``
sets both for every trace *started* inside the block, including traces created by the OpenAI / LangChain
autologs, through ``mlflow.tracing.context``; and when a trace is already running it updates that trace
too, so it also works when entered inside a traced function.

Identifiers that contain PII (an e-mail used as a user id) are replaced by a stable pseudonym when
redaction is on, so per-user views keep working without storing the address (see
:func:`llmops.tracing.redaction.pseudonymize`).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

USER_KEY = "mlflow.trace.user"
SESSION_KEY = "mlflow.trace.session"


@dataclass(frozen=True)
class Session:
    session_id: str
    user_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@contextlib.contextmanager
def session(
    user_id: str | None = None,
    session_id: str | None = None,
    *,
    metadata: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> Iterator[Session]:
    """Attribute every trace inside the block to ``user_id`` and ``session_id`` (generated if omitted).

    ``metadata`` (immutable once stored) and ``tags`` (editable later in the UI) are added to each trace as
    well. Sessions nest: the inner values win. Yields a :class:`Session` with the ids actually used.
    """
    import mlflow

    sid = session_id if session_id is not None else f"s-{uuid.uuid4().hex[:12]}"
    extra = {str(k): str(v) for k, v in (metadata or {}).items()}
    tag_values = {str(k): str(v) for k, v in (tags or {}).items()}
    with mlflow.tracing.context(metadata=extra or None, tags=tag_values or None, session_id=sid, user=user_id):
        if mlflow.get_current_active_span() is not None:
            # The trace already started: context() only applies to traces started later.
            update = {SESSION_KEY: sid, **extra}
            if user_id is not None:
                update[USER_KEY] = user_id
            mlflow.update_current_trace(metadata=update, tags=tag_values or None)
        yield Session(session_id=sid, user_id=user_id, metadata=extra)
