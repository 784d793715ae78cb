"""Sentiment: weighted cue phrases, strengthened by intensifiers, flipped by a negation in the same clause,
damped in questions; sarcasm counts as negative; strong cues on both sides of a "but" make it mixed; a
complaint filed with a regulator is never positive. :func:`sentiment_evidence` gathers the cues,
:func:`sentiment_label` decides."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from llmops.llm import lexicon as lx
from llmops.llm.cues import language_evidence, lexicons, negated, question_sentences, sentence_ids
from llmops.llm.text import SENTENCE_BREAKS, Match, fold

@dataclass
class SentimentEvidence:
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
OPERATOR = ("lumea", "lumeatelecom")


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


def sentiment_evidence(text: str, tokens: list[str], language: str) -> SentimentEvidence:
    lex = lexicons()
    ev = SentimentEvidence()
    sentence_of = sentence_ids(tokens)
    questions = question_sentences(tokens, sentence_of)
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

    lexicon = lex[f"sentiment_{language}"] if any(language_evidence(text)) else lex["sentiment_any"]
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
        while after < len(tokens) and tokens[after].startswith(OPERATOR):
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
        if not phrase_has_negator and negated(tokens, m.start, contrasts):
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
        operator_sentences = {sentence_of[i] for i, t in enumerate(tokens) if t.startswith(OPERATOR)}
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


def sentiment_label(ev: SentimentEvidence) -> tuple[str, float]:
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
