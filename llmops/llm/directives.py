"""What the offline model understands of the system prompt: a few directives that change how it answers.

Directives are read from the system (and developer) messages only. The user's message, and above all the
comment between ``<comment>`` tags, is data written by a customer: a comment that contains "Topic guide:" or
"write a detailed summary" is analysed like any other text and changes no behaviour.

Understood directives (see the README's "Instructions it follows" for the wording it recognises):

- a topic guide: a heading that mentions "topic guide" / "guide des thèmes", followed by ``- topic: cue,
  cue, ...`` lines; the cues join the topic lexicon for that request;
- "report every topic it talks about, at most N": every topic with real evidence is reported (up to N)
  instead of the main topic and the secondary ones that weigh almost as much;
- knowledge-base use: a prompt that gives tool instructions (it names an offered tool, or has a "Tools:"
  section) without mentioning the search tool or the knowledge base makes the model answer without searching;
- "write a detailed summary" / "résumé détaillé": a summary of several sentences, not cut to a schema's
  ``maxLength`` in the agent's structured-output tool;
- "answer in English" / "réponds en français": the language of the suggested reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from llmops.llm.text import fold, tokenize
from llmops.taxonomy import TOPICS

#: Weight of a guide cue in the topic lexicon: one cue is real evidence of its topic.
GUIDE_WEIGHT = 1.0

_GUIDE_HEADING = re.compile(r"topic guide|topics guide|guide des themes|guide des sujets|guide of topics")
_GUIDE_LINE = re.compile(r"^\s*[-*\u2022]\s*`?([a-z_ ]{3,40}?)`?\s*[:=\u2013\u2014-]\s*(\S.*)$")
_NUMBERS = {
    "one": 1, "un": 1, "une": 1, "two": 2, "deux": 2, "three": 3, "trois": 3, "four": 4, "quatre": 4,
    "five": 5, "cinq": 5,
}  # fmt: skip
_ALL_TOPICS = re.compile(
    r"\b(every|each|all|chaque|tous|toutes|chacun|chacune)\b.{0,60}?"
    r"\b(one|topics?|subjects?|themes?|sujets?|talks about|raises|aborde|parle)\b"
)
_AT_MOST = re.compile(
    r"\b(?:at most|up to|no more than|maximum of|a maximum of|au plus|au maximum|pas plus de|jusqu a)\s+"
    r"(\d|one|two|three|four|five|un|une|deux|trois|quatre|cinq)\b"
)
_TOPIC_WORDS = re.compile(r"\b(topics?|subjects?|themes?|sujets?)\b")
_KNOWLEDGE_BASE = re.compile(
    r"knowledge[ _-]?base|base de connaissances?|base documentaire|search_knowledge_base|\bkb\b"
)
_TOOLS_HEADING = re.compile(r"^\s*(?:#+\s*)?(?:tools|outils|available tools|outils disponibles)\s*:?\s*$", re.MULTILINE)
_DETAILED = re.compile(
    r"\b(?:detailed|long|longer|full|thorough|comprehensive|in-depth|in depth|extensive|exhaustive)\s+"
    r"(?:\w+\s+)?summar(?:y|ies)\b"
    r"|\bsummar(?:y|ies|ise|ize)\b.{0,30}\b(?:in detail|at length|several sentences|multiple sentences)\b"
    r"|\bresumes?\s+(?:\w+\s+)?(?:detailles?|detaillees?|complets?|longs?|approfondis?|exhaustifs?)\b"
    r"|\bresumes?\b.{0,30}\b(?:en detail|plusieurs phrases)\b"
)
_NEGATION = re.compile(r"\b(?:not|never|no|don t|do not|avoid|pas|jamais|aucun|evite[rz]?|sans)\b")
_REPLY_VERB = (
    r"(?:answer|answers|reply|replies|respond|responds|response|responses|write|draft|"
    r"reponds|repondez|repondre|reponse|reponses|redige|redigez|rediger|ecris|ecrivez|ecrire)"
)
_REPLY_LANGUAGE = re.compile(
    _REPLY_VERB + r"\b[^.\n]{0,60}?\b(?:in|en)\s+(english|french|anglais|francais)\b"
)
_LANGUAGE_CODE = {"english": "en", "anglais": "en", "french": "fr", "francais": "fr"}


@dataclass(frozen=True)
class Directives:
    """Directives of one request's system prompt. Hashable, so analyses can be cached per directive set."""

    #: (topic, phrase) pairs from a topic guide; phrases are folded tokens joined by spaces.
    topic_cues: tuple[tuple[str, str], ...] = ()
    #: Report every topic the comment really talks about (not only the main one and its near-equals).
    all_topics: bool = False
    #: Most topics to report (None: the model's default, three).
    max_topics: int | None = None
    #: The prompt mentions the knowledge base or the search tool.
    mentions_knowledge_base: bool = False
    #: Tool names the prompt mentions, and whether it has a "Tools:" section: it gives tool instructions.
    named_tools: frozenset[str] = frozenset()
    tools_section: bool = False
    #: A summary of several sentences, longer than the one-sentence default.
    detailed_summary: bool = False
    #: Language of the suggested reply ("fr" / "en"), None for the comment's language.
    reply_language: str | None = None

    @property
    def gives_tool_instructions(self) -> bool:
        return self.tools_section or bool(self.named_tools) or self.mentions_knowledge_base

    def may_search(self, tool_name: str = "") -> bool:
        """Whether the model may call the knowledge-base search tool ``tool_name``: yes when the prompt asks
        for it (names the tool or the knowledge base) or says nothing about tools; no when it says which tools
        to use and leaves the knowledge base out."""
        return self.mentions_knowledge_base or tool_name in self.named_tools or not self.gives_tool_instructions

    def analysis_key(self) -> "Directives":
        """Only what changes the analysis of a comment (for caching analyses across requests)."""
        return Directives(
            topic_cues=self.topic_cues,
            all_topics=self.all_topics,
            max_topics=self.max_topics,
            detailed_summary=self.detailed_summary,
        )


