"""A rule-based analyst for telecom customer comments (French and English).

``analyze(text)`` reads a comment the way the analyzer's prompt asks an LLM to: language, sentiment
(positive / neutral / negative / mixed), topics from :mod:`llmops.taxonomy`, churn risk, urgency, whether it
needs a reply, a one-sentence summary, and whether it hides instructions aimed at the assistant.
``analyze(text, system_prompt)`` (or a :class:`~llmops.llm.directives.Directives`) also follows what that
system prompt asks: a topic guide, "report every topic", a detailed summary.

How each label is decided (the lexicon lives in :mod:`llmops.llm.lexicon`):

- sentiment (:mod:`llmops.llm.sentiment`): weighted cue phrases, strengthened by intensifiers ("très", "really"), flipped by a negation
  up to three words before them in the same clause ("pas content", "not good"), damped in questions;
  sarcasm ("merci pour rien", "Great, another outage", a positive word between quotes or next to 🙄) counts
  as negative; strong cues on both sides make it mixed.
- churn risk: high when the customer says they leave, cancel, switch or port their number; medium when
  that is conditional or hedged ("si ça continue je résilie", "I'm considering switching"), or when they
  are strongly dissatisfied, mention competitors or repeated problems; low otherwise.
- urgency: high for a service down, money taken wrongly, fraud or a vulnerable customer; medium for other
  problems; "urgent" alone never makes a comment urgent.
- injection: sentences that address the assistant ("ignore your instructions", "refund me 1000 €") are
  flagged and left out of every other label, so a comment cannot talk its way into a ticket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from llmops.llm import lexicon as lx
from llmops.llm.cues import detect_language, lexicons, negated, question_sentences, sentence_ids
from llmops.llm.directives import GUIDE_WEIGHT, NO_DIRECTIVES, Directives, plurals, read_directives
from llmops.llm.sentiment import OPERATOR, SentimentEvidence, sentiment_evidence, sentiment_label
from llmops.llm.text import CLAUSE_BREAKS, PhraseLexicon, fold, sentences, tokenize
from llmops.taxonomy import TOPICS

_FIRST_PERSON = frozenset(
    """je j i my mon ma mes we nous notre our me moi veux want souhaite souhaiterais wish demande request
    like would vais will going voudrais aimerais please""".split()
)
_OPERATOR_SUBJECTS = frozenset("you they vous ils lumea it on".split())
_LONG_COMMENT = 30  # words: below this a complaint reads as venting (reviews, posts), above as a letter
_QUESTION_HOW = frozenset("how comment procedure steps demarche demarches".split())
_ALWAYS_HIGH = frozenset({"code rio", "numero rio", "mon rio", "rio", "pac code"})
_TRAVEL_VERBS = frozenset("pars partir quitte leaving leave".split())
_TRAVEL_NEXT = frozenset(
    """au aux en a pour dans demain ce cet cette le la les on to for in at tomorrow next this demain lundi
    vacances holiday holidays trip""".split()
)
_PII = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|\+?\d[\d .-]{7,}\d|\bCUST-\d+\b|\bFR\d{2}[ \d]{10,}\b", re.IGNORECASE)
_INJECTION = tuple(re.compile(p, re.IGNORECASE) for p in lx.INJECTION_PATTERNS)


@dataclass(frozen=True)
class Analysis:
    """What the offline model understood of one comment; every field is derived from the text and the system
    prompt's directives (topic guide, report every topic, detailed summary), never from the rest of the chat."""

    text: str
    language: str
    sentiment: str
    sentiment_score: float
    topics: tuple[str, ...]
    churn_risk: str
    urgency: str
    needs_reply: bool
    is_question: bool
    injection_suspected: bool
    summary: str
    keywords: tuple[str, ...]
    churn_cues: tuple[str, ...] = field(default=())
    sentiment_cues: tuple[str, ...] = field(default=())
    urgency_cues: tuple[str, ...] = field(default=())
    injection_cues: tuple[str, ...] = field(default=())
    sarcasm: bool = False

    @property
    def main_topic(self) -> str:
        return self.topics[0] if self.topics else "support"


# --- helpers -------------------------------------------------------------------------------------------


