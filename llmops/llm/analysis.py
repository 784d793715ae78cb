"""A rule-based analyst for telecom customer comments (French and English).

``analyze(text)`` reads a comment the way the analyzer's prompt asks an LLM to: language, sentiment
(positive / neutral / negative / mixed), topics from :mod:`llmops.taxonomy`, churn risk, urgency, whether it
needs a reply, a one-sentence summary, and whether it hides instructions aimed at the assistant.
``analyze(text, system_prompt)`` (or a :class:`~llmops.llm.directives.Directives`) also follows what that
system prompt asks: a topic guide, "report every topic", a detailed summary.

How each label is decided (the lexicon lives in :mod:`llmops.llm.lexicon`):

- sentiment: weighted cue phrases, strengthened by intensifiers ("très", "really"), flipped by a negation
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
from llmops.llm.directives import GUIDE_WEIGHT, NO_DIRECTIVES, Directives, plurals, read_directives
from llmops.llm.text import (
    CLAUSE_BREAKS,
    SENTENCE_BREAKS,
    Match,
    PhraseLexicon,
    fold,
    sentences,
    tokenize,
)
from llmops.taxonomy import TOPICS

_FR_WORDS = frozenset(
    """le la les de des du je vous est et un une pas pour mon ma mes avec sur que qui ne ce il nous au aux tres
    mais depuis ca suis ai votre vos merci bonjour toujours rien cette ces sont etait fait peux veux plus
    chez leur tout bien quand comme alors donc encore deja aussi moi etre avoir faire""".split()
)
_EN_WORDS = frozenset(
    """the a an i you is are and to of my for with that it not but have has was this your me been since
    please thanks thank hello hi we do does did can will just they there what when why how would could
    should from at be any after again still very really get got""".split()
)
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
_REQUEST_CUES = (
    "please",
    "could you",
    "can you",
    "would you",
    "pouvez vous",
    "pourriez vous",
    "pouvez-vous",
    "pourriez-vous",
    "merci de",
    "je voudrais",
    "je souhaite",
    "je souhaiterais",
    "i would like",
    "i want",
    "i need",
    "j ai besoin",
    "je ai besoin",
    "help",
    "aidez",
    "rappelez",
    "call me",
    "contact me",
    "contactez",
    "expliquez",
    "explain",
    "how do",
    "how can",
    "comment faire",
    "est-ce que",
)
_PII = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|\+?\d[\d .-]{7,}\d|\bCUST-\d+\b|\bFR\d{2}[ \d]{10,}\b", re.IGNORECASE)


@lru_cache(maxsize=1)
def _lexicons() -> dict[str, PhraseLexicon]:
    sentiment_en = {k: -v for k, v in lx.NEGATIVE_EN.items()}
    sentiment_en.update(lx.POSITIVE_EN)
    sentiment_fr = {k: -v for k, v in lx.NEGATIVE_FR.items()}
    sentiment_fr.update(lx.POSITIVE_FR)
    return {
        # One lexicon per language: folded words collide across them ("hâte" is not "hate").
        "sentiment_en": PhraseLexicon(sentiment_en.items()),
        "sentiment_fr": PhraseLexicon(sentiment_fr.items()),
        # For texts too short to tell the language ("Nul.", "Top !"): both vocabularies.
        "sentiment_any": PhraseLexicon({**sentiment_en, **sentiment_fr}.items()),
        "mixed_markers": PhraseLexicon((p, True) for p in lx.MIXED_MARKERS),
        "sarcasm": PhraseLexicon(lx.SARCASM_PHRASES.items()),
        "neutral": PhraseLexicon((p, 0.0) for p in lx.NEUTRAL_FORMULAS),
        "contrast": PhraseLexicon([(w, True) for w in lx.CONTRASTS] + [(p, True) for p in lx.CONTRAST_PHRASES]),
        "leave": PhraseLexicon((p, p) for p in lx.LEAVE_PHRASES),
        "conditional": PhraseLexicon(
            [(w, True) for w in lx.CONDITIONALS] + [(p, True) for p in lx.CONDITIONAL_PHRASES]
        ),
        "medium": PhraseLexicon(lx.MEDIUM_CHURN_PHRASES.items()),
        "urgent": PhraseLexicon(lx.URGENT_SITUATIONS.items()),
        "urgent_words": PhraseLexicon([(w, True) for w in lx.URGENT_WORDS] + [(p, True) for p in lx.URGENT_PHRASES]),
        "request": PhraseLexicon((p, True) for p in _REQUEST_CUES),
        "regulator": PhraseLexicon((p, True) for p in lx.REGULATORS),
    }


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


def _sentence_ids(tokens: list[str]) -> list[int]:
    ids, current = [], 0
    for tok in tokens:
        ids.append(current)
        if tok in SENTENCE_BREAKS:
            current += 1
    return ids


def _clause_start(tokens: list[str], index: int, contrasts: set[int]) -> int:
    j = index - 1
    while j >= 0 and tokens[j] not in CLAUSE_BREAKS and tokens[j] != "," and j not in contrasts:
        j -= 1
    return j + 1


def _negated(tokens: list[str], start: int, contrasts: set[int], window: int = 3) -> bool:
    lo = max(_clause_start(tokens, start, contrasts), start - window)
    before = tokens[lo:start]
    if any(t.startswith("hesit") for t in before):
        # "je n'hésiterai pas à résilier", "I won't hesitate to cancel": the negation is on the hesitation.
        return False
    return any(t in lx.NEGATORS for t in before)


def _question_sentences(tokens: list[str], sentence_of: list[int]) -> set[int]:
    return {sentence_of[i] for i, t in enumerate(tokens) if t == "?"}


def _language_evidence(text: str) -> tuple[float, float]:
    tokens = [t for t in tokenize(text) if t.isalpha()]
    fr = sum(t in _FR_WORDS for t in tokens) + min(3, sum(ch in "éèêàçùâîôûœ" for ch in text.lower())) * 0.5
    en = sum(t in _EN_WORDS for t in tokens)
    return fr, en


def detect_language(text: str) -> str:
    fr, en = _language_evidence(text)
    return "fr" if fr > en else "en"


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


# --- sentiment -----------------------------------------------------------------------------------------


@dataclass
class _SentimentEvidence:
    positive: float = 0.0
    negative: float = 0.0
    sarcasm: bool = False
    cues: list[str] = field(default_factory=list)
    by_segment: dict[int, float] = field(default_factory=dict)
    minor_reservation: bool = False
    mixed_marker: bool = False
    asks: bool = False
    regulator: bool = False


_PROPER_NOUN = re.compile(r"(?<![.!?\n]\s)(?<![.!?\n])(?<!^)\b([A-Z][a-z\u00e0-\u00ff]+)\b")
_OPERATOR = ("lumea", "lumeatelecom")


def _proper_nouns(text: str) -> set[str]:
    """Capitalised words inside sentences ("Nice", "Bon" in "Le Bon Marché"): names, not opinions."""
    names = {fold(m.group(1)) for m in _PROPER_NOUN.finditer(text) if m.start() > 0}
    if not names:
        return names
    # A word also written in lower case somewhere is a word, not a name.
    lower = {fold(w) for w in re.findall(r"\b[a-z\u00e0-\u00ff]+\b", text)}
    return names - lower


def _segments(tokens: list[str], contrasts: set[int]) -> list[int]:
    """For each token, the index of its contrast segment ("good network | but | slow support")."""
    out, current = [], 0
    for i, _ in enumerate(tokens):
        if i in contrasts:
            current += 1
        out.append(current)
    return out


def _sentiment(text: str, tokens: list[str], language: str) -> _SentimentEvidence:
    lex = _lexicons()
    ev = _SentimentEvidence()
    sentence_of = _sentence_ids(tokens)
    questions = _question_sentences(tokens, sentence_of)
    contrasts = {m.start for m in lex["contrast"].find(tokens)}
    segment_of = _segments(tokens, contrasts)
    asks = "?" in tokens or bool(lex["request"].find(tokens))
    ev.asks = "?" in tokens
    names = _proper_nouns(text)
    masked: set[int] = set()
    for m in lex["neutral"].find(tokens):
        masked.update(range(m.start, m.end))
    sarcastic_sentences: set[int] = set()
    for m in lex["sarcasm"].find(tokens):
        masked.update(range(m.start, m.end))
        ev.negative += m.value
        ev.by_segment[segment_of[m.start]] = ev.by_segment.get(segment_of[m.start], 0.0) - m.value
        if m.value >= 1.0:
            ev.sarcasm = True
            sarcastic_sentences.add(sentence_of[m.start])
        ev.cues.append(m.phrase)

    lexicon = lex[f"sentiment_{language}"] if any(_language_evidence(text)) else lex["sentiment_any"]
    matches = [m for m in lexicon.find(tokens) if m.start not in masked]
    # Proper nouns are not opinions ("Nice" the city, "Bon" the surname); a lone "Bon," opens a sentence.
    matches = [
        m
        for m in matches
        if not (m.end - m.start == 1 and tokens[m.start] in names)
        and not (
            tokens[m.start] in {"bon", "bien", "ok", "okay", "well"}
            and m.end < len(tokens)
            and tokens[m.end] in {",", "...", "\u2026"}
        )
    ]
    negative_starts = [m.start for m in matches if m.value < 0]
    # Sarcasm by structure: a positive word, a pause, then a repetition or a complaint ("Super, encore une
    # panne", "Great... no signal again"), or a positive word between quotes.
    for m in matches:
        if m.value <= 0 or m.end - m.start != 1 or tokens[m.start] not in lx.SARCASM_OPENERS:
            continue
        after = m.end
        while after < len(tokens) and tokens[after].startswith(_OPERATOR):
            after += 1  # "Bravo @Lumea, ..."
        nxt = tokens[after] if after < len(tokens) else ""
        prev = tokens[m.start - 1] if m.start > 0 else ""
        quoted = prev == '"' and nxt == '"'
        paused = nxt in {",", "!", "...", "\u2026", ":"}
        # "12 h without internet. Super." : a one-word compliment right after a complaint.
        alone = (
            nxt in SENTENCE_BREAKS
            and (m.start == 0 or tokens[m.start - 1] in SENTENCE_BREAKS)
            and any(s < m.start for s in negative_starts)
        )
        # A complaint after a "but" is a reservation, not the target of sarcasm ("brilliant, but ...").
        complaint_follows = any(
            after <= s <= after + 8 and segment_of[s] == segment_of[m.start] for s in negative_starts
        )
        if (
            quoted
            or alone
            or (paused and (any(t in lx.REPEAT_WORDS for t in tokens[after : after + 6]) or complaint_follows))
        ):
            sarcastic_sentences.add(sentence_of[m.start])
            ev.sarcasm = True
            ev.cues.append(f"sarcasm:{tokens[m.start]}")
    if any(e in text for e in lx.SARCASM_EMOJI) and any(m.value > 0 for m in matches):
        ev.sarcasm = True
        sarcastic_sentences.update(sentence_of[m.start] for m in matches if m.value > 0)

    # Praise glued to a complaint in the same clause ("Great job charging me twice", "Merci @Lumea pour la
    # coupure") is sarcasm.
    for m in matches:
        thanks = tokens[m.start] in {"merci", "thanks", "thank", "bravo"}
        reach = 4 if thanks else 2
        # Only a real complaint makes thanks sarcastic: "merci pour la compensation de la hausse" is thanks.
        strong_negatives = [n.start for n in matches if n.value <= -0.8]
        if (
            (m.value >= 1.0 or thanks)
            and tokens[m.start] in lx.SARCASM_OPENERS | {"thank"}
            and any(
                m.end <= s <= m.end + reach
                and segment_of[s] == segment_of[m.start]
                and sentence_of[s] == sentence_of[m.start]
                for s in strong_negatives
            )
        ):
            sarcastic_sentences.add(sentence_of[m.start])
            ev.sarcasm = True

    # A problem said to be over ("panne réglée en une journée", "fixed the logout bug") is not a complaint.
    resolved: set[int] = set()
    for m in matches:
        if m.value < 0:
            window = [
                t
                for i, t in enumerate(tokens[max(0, m.start - 3) : m.end + 4], max(0, m.start - 3))
                if sentence_of[i] == sentence_of[m.start]
            ]
            if any(t in lx.RESOLUTIONS for t in window):
                resolved.add(m.start)

    scored: list[tuple[Match, float]] = []
    for m in matches:
        if m.start in resolved:
            ev.cues.append("resolved " + m.phrase)
            continue
        weight = abs(m.value)
        if m.start > 0 and tokens[m.start - 1] in lx.INTENSIFIERS:
            weight *= 1.5
        elif m.start > 1 and tokens[m.start - 2] in lx.INTENSIFIERS and tokens[m.start - 1] in lx.INTENSIFIERS:
            weight *= 1.7
        if sentence_of[m.start] in questions:
            weight *= 0.6
        if asks and m.value > 0 and tokens[m.start] in lx.POLITENESS and m.value < 1.0:
            weight *= 0.2  # "Can you check? Thanks!" is a request, not praise; "merci d'avoir réparé" is praise
        positive = m.value > 0
        phrase_has_negator = any(t in lx.NEGATORS for t in tokens[m.start : m.end])
        if not phrase_has_negator and _negated(tokens, m.start, contrasts):
            # "pas content" reads as a complaint; "not bad" as faint praise.
            scored.append((m, -0.8 * weight if positive else 0.5 * weight))
            ev.cues.append("not " + m.phrase)
            continue
        if positive and sentence_of[m.start] in sarcastic_sentences:
            scored.append((m, -weight))
            ev.cues.append(f"sarcasm:{m.phrase}")
            continue
        scored.append((m, weight if positive else -weight))
        ev.cues.append(m.phrase)

    # Praise addressed to the operator after a complaint, with no "but" anywhere, is sarcasm
    # ("Day 2 without internet. Great job @Lumea, truly world class").
    negative_sentences = {sentence_of[m.start] for m, v in scored if v < 0}
    if not contrasts and negative_sentences and sum(-v for _, v in scored if v < 0) >= 0.8:
        operator_sentences = {sentence_of[i] for i, t in enumerate(tokens) if t.startswith(_OPERATOR)}
        for i, (m, v) in enumerate(scored):
            sid = sentence_of[m.start]
            if v > 0 and sid in operator_sentences and sid not in negative_sentences and max(negative_sentences) < sid:
                scored[i] = (m, -v)
                ev.sarcasm = True
                ev.cues.append(f"sarcasm:{m.phrase}")

    for m, v in scored:
        if v > 0:
            ev.positive += v
        else:
            ev.negative -= v
        seg = segment_of[m.start]
        ev.by_segment[seg] = ev.by_segment.get(seg, 0.0) + v
    # "Praise ... but <a reservation>": what follows the contrast is a reservation even when none of its
    # words is in the lexicon ("mais cette hausse commence à faire beaucoup").
    for start in sorted(contrasts):
        seg = segment_of[start]
        before = sum(v for k, v in ev.by_segment.items() if k < seg)
        rest = [t for i, t in enumerate(tokens) if segment_of[i] == seg and t.isalnum()]
        if before >= 0.5 and any(t in lx.MINIMIZERS for t in rest[:6]):
            ev.minor_reservation = True
        if before >= 0.5 and ev.by_segment.get(seg, 0.0) <= 0 and len(rest) >= 4:
            ev.by_segment[seg] = min(ev.by_segment.get(seg, 0.0), -0.6)
            ev.negative = max(ev.negative, 0.6)
            ev.cues.append("reservation after contrast")

    if lex["mixed_markers"].find(tokens):
        ev.mixed_marker = True
    if lex["regulator"].find(tokens) and not ev.asks:
        # "Filed an FCC complaint", "Reported them to the utilities commission": a complaint, whatever else.
        ev.regulator = True
        ev.negative += 1.0
        ev.cues.append("regulator complaint")
    ev.positive += 0.8 * min(2, sum(text.count(e) for e in lx.POSITIVE_EMOJI)) * (0 if ev.sarcasm else 1)
    ev.negative += 0.8 * min(2, sum(text.count(e) for e in lx.NEGATIVE_EMOJI))
    if text.count("!") >= 2 or re.search(r"\b[A-Z]{4,}\b", text) or "??" in text:
        # Shouting strengthens whichever side dominates.
        if ev.negative > ev.positive:
            ev.negative *= 1.2
        elif ev.positive > ev.negative:
            ev.positive *= 1.2
    return ev


def _sentiment_label(ev: _SentimentEvidence) -> tuple[str, float]:
    pos, neg = ev.positive, ev.negative
    total = pos + neg
    score = 0.0 if total == 0 else (pos - neg) / total
    if ev.sarcasm and neg >= pos:
        return "negative", score
    if ev.regulator:
        # A complaint filed with a regulator is never praise: at best it reports the fix it obtained.
        return ("mixed" if pos >= 1.0 else "negative"), min(score, 0.0)
    if ev.mixed_marker and pos > 0 and neg > 0:
        return "mixed", score  # "Mitigé.": the customer says so
    # Praise and complaint on opposite sides of a "but" ("great technician, but billed for nothing").
    sides = ev.by_segment.values()
    if ev.minor_reservation and pos >= 2 * neg:
        return "positive", score
    if len(ev.by_segment) > 1 and any(v >= 0.5 for v in sides) and any(v <= -0.5 for v in sides):
        if min(pos, neg) / max(pos, neg) >= 0.25:
            return "mixed", score
    if pos >= 0.7 and neg >= 0.7 and min(pos, neg) / max(pos, neg) >= 0.3:
        return "mixed", score
    if ev.asks and neg <= 0.6 and pos < 0.5:
        return "neutral", score  # a question with a mild complaint in it is a request for help
    if neg >= 0.5 and neg - pos >= 0.3:
        return "negative", score
    if pos >= 0.6 and pos - neg >= 0.3:
        return "positive", score
    return "neutral", score


# --- churn ---------------------------------------------------------------------------------------------


def _churn(tokens: list[str], sentiment: str, ev: _SentimentEvidence) -> tuple[str, list[str]]:
    lex = _lexicons()
    sentence_of = _sentence_ids(tokens)
    questions = _question_sentences(tokens, sentence_of)
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
        if after and after[0] in _OPERATOR + ("vous", "you"):
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
        if not phrase_has_negator and _negated(tokens, m.start, contrasts, window=4):
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
    lex = _lexicons()
    contrasts = {m.start for m in lex["contrast"].find(tokens)}
    situation, cues = 0.0, []
    for m in lex["urgent"].find(tokens):
        if not any(t in lx.NEGATORS for t in tokens[m.start : m.end]) and _negated(tokens, m.start, contrasts):
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
    ev = _sentiment(clean, tokens, language)
    sentiment, score = _sentiment_label(ev)
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
    asks = bool(_lexicons()["request"].find(tokens))
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
