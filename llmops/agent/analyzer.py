"""The comment analyzer: a LangChain agent with three tools and a structured answer, one trace per comment.

A trace looks like this in the MLflow UI::

    analyze_comment [AGENT]                     inputs: comment id, customer, channel, text (redacted)
      LangGraph [CHAIN]                         (mlflow.langchain.autolog)
        model [CHAIN] > ChatOpenAI [CHAT_MODEL] one per LLM call, with token usage
        tools [CHAIN] > search_knowledge_base [TOOL] > retrieve_knowledge_base [RETRIEVER]
                      > lookup_customer [TOOL], create_ticket [TOOL]

and carries the session and user tags, the linked prompt version, token usage and cost.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops.agent.customers import CustomerTable
from llmops.agent.safety import delimit, detect_injection
from llmops.agent.schema import AnalysisResult, CommentAnalysis
from llmops.agent.tickets import TicketStore
from llmops.agent.tools import TOOLS, AnalysisContext

PROMPT_NAME = "comment-analyzer"

# LangGraph's state serializer warns that it cannot serialise the per-comment context object (it holds the
# retriever and the ticket store, which it should not serialise anyway); the warning is noise for users.
warnings.filterwarnings(
    "ignore", message=r"Pydantic serializer warnings:\s+PydanticSerializationUnexpectedValue\(Expected `none`[^\]]*field_name='context'"
)


class AnalysisError(RuntimeError):
    """A comment could not be analysed; ``cause`` is a short machine-readable reason."""

    def __init__(self, cause: str, message: str, trace_id: str | None = None) -> None:
        super().__init__(message)
        self.cause = cause
        self.trace_id = trace_id


@dataclass(frozen=True)
class Comment:
    comment_id: str
    text: str
    customer_id: str | None = None
    channel: str = "unknown"
    row: int | None = None  # line in the source file, for error messages


def _is_retryable(exc: Exception) -> bool:
    import openai

    if isinstance(exc, (openai.RateLimitError, openai.APITimeoutError, openai.APIConnectionError)):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


class Analyzer:
    """Analyse comments with the agent; safe to call from several threads at once."""

    def __init__(
        self,
        *,
        prompt_alias: str = "production",
        prompts_dir: Path | str | None = None,
        retriever: Any = None,
        customers: CustomerTable | None = None,
        tickets: TicketStore | None = None,
        max_llm_calls: int = 8,
        max_retries: int = 3,
        retry_initial_delay: float = 0.5,
        request_timeout: float = 30.0,
    ) -> None:
        from langchain.agents import create_agent
        from langchain.agents.middleware import ModelRetryMiddleware, ToolErrorMiddleware
        from langchain.agents.structured_output import ToolStrategy

        from llmops.llm.clients import chat_model
        from llmops.prompts import registry
        from llmops.settings import get_settings

        settings = get_settings()
        self.prompt_alias = prompt_alias
        # Resolve the prompt now so a missing alias fails before any comment is read.
        self.prompt = registry.ensure(PROMPT_NAME, prompt_alias, prompts_dir or settings.prompts_dir)
        if retriever is None:
            from llmops.rag import Retriever

            retriever = Retriever()
        self.retriever = retriever
        self.customers = customers or CustomerTable.load(settings.data_dir / "customers.csv")
        self.tickets = tickets or TicketStore(settings.tickets_db)
        model_name = (self.prompt.model_config or {}).get("model") if settings.offline else None
        model = chat_model(
            model=model_name or settings.chat_model,
            temperature=float((self.prompt.model_config or {}).get("temperature", 0.0)),
            # Retries happen in the middleware below, one CHAT_MODEL span each, so they show in the trace.
            max_retries=0,
            timeout=request_timeout,
        )
        # Each LLM call is one graph step and each round of tool calls another: this bounds the LLM calls
        # (a middleware would do the same but add two spans per call to every trace).
        self.recursion_limit = 2 * max_llm_calls + 1
        self.agent = create_agent(
            model,
            tools=TOOLS,
            response_format=ToolStrategy(CommentAnalysis, handle_errors=False),
            context_schema=AnalysisContext,
            middleware=[
                ModelRetryMiddleware(
                    max_retries=max_retries,
                    retry_on=_is_retryable,
                    on_failure="error",
                    initial_delay=retry_initial_delay,
                    jitter=False,
                ),
                # A failing tool becomes an error message the model can react to; its span stays in ERROR.
                ToolErrorMiddleware(on_error=lambda exc, request: f"Tool error: {exc}"),
            ],
            name="comment_analyzer",
        )

    def analyze(self, comment: Comment, session_id: str | None = None) -> AnalysisResult:
        """Analyse one comment in its own trace; raises ``AnalysisError`` naming the cause on failure."""
        from llmops.prompts import registry
        from llmops.tracing import agent_span, session

        if not comment.text or not comment.text.strip():
            raise AnalysisError("empty_text", f"comment {comment.comment_id} has an empty text")
        started = time.perf_counter()
        with session(user_id=comment.customer_id, session_id=session_id):
            with agent_span("analyze_comment") as root:
                root.set_inputs(
                    {
                        "comment_id": comment.comment_id,
                        "customer_id": comment.customer_id,
                        "channel": comment.channel,
                        "text": comment.text,
                    }
                )
                trace_id = root.trace_id
                try:
                    result = self._run(comment, trace_id, registry)
                except AnalysisError as exc:
                    exc.trace_id = trace_id
                    root.set_attribute("llmops.error_cause", exc.cause)
                    raise
                result.latency_ms = round((time.perf_counter() - started) * 1000, 1)
                root.set_outputs(result.analysis.model_dump())
                root.set_attributes(
                    {
                        "llmops.actions_taken": result.actions_taken,
                        "llmops.retrieved_doc_ids": result.retrieved_doc_ids,
                        "llmops.injection_suspected": result.injection_suspected,
                        "llmops.unsupported_citations": [
                            c for c in result.analysis.citations if c not in result.retrieved_doc_ids
                        ],
                    }
                )
        return result

    def _run(self, comment: Comment, trace_id: str, registry: Any) -> AnalysisResult:
        from langchain.agents.structured_output import StructuredOutputError
        from langchain_core.messages import AIMessage
        from pydantic import ValidationError

        # Loading the prompt inside the trace links the trace to this prompt version.
        prompt = registry.load(PROMPT_NAME, self.prompt_alias)
        injection = detect_injection(comment.text)
        ctx = AnalysisContext(
            comment_id=comment.comment_id,
            customer_id=comment.customer_id,
            retriever=self.retriever,
            customers=self.customers,
            tickets=self.tickets,
            read_only=bool(injection),
        )
        messages = prompt.format(
            customer_id=comment.customer_id or "unknown", channel=comment.channel, comment=delimit(comment.text)
        )
        state = None
        last_error: Exception | None = None
        for _attempt in range(2):  # one retry when the structured answer fails validation
            try:
                state = self.agent.invoke(
                    {"messages": messages}, context=ctx, config={"recursion_limit": self.recursion_limit}
                )
                if state.get("structured_response") is None:
                    raise AnalysisError("no_structured_output", "the model ended without a structured answer")
                break
            except (StructuredOutputError, ValidationError, AnalysisError) as exc:
                last_error = exc
                state = None
            except Exception as exc:  # model errors after retries, call limits, tool crashes
                raise AnalysisError(_cause_of(exc), f"{type(exc).__name__}: {exc}") from exc
        if state is None:
            raise AnalysisError("invalid_structured_output", f"invalid structured output after a retry: {last_error}")

        analysis: CommentAnalysis = state["structured_response"]
        ai_messages = [m for m in state["messages"] if isinstance(m, AIMessage)]
        tokens = sum((m.usage_metadata or {}).get("total_tokens", 0) for m in ai_messages)
        cost = sum(_message_cost(m) for m in ai_messages)
        retrieved: list[str] = []
        for document in ctx.retrieved:
            if document.metadata["doc_id"] not in retrieved:
                retrieved.append(document.metadata["doc_id"])
        return AnalysisResult(
            comment_id=comment.comment_id,
            customer_id=comment.customer_id,
            analysis=analysis,
            actions_taken=list(ctx.actions),
            retrieved_doc_ids=retrieved,
            injection_suspected=bool(injection),
            trace_id=trace_id,
            prompt_version=int(prompt.version),
            llm_calls=len(ai_messages),
            tokens=tokens,
            cost_usd=round(cost, 6),
        )


def _message_cost(message: Any) -> float:
    from llmops.tracing import price_for

    usage = message.usage_metadata or {}
    model = (message.response_metadata or {}).get("model_name") or ""
    price = price_for(model)
    if price is None:
        return 0.0
    return (usage.get("input_tokens", 0) * price.input + usage.get("output_tokens", 0) * price.output) / 1e6


def _cause_of(exc: Exception) -> str:
    import openai

    if isinstance(exc, openai.RateLimitError):
        return "rate_limited"
    if isinstance(exc, openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "model_unreachable"
    if isinstance(exc, openai.APIStatusError):
        return f"http_{exc.status_code}"
    name = type(exc).__name__
    if name == "GraphRecursionError":
        return "llm_call_limit"
    return name