NO_DIRECTIVES = Directives()


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?;:])\s+|\n+|\(|\)", text) if s.strip()]


def _negated(text: str, start: int) -> bool:
    """A negation in the few words before ``start``, in the same sentence ("do not write a detailed ...")."""
    before = text[max(0, start - 25) : start]
    before = re.split(r"[.!?;:\n]", before)[-1]
    return bool(_NEGATION.search(before))


def cue_phrase(cue: str) -> str | None:
    """A guide cue as lexicon tokens ("à l'étranger" -> "a le etranger"); None when it has no word."""
    tokens = [t for t in tokenize(cue) if t[0].isalnum()]
    if not tokens or not any(any(c.isalpha() for c in t) for t in tokens):
        return None  # "+2 €": a bare number matches every amount, it is not a cue
    if len(tokens) == 1 and len(tokens[0]) < 2:
        return None  # a lone letter is not a word
    return " ".join(tokens)


def plurals(phrase: str) -> tuple[str, ...]:
    """Plural forms of a cue's last word ("conseiller" -> "conseillers", "réseau" -> "reseaux")."""
    *head, last = phrase.split(" ")
    if len(last) < 3 or not last.isalpha() or last.endswith(("s", "x", "z")):
        return ()
    forms = [last + "x"] if last.endswith(("eau", "au", "eu")) else [last + "s"]
    if last.endswith("al"):
        forms.append(last[:-2] + "aux")
    return tuple(" ".join([*head, form]) for form in forms)


def _guide_cues(lines: list[str]) -> tuple[list[tuple[str, str]], int]:
    """Cues of the ``- topic: a, b, c`` lines that follow a guide heading, and how many lines were used."""
    cues: list[tuple[str, str]] = []
    used = 0
    for line in lines:
        if not line.strip():
            if cues:
                break
            used += 1
            continue
        match = _GUIDE_LINE.match(fold(line))
        if not match:
            break
        used += 1
        topic = match.group(1).strip().replace(" ", "_").replace("-", "_")
        if topic not in TOPICS:
            continue
        # The original line keeps its characters (accents are folded by the tokenizer).
        raw = line.split(":", 1)[1] if ":" in line else match.group(2)
        for cue in _split_cues(raw):
            phrase = cue_phrase(cue.strip().strip(".`\"'"))
            if phrase and (topic, phrase) not in cues:
                cues.append((topic, phrase))
    return cues, used


def _split_cues(raw: str) -> list[str]:
    """Split a guide line on commas and semicolons, but not inside an amount ("9,99 €")."""
    return re.split(r"[;]|,(?!\d)", raw)


@lru_cache(maxsize=256)
def read_directives(system: str, tool_names: tuple[str, ...] = ()) -> Directives:
    """The directives of a system prompt. ``tool_names`` are the tools offered in the request."""
    if not system.strip():
        return NO_DIRECTIVES
    folded = fold(system)
    lines = system.splitlines()
    folded_lines = folded.splitlines()

    topic_cues: list[tuple[str, str]] = []
    i = 0
    while i < len(folded_lines):
        if _GUIDE_HEADING.search(folded_lines[i]):
            cues, used = _guide_cues(lines[i + 1 :])
            topic_cues += [c for c in cues if c not in topic_cues]
            i += used + 1
        else:
            i += 1

    all_topics = False
    max_topics: int | None = None
    for sentence in _sentences(folded):
        if not _TOPIC_WORDS.search(sentence) and not _GUIDE_HEADING.search(sentence):
            continue
        every = _ALL_TOPICS.search(sentence)
        if every and not _negated(sentence, every.start()):
            all_topics = True
        at_most = _AT_MOST.search(sentence)
        if at_most:
            word = at_most.group(1)
            max_topics = max(1, min(len(TOPICS), int(word) if word.isdigit() else _NUMBERS[word]))
    # The guide heading often carries the sentence itself: "Topic guide (report every one ..., at most three)".
    for line in folded_lines:
        if _GUIDE_HEADING.search(line):
            every = _ALL_TOPICS.search(line)
            if every and not _negated(line, every.start()):
                all_topics = True
            at_most = _AT_MOST.search(line)
            if at_most and max_topics is None:
                word = at_most.group(1)
                max_topics = max(1, min(len(TOPICS), int(word) if word.isdigit() else _NUMBERS[word]))

    detailed = any(not _negated(folded, m.start()) for m in _DETAILED.finditer(folded))
    reply_language = None
    for m in _REPLY_LANGUAGE.finditer(folded):
        if not _negated(folded, m.start()):
            reply_language = _LANGUAGE_CODE[m.group(1)]

    named = frozenset(name for name in tool_names if name and fold(name) in folded)
    return Directives(
        topic_cues=tuple(topic_cues),
        all_topics=all_topics,
        max_topics=max_topics,
        mentions_knowledge_base=bool(_KNOWLEDGE_BASE.search(folded)),
        named_tools=named,
        tools_section=bool(_TOOLS_HEADING.search(folded)),
        detailed_summary=detailed,
        reply_language=reply_language,
    )