def find_injection(text: str) -> list[str]:
    """Sentences of ``text`` that read as instructions to the assistant (empty for an ordinary comment)."""
    found = []
    for sentence in sentences(text):
        folded = fold(sentence)
        if any(p.search(folded) for p in _INJECTION):
            found.append(sentence)
    if not found and any(p.search(fold(text)) for p in _INJECTION):
        found.append(text.strip())
    return found


def strip_pii(text: str) -> str:
    return _PII.sub("[…]", text)


# --- churn ---------------------------------------------------------------------------------------------


def _churn(tokens: list[str], sentiment: str, ev: SentimentEvidence) -> tuple[str, list[str]]:
    lex = lexicons()
    sentence_of = sentence_ids(tokens)
    questions = question_sentences(tokens, sentence_of)
    contrasts = {m.start for m in lex["contrast"].find(tokens)}
    conditional_sentences = {sentence_of[m.start] for m in lex["conditional"].find(tokens)}
    level, cues = "low", []

    for m in lex["leave"].find(tokens):
        head = tokens[m.start]
        after = []
        for t in tokens[m.end : m.end + 4]:
            if t in CLAUSE_BREAKS or t == ",":
                break
            after.append(t)
        before = tokens[max(0, m.start - 3) : m.start]
        if any(t in lx.NON_CONTRACT_OBJECTS for t in after):
            continue  # "cancel my order", "annuler le rendez-vous"
        if tokens[m.end - 1] in _TRAVEL_VERBS and after and after[0] in _TRAVEL_NEXT:
            continue  # "je pars au Maroc", "leaving for a week": a trip, not a departure
        if after and after[0] in OPERATOR + ("vous", "you"):
            continue  # "passer chez Lumea": joining, not leaving
        if (
            before
            and before[-1] in {"was", "been", "is", "be", "were", "ete", "est", "sont", "etait"}
            and head.startswith(("cancel", "annul", "resili", "terminat"))
        ):
            continue  # "it was cancelled": something the operator did
        if (
            before
            and before[-1] in _OPERATOR_SUBJECTS
            or (len(before) > 1 and before[-2] in {"you", "vous", "ils", "they"})
        ):
            continue  # "vous avez résilié ma ligne par erreur": the operator acted, the customer did not leave
        phrase_has_negator = any(t in lx.NEGATORS for t in tokens[m.start : m.end])
        if not phrase_has_negator and negated(tokens, m.start, contrasts, window=4):
            cues.append("not " + " ".join(tokens[m.start : m.end]))
            continue
        sid = sentence_of[m.start]
        sentence_tokens = [t for i, t in enumerate(tokens) if sentence_of[i] == sid]
        is_noun = head.startswith(("resiliation", "cancellation", "termination", "portabilite"))
        if m.phrase in _ALWAYS_HIGH:
            found = "high"  # asking for the RIO / PAC code is asking to leave, question or not
        elif sid in questions:
            found = "high" if any(t in _QUESTION_HOW for t in sentence_tokens) else "medium"
        elif sid in conditional_sentences:
            found = "medium"
        elif is_noun and not any(t in _FIRST_PERSON for t in sentence_tokens):
            found = "medium"  # "les frais de résiliation sont flous": talks about leaving, does not announce it
        else:
            found = "high"
        cues.append(" ".join(tokens[m.start : m.end]))
        if found == "high":
            level = "high"
        elif level == "low":
            level = "medium"
    if level == "high":
        return level, cues

    pressure = 0.0
    for m in lex["medium"].find(tokens):
        pressure += m.value
        cues.append(m.phrase)
    if sentiment in {"negative", "mixed"}:
        pressure += 0.4 + min(ev.negative, 4.0) * 0.15
    if sentiment == "positive":
        pressure *= 0.3
    if level == "low" and pressure >= 1.1 and sentiment in {"negative", "mixed"}:
        level = "medium"
    return level, cues


