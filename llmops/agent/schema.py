"""The analyzer's structured result: what one customer comment becomes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Language = Literal["fr", "en"]
Sentiment = Literal["positive", "neutral", "negative", "mixed"]
Level = Literal["low", "medium", "high"]
Topic = Literal["billing", "network", "support", "pricing", "contract", "equipment", "roaming", "data_protection"]


class CommentAnalysis(BaseModel):
    """Analysis of one customer comment, with a reply grounded in the knowledge base."""

    language: Language = Field(description="Language of the comment: fr or en.")
    sentiment: Sentiment = Field(description="Overall sentiment of the customer.")
    topics: list[Topic] = Field(min_length=1, max_length=3, description="One to three topics of the comment.")
    churn_risk: Level = Field(description="Risk that the customer leaves: high when they say they will.")
    urgency: Level = Field(description="How fast the operator should act.")
    summary: str = Field(max_length=400, description="One-sentence summary of the comment, without personal data.")
    suggested_reply: str = Field(description="A short reply to the customer, grounded in the cited passages.")
    citations: list[str] = Field(default_factory=list, description="Knowledge-base doc ids the reply relies on.")


class AnalysisResult(BaseModel):
    """A comment's analysis plus what the application itself observed while producing it."""

    comment_id: str
    customer_id: str | None = None
    analysis: CommentAnalysis
    actions_taken: list[str] = Field(default_factory=list)
    retrieved_doc_ids: list[str] = Field(default_factory=list)
    injection_suspected: bool = False
    trace_id: str | None = None
    prompt_version: int | None = None
    latency_ms: float = 0.0
    llm_calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
