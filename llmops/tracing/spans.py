"""Typed span helpers: one decorator / context manager per span type, over mlflow's own span machinery.

Each helper works three ways::

    @agent_span                       # span named after the function
    def analyze(comment): ...

    @tool_span(name="lookup_order")   # explicit name and attributes
    def lookup(order_id): ...

    with retriever_span("kb") as span:
        docs = collection.query(...)
        record_documents(span, docs)

As decorators they *are* ``mlflow.trace(span_type=...)`` (built once, at decoration time), so a call costs
exactly what ``@mlflow.trace`` costs and keeps its support for async functions and generators. What they
add: the span type is never forgotten or misspelt, the same name works as a context manager, and
retrievers record their results in the shape MLflow's retrieval views and judges expect
(``mlflow.entities.Document``: ``page_content``, ``metadata``, ``id``).
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from mlflow.entities import Document, LiveSpan

F = TypeVar("F", bound=Callable[..., Any])

# Same strings as mlflow.entities.SpanType; spelled out so importing this module does not import mlflow.
AGENT, TOOL, RETRIEVER, LLM, CHAT_MODEL, CHAIN, EMBEDDING = (
    "AGENT",
    "TOOL",
    "RETRIEVER",
    "LLM",
    "CHAT_MODEL",
    "CHAIN",
    "EMBEDDING",
)


# Open ``with`` blocks of SpanSpec objects, per thread / asyncio task: a spec may be shared (module level)
# and entered concurrently, so its context manager cannot live on the spec itself.
_OPEN_BLOCKS: contextvars.ContextVar[tuple[tuple[SpanSpec, Any], ...]] = contextvars.ContextVar(
    "llmops_open_span_blocks", default=()
)


class SpanSpec:
    """A named span of a given type: use it as a decorator or as a ``with`` block (yields the LiveSpan)."""

    __slots__ = ("name", "span_type", "attributes")

    def __init__(self, span_type: str, name: str | None = None, attributes: Mapping[str, Any] | None = None):
        self.span_type = span_type
        self.name = name
        self.attributes = dict(attributes) if attributes else None

    def __call__(self, func: F) -> F:
        return _decorate(func, self.span_type, self.name, self.attributes)

    def __enter__(self) -> LiveSpan:
        import mlflow

        manager = mlflow.start_span(
            name=self.name or self.span_type.lower(), span_type=self.span_type, attributes=self.attributes
        )
        span = manager.__enter__()
        _OPEN_BLOCKS.set((*_OPEN_BLOCKS.get(), (self, manager)))
        return span

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool | None:
        blocks = _OPEN_BLOCKS.get()
        for i in range(len(blocks) - 1, -1, -1):
            if blocks[i][0] is self:
                _OPEN_BLOCKS.set(blocks[:i] + blocks[i + 1 :])
                return blocks[i][1].__exit__(exc_type, exc, tb)
        raise RuntimeError(f"{self!r} exited without a matching enter in this thread / task")

    def __repr__(self) -> str:
        return f"SpanSpec({self.span_type}, name={self.name!r})"


def _decorate(func: F, span_type: str, name: str | None, attributes: Mapping[str, Any] | None) -> F:
    import mlflow

    if span_type == RETRIEVER and not (inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func)):
        func = _record_returned_documents(func)
    return mlflow.trace(func, name=name, span_type=span_type, attributes=dict(attributes) if attributes else None)


def _record_returned_documents(func: F) -> F:
    """Wrap a retriever so its return value is also stored as Documents on its span (it still returns
    whatever it returned)."""
    import mlflow

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            result = await func(*args, **kwargs)
            if (span := mlflow.get_current_active_span()) is not None:
                record_documents(span, result)
            return result

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = func(*args, **kwargs)
        if (span := mlflow.get_current_active_span()) is not None:
            record_documents(span, result)
        return result

    return wrapper  # type: ignore[return-value]


class _SpanHelper:
    __slots__ = ("span_type", "__name__", "__doc__")

    def __init__(self, span_type: str, doc: str) -> None:
        self.span_type = span_type
        self.__name__ = f"{span_type.lower()}_span"
        self.__doc__ = doc

    @overload
    def __call__(self, func: F, /) -> F: ...

    @overload
    def __call__(self, name: str | None = None, /, *, attributes: Mapping[str, Any] | None = None) -> SpanSpec: ...

    @overload
    def __call__(self, *, name: str | None = None, attributes: Mapping[str, Any] | None = None) -> SpanSpec: ...

    def __call__(self, func_or_name: Any = None, /, *, name: str | None = None, attributes: Any = None) -> Any:
        if callable(func_or_name):
            return _decorate(func_or_name, self.span_type, name, attributes)
        return SpanSpec(self.span_type, func_or_name or name, attributes)

    def __repr__(self) -> str:
        return f"<{self.__name__}>"


agent_span = _SpanHelper(AGENT, "An AGENT span: the step that plans and calls tools / models.")
tool_span = _SpanHelper(TOOL, "A TOOL span: one tool call made by an agent.")
retriever_span = _SpanHelper(RETRIEVER, "A RETRIEVER span; a decorated retriever's results are stored as Documents.")
llm_span = _SpanHelper(LLM, "An LLM span: a model call you make by hand (autologs create their own).")
chain_span = _SpanHelper(CHAIN, "A CHAIN span: a pipeline step that groups others.")
embedding_span = _SpanHelper(EMBEDDING, "An EMBEDDING span: text to vectors.")


# ---------------------------------------------------------------------------------------------------------
# Retrieved documents
# ---------------------------------------------------------------------------------------------------------


def to_documents(results: Any) -> list[Document]:
    """Normalise retrieval results to ``mlflow.entities.Document``.

    Accepts Documents, LangChain documents (anything with ``page_content``), dicts with ``page_content``
    (or ``content`` / ``text`` / ``document``) plus optional ``metadata`` / ``id`` / ``score``, plain
    strings, and a chromadb ``query()`` result (first query; the distance goes into the metadata).
    """
    from mlflow.entities import Document

    if results is None:
        return []
    if isinstance(results, Mapping) and "documents" in results and "ids" in results:
        return _from_chroma(results)
    if isinstance(results, (str, Mapping)) or not isinstance(results, Iterable):
        results = [results]
    documents = []
    for item in results:
        if isinstance(item, Document):
            documents.append(item)
        elif hasattr(item, "page_content"):
            documents.append(Document.from_langchain_document(item))
        elif isinstance(item, Mapping):
            content = next((item[k] for k in ("page_content", "content", "text", "document") if k in item), "")
            metadata = dict(item.get("metadata") or {})
            if "score" in item and "score" not in metadata:
                metadata["score"] = item["score"]
            doc_id = item.get("id")
            documents.append(
                Document(page_content=str(content), metadata=metadata, id=None if doc_id is None else str(doc_id))
            )
        else:
            documents.append(Document(page_content=str(item)))
    return documents


def _from_chroma(result: Mapping[str, Any]) -> list[Document]:
    from mlflow.entities import Document

    def first(key: str) -> list[Any]:
        value = result.get(key)
        if not value:
            return []
        # query() returns one list per query text; get() returns a flat list.
        return list(value[0]) if isinstance(value[0], (list, tuple)) else list(value)

    ids, texts, metadatas, distances = first("ids"), first("documents"), first("metadatas"), first("distances")
    documents = []
    for i, text in enumerate(texts):
        metadata = dict(metadatas[i] or {}) if i < len(metadatas) else {}
        if i < len(distances):
            metadata.setdefault("distance", distances[i])
        documents.append(Document(page_content=text or "", metadata=metadata, id=str(ids[i]) if i < len(ids) else None))
    return documents


def record_documents(span: Any, results: Any) -> list[Document]:
    """Store retrieval results as the span's outputs, in MLflow's retriever shape; returns the Documents.

    Use it inside ``with retriever_span(...) as span`` (decorated retrievers do it automatically).
    """
    documents = to_documents(results)
    span.set_outputs([doc.to_dict() for doc in documents])
    return documents


def record_usage(
    span: Any, *, input_tokens: int, output_tokens: int, model: str | None = None, total_tokens: int | None = None
) -> None:
    """Record token usage (and the model) on a span you created for a model call, so the trace gets
    MLflow's token totals and an ``llmops.cost_usd`` cost, as with autologged calls."""
    span.set_attribute(
        "mlflow.chat.tokenUsage",
        {
            "input_tokens": int(input_tokens),
            "output_tokens": int(output_tokens),
            "total_tokens": int(total_tokens if total_tokens is not None else input_tokens + output_tokens),
        },
    )
    if model:
        span.set_attribute("mlflow.llm.model", model)