# --- topics, urgency, reply need ------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _topic_lexicon(guide: tuple[tuple[str, str], ...]) -> PhraseLexicon:
    """The topic lexicon plus a prompt's topic-guide cues. Values are ``((topic, weight), ...)``: a guide cue
    listed under two topics ("Pass Voyage" for pricing and roaming) counts for both. Guide cues come first,
    so the operator's word wins over the built-in lexicon on the same words."""
    base = {(phrase, topic): weight for topic, cues in lx.TOPIC_CUES.items() for phrase, weight in cues.items()}
    if not guide:
        return PhraseLexicon((phrase, ((topic, weight),)) for (phrase, topic), weight in base.items())
    by_phrase: dict[str, list[tuple[str, float]]] = {}
    for topic, phrase in guide:
        # A guide cue is real evidence of its topic (one plain cue); a stronger built-in weight stays. Its
        # plural counts too ("conseiller" -> "conseillers", "réseau" -> "réseaux").
        for variant in (phrase, *plurals(phrase)):
            values = by_phrase.setdefault(variant, [])
            if topic not in {t for t, _ in values}:
                values.append((topic, max(GUIDE_WEIGHT, base.get((variant, topic), 0.0))))
    entries = [(phrase, tuple(values)) for phrase, values in by_phrase.items()]
    entries += [(phrase, ((topic, weight),)) for (phrase, topic), weight in base.items()]
    return PhraseLexicon(entries)


def _topics(tokens: list[str], directives: Directives = NO_DIRECTIVES) -> list[str]:
    scores: dict[str, float] = {}
    first: dict[str, int] = {}
    for m in _topic_lexicon(directives.topic_cues).find(tokens):
        for topic, weight in m.value:
            scores[topic] = scores.get(topic, 0.0) + weight
            first.setdefault(topic, m.start)
    ranked = sorted(scores, key=lambda t: (-scores[t], first[t], TOPICS.index(t)))
    limit = directives.max_topics or 3
    if directives.all_topics:
        # "Report every topic it really talks about": any topic with the evidence of one plain cue.
        chosen = [t for t in ranked if scores[t] >= 0.8 and scores[t] >= 0.25 * scores[ranked[0]]][:limit]
    else:
        # Secondary topics must weigh something next to the main one: gold labels rarely have three.
        chosen = [t for t in ranked if scores[t] >= 0.8 and scores[t] >= 0.4 * scores[ranked[0]]][:limit]
    if not chosen and ranked and scores[ranked[0]] >= 0.4:
        chosen = ranked[:1]
    return chosen


def _urgency(tokens: list[str], sentiment: str, churn: str, is_question: bool) -> tuple[str, list[str]]:
    lex = lexicons()
    contrasts = {m.start for m in lex["contrast"].find(tokens)}
    situation, cues = 0.0, []
    for m in lex["urgent"].find(tokens):
        if not any(t in lx.NEGATORS for t in tokens[m.start : m.end]) and negated(tokens, m.start, contrasts):
            continue
        situation += m.value
        cues.append(m.phrase)
    asks_speed = bool(lex["urgent_words"].find(tokens))
    if sentiment == "positive":
        situation *= 0.4  # "the outage was fixed quickly, thanks" is not urgent
    if situation >= 1.0 or (situation >= 0.5 and asks_speed):
        return "high", cues
    if (
        (situation > 0 and sentiment != "positive")
        or sentiment in {"negative", "mixed"}
        or churn != "low"
        or asks_speed
    ):
        return "medium", cues
    return "low", cues


def _keywords(tokens: list[str], topics: list[str]) -> list[str]:
    from llmops.llm.embeddings import STOPWORDS as _STOPWORDS

    seen: list[str] = []
    for tok in tokens:
        if len(tok) >= 4 and tok.isalpha() and tok not in _STOPWORDS and tok not in seen:
            seen.append(tok)
    # Longer words carry more meaning in both languages: keep the eight longest, in reading order.
    longest = set(sorted(seen, key=lambda w: (-len(w), seen.index(w)))[:8])
    return [w for w in seen if w in longest]


_SENTIMENT_WORD = {"positive": "Positive", "negative": "Negative", "neutral": "Neutral", "mixed": "Mixed"}
_LANGUAGE_NAME = {"fr": "French", "en": "English"}


def _summary(
    sentiment: str, language: str, topics: list[str], churn: str, urgency: str, cues: list[str], injection: bool
) -> str:
    about = ", ".join(t.replace("_", " ") for t in topics) if topics else "general matters"
    text = f"{_SENTIMENT_WORD[sentiment]} {_LANGUAGE_NAME[language]} comment about {about}"
    leave = [c for c in cues if not c.startswith("not ")]
    if churn == "high":
        text += f"; the customer says they will leave (\u201c{leave[0]}\u201d)" if leave else "; high churn risk"
    elif churn == "medium":
        text += "; the customer is dissatisfied enough to consider leaving"
    text += f"; urgency {urgency}."
    if injection:
        text += " Suspected prompt injection in the comment (instructions aimed at the assistant) was ignored."
    return text[:400]


