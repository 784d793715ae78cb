"""The agent's tools: an allowlist of three, each validating its arguments against the comment's context.

Tools get the per-comment ``AnalysisContext`` through LangGraph's runtime (``ToolRuntime``), so one compiled
agent serves many comments concurrently. What a tool did is recorded on the context, never taken from the
model's word: ``actions_taken`` and ``retrieved_doc_ids`` in a result come from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from langchain.tools import ToolRuntime, tool
from langchain_core.tools import ToolException
from pydantic import Field

from llmops.agent.customers import CustomerTable
from llmops.agent.tickets import TicketStore

CustomerId = Annotated[str, Field(pattern=r"^CUST-\d{4}$", description="Customer id, e.g. CUST-0042")]


@dataclass
class AnalysisContext:
    comment_id: str
    customer_id: str | None
    retriever: Any
    customers: CustomerTable
    tickets: TicketStore
    read_only: bool = False
    retrieved: list[Any] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)


def _same_customer(ctx: AnalysisContext, customer_id: str, tool_name: str) -> None:
    # Data protection and injection defence in one rule: a comment can only act on its own author.
    if ctx.customer_id is None or customer_id != ctx.customer_id:
        raise ToolException(
            f"{tool_name} refused: customer_id {customer_id!r} is not the author of comment {ctx.comment_id} "
            f"({ctx.customer_id or 'unknown'})"
        )


@tool
def search_knowledge_base(
    query: Annotated[str, Field(min_length=2, max_length=500, description="What to look for")],
    runtime: ToolRuntime,
    k: Annotated[int, Field(ge=1, le=8, description="How many passages")] = 4,
) -> str:
    """Search the operator's knowledge base (policies, fees, procedures). Returns passages with their doc ids."""
    ctx: AnalysisContext = runtime.context
    documents = ctx.retriever.search(query, k=k)
    ctx.retrieved.extend(documents)
    ctx.actions.append("search_knowledge_base")
    return json.dumps(
        [
            {
                "doc_id": d.metadata["doc_id"],
                "title": d.metadata.get("title", ""),
                "section": d.metadata.get("section", ""),
                "content": d.page_content,
            }
            for d in documents
        ],
        ensure_ascii=False,
    )


@tool
def lookup_customer(customer_id: CustomerId, runtime: ToolRuntime) -> str:
    """Look up the plan, tenure, monthly charges and contract of the customer who wrote the comment."""
    ctx: AnalysisContext = runtime.context
    _same_customer(ctx, customer_id, "lookup_customer")
    ctx.actions.append("lookup_customer")
    record = ctx.customers.get(customer_id)
    if record is None:
        return json.dumps({"customer_id": customer_id, "found": False})
    record.pop("name", None)  # the model does not need the customer's name
    return json.dumps({"found": True, **record}, ensure_ascii=False)


@tool
def create_ticket(
    customer_id: CustomerId,
    category: Literal["billing", "network", "support", "pricing", "contract", "equipment", "roaming", "data_protection"],
    priority: Literal["low", "medium", "high"],
    summary: Annotated[str, Field(min_length=5, max_length=300)],
    runtime: ToolRuntime,
) -> str:
    """Open a support ticket for the customer when the comment needs follow-up by a human agent."""
    ctx: AnalysisContext = runtime.context
    _same_customer(ctx, customer_id, "create_ticket")
    if ctx.read_only:
        ctx.actions.append("create_ticket:refused")
        raise ToolException(
            "create_ticket refused: the comment contains instructions aimed at the assistant "
            "(suspected prompt injection); a human will review it"
        )
    ticket = ctx.tickets.create(customer_id, category, priority, summary, comment_id=ctx.comment_id)
    ctx.actions.append(f"create_ticket:{category}:{priority}")
    return json.dumps({"ticket_id": ticket["ticket_id"], "status": "open"})


TOOLS = [search_knowledge_base, lookup_customer, create_ticket]
