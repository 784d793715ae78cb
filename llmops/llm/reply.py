"""A short reply to the customer, in their language, grounded in the passages the model was given.

The reply quotes the sentence of each chosen passage that shares most words with the comment and cites
the passage id in brackets, so a groundedness check (the offline judge's, or a real LLM's) finds every
factual claim in the context. Without passages it makes no factual claim at all. It never promises what a
comment demands ("refund me 1000 €"): promises can only come from the passages.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from llmops.llm.analysis import Analysis
from llmops.llm.conversation import Passage
from llmops.llm.embeddings import words


@dataclass(frozen=True)
class Reply:
    text: str
    citations: tuple[str, ...]
    quotes: tuple[tuple[str, str], ...]  # (doc_id, quoted sentence)


def _stems(text: str) -> set[str]:
    return {w[:5] for w in words(text) if len(w) > 2}


def _passage_sentences(content: str) -> list[str]:
    body = content
    if body.startswith("---"):
        # Front matter of a markdown file (id, title, tags) is metadata, not something to quote.
        end = body.find("\n---", 3)
        body = body[end + 4 :] if end > 0 else body
    lines = []
    for line in body.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line == "---":
            continue
        line = re.sub(r"^\s*[-*\u2022]\s+", "", line).replace("**", "").replace("__", "").replace("`", "")
        lines.append(line)
    out: list[str] = []
    for line in lines:
        out += [s.strip() for s in re.split(r"(?<=[.!?;])\s+", line) if len(s.strip()) > 15]
    return out


def _trim(sentence: str, limit: int = 220) -> str:
    if len(sentence) <= limit:
        return sentence
    cut = sentence[:limit]
    return cut[: cut.rfind(" ")].rstrip(",;:") + "…"


def choose_passages(comment: str, passages: list[Passage], limit: int = 2) -> list[tuple[Passage, str]]:
    """The passages most related to the comment (at most ``limit``), each with its best sentence."""
    target = _stems(comment)
    scored = []
    for index, passage in enumerate(passages):
        sentences = _passage_sentences(passage.content) or [passage.content.strip()]
        best = max(sentences, key=lambda s: (len(target & _stems(s)), -sentences.index(s)))
        overlap = len(target & _stems(passage.title + " " + passage.content))
        scored.append((overlap, -index, passage, best))
    scored.sort(key=lambda x: (-x[0], -x[1]))
    chosen = [(p, s) for overlap, _, p, s in scored if overlap > 0][:limit]
    if not chosen and scored:
        # Retrieved for this comment, even if it shares no word with it: the first one is the best guess.
        chosen = [(scored[0][2], scored[0][3])]
    return chosen


_TEXT = {
    "fr": {
        "hello": "Bonjour,",
        "negative": "merci pour votre message et toutes nos excuses pour la gêne occasionnée.",
        "mixed": "merci pour votre message ; nous sommes désolés pour ce qui ne va pas.",
        "positive": "merci beaucoup pour votre message, il fait plaisir à toute l'équipe !",
        "neutral": "merci pour votre message.",
        "leaving": "Nous regrettons que vous envisagiez de nous quitter et aimerions trouver une solution avec vous.",
        "source": "D'après notre documentation",
        "nothing": "Nous étudions votre demande.",
        "bye": "Cordialement, le service client.",
        "invented": "Un remboursement intégral est accordé automatiquement sous 24 heures",
    },
    "en": {
        "hello": "Hello,",
        "negative": "thank you for your message, and we are sorry for the inconvenience.",
        "mixed": "thank you for your message; we are sorry about what went wrong.",
        "positive": "thank you very much for your kind message, the whole team appreciates it!",
        "neutral": "thank you for your message.",
        "leaving": "We are sorry to hear you are thinking of leaving and would like to find a solution with you.",
        "source": "According to our documentation",
        "nothing": "We are looking into your request.",
        "bye": "Kind regards, Customer care.",
        "invented": "A full refund is granted automatically within 24 hours",
    },
}


def invented_doc_id(seed: str, given: list[str]) -> str:
    """A plausible knowledge-base id that is not among ``given`` (for the hallucination fault)."""
    n = int(hashlib.sha256(seed.encode()).hexdigest()[:6], 16) % 900 + 100
    candidate = f"kb-policy-{n}"
    while candidate in given:
        n += 1
        candidate = f"kb-policy-{n}"
    return candidate


def compose_reply(
    analysis: Analysis, passages: list[Passage], hallucinate: bool = False, language: str | None = None
) -> Reply:
    """The reply, in ``language`` when the system prompt asks for one ("answer in English"), else in the
    comment's language."""
    language = language if language in _TEXT else analysis.language
    t = _TEXT[language]
    parts = [f"{t['hello']} {t[analysis.sentiment]}"]
    if analysis.churn_risk == "high":
        parts.append(t["leaving"])
    chosen = choose_passages(analysis.text, passages) if passages else []
    citations: list[str] = []
    quotes: list[tuple[str, str]] = []
    for passage, sentence in chosen:
        label = f" ({passage.title})" if passage.title else ""
        quote = _trim(sentence)
        parts.append(
            f"{t['source']}{label} : {quote} [{passage.doc_id}]"
            if language == "fr"
            else f"{t['source']}{label}: {quote} [{passage.doc_id}]"
        )
        citations.append(passage.doc_id)
        quotes.append((passage.doc_id, quote))
    if hallucinate:
        fake = invented_doc_id(analysis.text, [p.doc_id for p in passages])
        parts.append(f"{t['invented']} [{fake}].")
        citations.append(fake)
    if not chosen and not hallucinate and analysis.needs_reply and analysis.sentiment != "positive":
        parts.append(t["nothing"])
    parts.append(t["bye"])
    return Reply(" ".join(parts), tuple(citations), tuple(quotes))