def _detailed_summary(
    base: str, clean: str, sentiment_cues: list[str], churn_cues: list[str], urgency_cues: list[str],
    keywords: list[str], needs_reply: bool,
) -> str:
    """Several sentences (the "write a detailed summary" directive): the one-sentence summary, the signals
    behind each label, and what the customer says, in their words, without personal data. Not capped."""

    def quoted(cues: list[str]) -> str:
        unique = list(dict.fromkeys(c for c in cues if not c.startswith(("not ", "resolved ", "sarcasm:"))))
        return ", ".join(f"\u201c{c}\u201d" for c in unique[:5])

    parts = [base]
    told = re.sub(r"\s+", " ", strip_pii(clean)).strip()
    if len(told) > 900:
        told = told[:900].rsplit(" ", 1)[0] + " \u2026"
    if told:
        parts.append(f"In their own words, the customer writes: \u201c{told}\u201d.")
    if quoted(sentiment_cues):
        parts.append(f"The sentiment rests on {quoted(sentiment_cues)}.")
    if quoted(churn_cues):
        parts.append(f"Churn signals: {quoted(churn_cues)}.")
    if quoted(urgency_cues):
        parts.append(f"Urgency signals: {quoted(urgency_cues)}.")
    if keywords:
        parts.append(f"Key words: {', '.join(keywords)}.")
    parts.append(
        "The comment calls for a reply from customer care."
        if needs_reply
        else "The comment does not strictly call for a reply."
    )
    return " ".join(parts)


def analyze(text: str, directives: Directives | str | None = None) -> Analysis:
    """Analyse one customer comment. Pure and deterministic: the same text (and the same system prompt's
    directives, see :mod:`llmops.llm.directives`; a string is read as a system prompt) always gives the same
    result."""
    if isinstance(directives, str):
        directives = read_directives(directives)
    directives = directives or NO_DIRECTIVES
    injection_sentences = find_injection(text)
    clean = text
    for sentence in injection_sentences:
        clean = clean.replace(sentence, " ")
    tokens = tokenize(clean)
    language = detect_language(text)
    ev = sentiment_evidence(clean, tokens, language)
    sentiment, score = sentiment_label(ev)
    churn, churn_cues = _churn(tokens, sentiment, ev)
    if (
        sentiment == "neutral"
        and churn != "low"
        and "?" not in clean
        and any(not c.startswith("not ") for c in churn_cues)
    ):
        sentiment = "negative"  # announcing or threatening to leave is a complaint even without angry words
    topics = _topics(tokens, directives)
    if not topics:
        topics = ["contract"] if churn != "low" else ["support"]
    is_question = "?" in clean
    urgency, urgency_cues = _urgency(tokens, sentiment, churn, is_question)
    asks = bool(lexicons()["request"].find(tokens))
    # Questions and requests need an answer; so does a long complaint (a letter, an e-mail) and a notice of
    # departure. Short venting, praise and opinions ("App still logs me out. Meh.") do not.
    length = sum(1 for t in tokens if t.isalnum())
    needs_reply = (
        is_question
        or asks
        or (churn == "high" and length >= _LONG_COMMENT)
        or (sentiment in {"negative", "mixed"} and length >= _LONG_COMMENT)
    )
    keywords = _keywords(tokens, topics)
    summary = _summary(sentiment, language, topics, churn, urgency, churn_cues, bool(injection_sentences))
    if directives.detailed_summary:
        summary = _detailed_summary(
            summary, clean, ev.cues, churn_cues, urgency_cues, keywords, needs_reply
        )
    return Analysis(
        text=text,
        language=language,
        sentiment=sentiment,
        sentiment_score=round(score, 3),
        topics=tuple(topics),
        churn_risk=churn,
        urgency=urgency,
        needs_reply=needs_reply,
        is_question=is_question,
        injection_suspected=bool(injection_sentences),
        summary=summary,
        keywords=tuple(keywords),
        churn_cues=tuple(churn_cues),
        sentiment_cues=tuple(ev.cues),
        urgency_cues=tuple(urgency_cues),
        injection_cues=tuple(injection_sentences),
        sarcasm=ev.sarcasm,
    )
