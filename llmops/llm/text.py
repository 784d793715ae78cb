"""Text normalisation and a phrase matcher shared by the analysis, the judge and the tool policy.

Comments are folded (lower case, no accents), contractions are expanded ("don't" -> "do not", "n'est" ->
"ne est") so that negation is always a separate word, and the text becomes a list of tokens in which
punctuation is kept: it marks the clause boundaries that stop negation and sarcasm from leaking.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Generic, Iterable, TypeVar

T = TypeVar("T")

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_EN_CONTRACTIONS = (
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\bcannot\b"), "can not"),
    (re.compile(r"\bain't\b"), "is not"),
    (re.compile(r"\bshan't\b"), "shall not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'m\b"), " am"),
    (re.compile(r"'re\b"), " are"),
    (re.compile(r"'ll\b"), " will"),
    (re.compile(r"'ve\b"), " have"),
    (re.compile(r"'d\b"), " would"),
)
# French elision: the letter before the apostrophe is a whole word ("n'" is "ne", "j'" is "je").
_FR_ELISION = re.compile(r"\b(qu|[jlmtsdcn])'(?=[a-z])")
_TOKEN = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*|\.\.\.|[.!?;,:\u2026()\"]")
CLAUSE_BREAKS = frozenset({".", "!", "?", ";", "...", "\u2026", ":", "(", ")"})
SENTENCE_BREAKS = frozenset({".", "!", "?", "...", "\u2026"})


_LIGATURES = str.maketrans({"\u0153": "oe", "\u00e6": "ae", "\u00df": "ss"})


_FOLDED: dict[int, str] = {}


def _fold_char(ch: str) -> str:
    decomposed = unicodedata.normalize("NFKD", ch.translate(_LIGATURES))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower-case and strip accents: "Résilier" -> "resilier", "œil" -> "oeil"."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    for ch in set(lowered):
        code = ord(ch)
        if code > 127 and code not in _FOLDED:
            _FOLDED[code] = _fold_char(ch)
    return lowered.translate(_FOLDED)


def normalize(text: str) -> str:
    folded = fold(text.translate(_APOSTROPHES))
    for pattern, replacement in _EN_CONTRACTIONS:
        folded = pattern.sub(replacement, folded)
    folded = _FR_ELISION.sub(lambda m: ("que" if m.group(1) == "qu" else m.group(1) + "e") + " ", folded)
    return folded.replace("'s ", " ").replace("'", " ")


def tokenize(text: str) -> list[str]:
    """Normalised tokens of ``text``, punctuation included."""
    return _TOKEN.findall(normalize(text))


def sentences(text: str) -> list[str]:
    """Split a text into sentences (on . ! ? and line breaks), keeping their original characters."""
    parts = re.split(r"(?<=[.!?\u2026])\s+|\n+", text.strip())
    return [p.strip() for p in parts if p and p.strip()]


@dataclass(frozen=True)
class Match(Generic[T]):
    start: int
    end: int  # exclusive token index
    value: T
    phrase: str


class PhraseLexicon(Generic[T]):
    """Matches multi-word phrases against tokens.

    A phrase is space-separated token patterns: ``word`` matches exactly, ``stem*`` matches any token that
    starts with ``stem``, ``_`` matches any one word token. Matching is greedy (the longest phrase at a
    position wins) and non-overlapping, and runs in time proportional to the number of tokens.
    """

    def __init__(self, entries: Iterable[tuple[str, T]]) -> None:
        self._exact: dict[str, list[tuple[tuple[str, ...], T, str]]] = {}
        self._prefix: dict[str, list[tuple[tuple[str, ...], T, str]]] = {}
        for phrase, value in entries:
            parts = tuple(fold(phrase).split())
            if not parts:
                continue
            head = parts[0]
            item = (parts, value, phrase)
            if head.endswith("*"):
                self._prefix.setdefault(head[:-1], []).append(item)
            else:
                self._exact.setdefault(head, []).append(item)
        self._prefix_lengths = sorted({len(k) for k in self._prefix})
        # Candidates per token: vocabulary repeats across comments, so this makes matching near-free.
        self._cache: dict[str, list[tuple[tuple[str, ...], T, str]]] = {}

    @staticmethod
    def _token_matches(pattern: str, token: str) -> bool:
        if pattern == "_":
            return token not in CLAUSE_BREAKS and token != ","
        if pattern.endswith("*"):
            return token.startswith(pattern[:-1])
        return token == pattern

    def _candidates(self, token: str) -> list[tuple[tuple[str, ...], T, str]]:
        cached = self._cache.get(token)
        if cached is not None:
            return cached
        found = list(self._exact.get(token, ()))
        for n in self._prefix_lengths:
            if n > len(token):
                break
            found.extend(self._prefix.get(token[:n], ()))
        if len(self._cache) > 50_000:
            self._cache.clear()
        self._cache[token] = found
        return found

    def find(self, tokens: list[str]) -> list[Match[T]]:
        matches: list[Match[T]] = []
        i = 0
        while i < len(tokens):
            best: Match[T] | None = None
            for parts, value, phrase in self._candidates(tokens[i]):
                end = i + len(parts)
                if end > len(tokens) or (best is not None and len(parts) <= best.end - best.start):
                    continue
                if all(self._token_matches(p, tokens[i + k]) for k, p in enumerate(parts)):
                    best = Match(i, end, value, phrase)
            if best is None:
                i += 1
            else:
                matches.append(best)
                i = best.end
        return matches
