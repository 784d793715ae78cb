"""From an analysis to what the model says: JSON fields by name, the default JSON object, prose.

A JSON schema (``response_format`` or a tool's parameters) names its fields as its author likes:
``sentiment`` or ``polarity``, ``suggested_reply`` or ``answer``, ``priority`` or ``urgency``. The provider
below maps names (and, for unknown names, their descriptions) to the analysis; :mod:`llmops.llm.schema`
then coerces each value to the field's type and enum.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from llmops.llm.analysis import Analysis
from llmops.llm.conversation import Conversation
from llmops.llm.directives import NO_DIRECTIVES, Directives
from llmops.llm.reply import Reply
from llmops.llm.schema import MISSING, Provider
from llmops.llm.text import fold

#: Canonical facts the model can state, keyed by the normalised field names that ask for them.
FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "sentiment": ("sentiment", "sentimentlabel", "overallsentiment", "polarity", "tone", "mood", "customersentiment"),
    "sentiment_score": ("sentimentscore", "polarityscore", "sentimentpolarity"),
    "topics": ("topics", "categories", "themes", "labels", "tags", "subjects", "topiclist"),
    "topic": ("topic", "category", "maintopic", "primarytopic", "theme", "subject", "department"),
    "churn_risk": (
        "churnrisk",
        "churn",
        "churnlevel",
        "churnrisklevel",
        "risk",
        "risklevel",
        "retentionrisk",
        "churnlikelihood",
        "churnprobability",
        "attrition",
        "atrisk",
    ),
    "language": ("language", "lang", "locale", "detectedlanguage", "commentlanguage"),
    "urgency": ("urgency", "priority", "severity", "urgencylevel", "importance"),
    "summary": (
        "summary",
        "shortsummary",
        "synopsis",
        "resume",
        "abstract",
        "gist",
        "description",
        "details",
        "notes",
        "note",
        "rationale",
        "reason",
        "explanation",
        "body",
        "issue",
        "problem",
        "analysis",
    ),
    "title": ("title", "subjectline", "headline", "name"),
    "reply": (
        "reply",
        "suggestedreply",
        "response",
        "answer",
        "draftreply",
        "customerreply",
        "proposedreply",
        "proposedresponse",
        "message",
        "replytext",
        "suggestedresponse",
        "responsetext",
        "draft",
        "content",
        "text",
        "output",
    ),
    "citations": (
        "citations",
        "sources",
        "citeddocids",
        "docids",
        "references",
        "citeddocuments",
        "documentids",
        "sourceids",
        "cited",
        "citedsources",
        "documents",
        "passages",
        "evidence",
    ),
    "needs_reply": (
        "needsreply",
        "requiresreply",
        "replyneeded",
        "needsresponse",
        "requiresresponse",
        "actionrequired",
        "needsfollowup",
        "followup",
        "requiresaction",
        "needsaction",
    ),
    "customer_id": ("customerid", "customer", "clientid", "accountid", "subscriberid", "userid", "custid"),
    "channel": ("channel", "sourcechannel", "medium"),
    "injection": (
        "injectionsuspected",
        "promptinjection",
        "injection",
        "suspicious",
        "injectiondetected",
        "flagged",
        "manipulationattempt",
        "suspectedinjection",
    ),
    "confidence": ("confidence", "certainty", "probability"),
    "intent": ("intent", "intention", "requesttype", "type", "kind"),
    "keywords": (
        "keywords",
        "keyphrases",
        "cues",
        "churncues",
        "signals",
        "reasons",
        "evidencephrases",
        "key_points",
        "keypoints",
        "highlights",
    ),
    "query": ("query", "q", "search", "searchquery", "question", "searchterms", "keywords_query", "input", "prompt"),
    "doc_id": ("docid", "id", "documentid", "passageid", "sourceid"),
    "quote": ("quote", "excerpt", "snippet", "passage", "supportingtext"),
    "is_question": ("isquestion", "question_asked"),
}
_DESCRIPTION_HINTS = (
    ("sentiment", "sentiment"),
    ("churn", "churn_risk"),
    ("urgen", "urgency"),
    ("priorit", "urgency"),
    ("language", "language"),
    ("topic", "topics"),
    ("summar", "summary"),
    ("reply", "reply"),
    ("respon", "reply"),
    ("citation", "citations"),
    ("doc id", "citations"),
    ("customer id", "customer_id"),
    ("inject", "injection"),
)
#: Fields of the default JSON object (``response_format: json_object``), in order.
DEFAULT_FIELDS = ("language", "sentiment", "topics", "churn_risk", "urgency", "summary", "suggested_reply", "citations")


def normalize_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", fold(name))


_BY_NAME = {normalize_name(alias): canonical for canonical, aliases in FIELD_NAMES.items() for alias in aliases}


def canonical_field(name: str, description: str = "") -> str | None:
    key = normalize_name(name)
    if key in _BY_NAME:
        return _BY_NAME[key]
    for suffix in ("label", "level", "value", "text", "list"):
        if key.endswith(suffix) and key[: -len(suffix)] in _BY_NAME:
            return _BY_NAME[key[: -len(suffix)]]
    desc = fold(description)
    for needle, canonical in _DESCRIPTION_HINTS:
        if needle in desc:
            return canonical
    return None


@dataclass
class Knowledge:
    """Everything the model knows when it answers one request."""

    analysis: Analysis
    conversation: Conversation
    reply: Reply
    kb_query: str
    overrides: dict[str, Any] = field(default_factory=dict)
    #: What the system prompt asked for (:mod:`llmops.llm.directives`).
    directives: Directives = NO_DIRECTIVES

    def intent(self) -> str:
        a = self.analysis
        if a.churn_risk == "high":
            return "cancellation"
        if a.sentiment in {"negative", "mixed"}:
            return "complaint"
        if a.is_question:
            return "question"
        if a.sentiment == "positive":
            return "praise"
        return "information"

    def title(self) -> str:
        a = self.analysis
        return f"{a.main_topic.replace('_', ' ').capitalize()}: {a.sentiment} comment, churn risk {a.churn_risk}"

    def fact(self, canonical: str) -> Any:
        if canonical in self.overrides:
            return self.overrides[canonical]
        a, conv = self.analysis, self.conversation
        citations = [
            {
                "doc_id": doc_id,
                "id": doc_id,
                "title": next((p.title for p in conv.passages if p.doc_id == doc_id), ""),
                "quote": next((q for d, q in self.reply.quotes if d == doc_id), ""),
            }
            for doc_id in self.reply.citations
        ]
        facts: dict[str, Any] = {
            "sentiment": a.sentiment,
            "sentiment_score": a.sentiment_score,
            "topics": list(a.topics),
            "topic": a.main_topic,
            "churn_risk": a.churn_risk,
            "language": a.language,
            "urgency": a.urgency,
            "summary": a.summary,
            "title": self.title(),
            "reply": self.reply.text,
            "citations": citations,
            "needs_reply": a.needs_reply,
            "customer_id": conv.customer_id if conv.customer_id else MISSING,
            "channel": conv.channel if conv.channel else MISSING,
            "injection": a.injection_suspected,
            "confidence": 0.85 if a.sentiment != "neutral" else 0.6,
            "intent": self.intent(),
            "keywords": list(a.keywords),
            "query": self.kb_query,
            "is_question": a.is_question,
        }
        return facts.get(canonical, MISSING)

    def provider(self) -> Provider:
        def provide(name: str, schema: dict[str, Any], path: tuple[str, ...]) -> Any:
            canonical = canonical_field(name, str(schema.get("description", "")))
            if canonical is None:
                return MISSING
            value = self.fact(canonical)
            if canonical == "citations" and value is not MISSING:
                # An array of strings gets the ids; an array of objects gets the records.
                items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
                if items.get("type") == "string" or "enum" in items or schema.get("type") == "string":
                    return [c["doc_id"] for c in value]
            if canonical == "topics" and schema.get("type") == "string":
                return self.fact("topic")
            return value

        return provide

    def uncapped(self, name: str, schema: dict[str, Any]) -> bool:
        """Fields the model writes whole, past a schema's ``maxLength``: the summary, when the system prompt
        asks for a detailed one (used for the final structured-output tool only)."""
        if not self.directives.detailed_summary:
            return False
        return canonical_field(name, str(schema.get("description", ""))) == "summary"

    def default_object(self, only: list[str] | None = None) -> dict[str, Any]:
        names = only or list(DEFAULT_FIELDS)
        out: dict[str, Any] = {}
        for name in names:
            canonical = canonical_field(name) or name
            value = self.fact(canonical)
            if canonical == "citations" and value is not MISSING:
                value = [c["doc_id"] for c in value]
            if value is not MISSING:
                out[name] = value
        return out

    def prose(self, instructions: str) -> str:
        """A plain-text answer: the reply, a label, or the analysis, depending on what is asked."""
        a = self.analysis
        asked = fold(instructions)
        wants_only = any(
            w in asked for w in ("one word", "only the", "just the", "un seul mot", "uniquement", "seulement")
        )
        labels = [
            ("sentiment", a.sentiment),
            ("churn", a.churn_risk),
            ("urgen", a.urgency),
            ("language", a.language),
            ("langue", a.language),
            ("topic", ", ".join(a.topics)),
        ]
        mentioned = [value for needle, value in labels if needle in asked]
        if wants_only and len(mentioned) == 1:
            return mentioned[0]
        wants_reply = any(
            w in asked
            for w in (
                "reply to",
                "respond to",
                "draft a",
                "write a response",
                "write a reply",
                "answer the customer",
                "redige",
                "reponds",
                "repondez",
                "reponse au client",
            )
        )
        wants_analysis = any(w in asked for w in ("analy", "classif", "sentiment", "churn", "label", "categor"))
        if wants_reply and not wants_analysis:
            return self.reply.text
        lines = [
            f"Sentiment: {a.sentiment} · Topics: {', '.join(a.topics)} · Churn risk: {a.churn_risk} · "
            f"Urgency: {a.urgency} · Language: {a.language}",
            f"Summary: {a.summary}",
            f"Suggested reply: {self.reply.text}",
        ]
        return "\n".join(lines)


def requested_fields(text: str) -> list[str]:
    """Known field names that instructions ask for by name ("return JSON with keys sentiment and topics")."""
    found: list[tuple[int, str]] = []
    for token in set(re.findall(r"[A-Za-z_]{3,40}", text)):
        if "_" in token or token.lower() in {"sentiment", "topics", "language", "urgency", "summary", "citations"}:
            canonical = canonical_field(token)
            if canonical:
                found.append((text.find(token), token))
    return [name for _, name in sorted(found)]
