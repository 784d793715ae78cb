"""The offline analyst's cue lexicons, compiled once, and the token-level reading every label shares: language,
sentences, clauses, negation and questions. Pure functions over :func:`llmops.llm.text.tokenize` tokens."""

from __future__ import annotations

from functools import lru_cache

from llmops.llm import lexicon as lx
from llmops.llm.text import CLAUSE_BREAKS, SENTENCE_BREAKS, PhraseLexicon, tokenize

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

REQUEST_CUES = (
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


@lru_cache(maxsize=1)
def lexicons() -> dict[str, PhraseLexicon]:
    """Every cue list of :mod:`llmops.llm.lexicon` compiled into a phrase lexicon, by name."""
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
        "request": PhraseLexicon((p, True) for p in REQUEST_CUES),
        "regulator": PhraseLexicon((p, True) for p in lx.REGULATORS),
    }


def sentence_ids(tokens: list[str]) -> list[int]:
    """For each token, the number of its sentence."""
    ids, current = [], 0
    for tok in tokens:
        ids.append(current)
        if tok in SENTENCE_BREAKS:
            current += 1
    return ids


def clause_start(tokens: list[str], index: int, contrasts: set[int]) -> int:
    """Where the clause holding ``tokens[index]`` starts (a comma, a clause break or a contrast ends one)."""
    j = index - 1
    while j >= 0 and tokens[j] not in CLAUSE_BREAKS and tokens[j] != "," and j not in contrasts:
        j -= 1
    return j + 1


def negated(tokens: list[str], start: int, contrasts: set[int], window: int = 3) -> bool:
    """Whether a negator stands up to ``window`` words before ``start``, in the same clause."""
    lo = max(clause_start(tokens, start, contrasts), start - window)
    before = tokens[lo:start]
    if any(t.startswith("hesit") for t in before):
        # "je n'hésiterai pas à résilier", "I won't hesitate to cancel": the negation is on the hesitation.
        return False
    return any(t in lx.NEGATORS for t in before)


def question_sentences(tokens: list[str], sentence_of: list[int]) -> set[int]:
    """The sentences that end with a question mark."""
    return {sentence_of[i] for i, t in enumerate(tokens) if t == "?"}


def language_evidence(text: str) -> tuple[float, float]:
    """(French, English) evidence: function words of each language, and French accents."""
    tokens = [t for t in tokenize(text) if t.isalpha()]
    fr = sum(t in _FR_WORDS for t in tokens) + min(3, sum(ch in "éèêàçùâîôûœ" for ch in text.lower())) * 0.5
    en = sum(t in _EN_WORDS for t in tokens)
    return fr, en


def detect_language(text: str) -> str:
    """``fr`` or ``en``, whichever has more evidence (English on a tie)."""
    fr, en = language_evidence(text)
    return "fr" if fr > en else "en"
