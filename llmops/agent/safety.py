"""Treat the comment as untrusted data: delimit it, and spot instructions hidden in it.

The defence is layered, and no layer relies on the model behaving:
1. the comment is wrapped in ``<comment>`` tags and the system prompt says its content is data, never
   instructions (``delimit`` also strips any tag a customer typed to break out of the block);
2. the agent only has the tools of an allowlist, each validating its arguments; there is no refund tool;
3. when ``detect_injection`` finds an instruction in the comment, the run is read-only: ``create_ticket``
   refuses, the result is flagged for a human, and the flag is recorded on the trace.
"""

from __future__ import annotations

import re

_PATTERNS = {
    "ignore-instructions": r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|prompt|rules|guidelines)\b",
    "oublie-consignes": r"\b(oublie[zs]?|ignore[zs]?)\b.{0,40}\b(consignes?|instructions?|r[eè]gles)\b",
    "role-override": r"(^|\n|\s)(system|assistant|developer)\s*:|\byou are now\b|\btu es maintenant\b|\bact as\b",
    "new-instructions": r"\bnew instructions\b|\bnouvelles? instructions?\b|\bdeveloper mode\b|\bjailbreak\b",
    "tool-command": r"\b(call|use|appelle|utilise)\b.{0,20}\b(tool|outil|function|fonction)\b"
    r"|\bcreate_ticket\b|\blookup_customer\b|\bsearch_knowledge_base\b",
    "forced-refund": r"\b(refund|rembourse[zr]?)\b.{0,20}\b(me|moi)\b.{0,30}\d[\d\s.,]*\s*(€|eur|euros?)",
    "delimiter-escape": r"</?\s*comment\s*>",
}
_COMPILED = {name: re.compile(pattern, re.IGNORECASE) for name, pattern in _PATTERNS.items()}
_TAG = re.compile(r"</?\s*comment\s*>", re.IGNORECASE)


def detect_injection(text: str) -> list[str]:
    """Names of the injection patterns found in ``text`` (empty when it reads as an ordinary comment)."""
    return [name for name, pattern in _COMPILED.items() if pattern.search(text or "")]


def delimit(text: str) -> str:
    """The comment, safe to place between ``<comment>`` tags: tags typed by the customer are removed."""
    return _TAG.sub(" ", text or "").strip()
