"""Strings for JSON-schema fields nobody knows: a value of the field's ``format``, or one generated from its
``pattern`` (literals, classes, ``\\d`` ``\\w``, quantifiers, groups, alternatives); deterministic, seeded by the
field's path."""

from __future__ import annotations

import hashlib
import re
from typing import Any, Callable


def sample_pattern(pattern: str, seed: str) -> str | None:
    """A string matching a simple regex (literals, classes, \\d \\w, quantifiers, groups), or None."""
    digest = hashlib.sha256(seed.encode()).digest()
    counter = [0]

    def pick(chars: str) -> str:
        counter[0] += 1
        return chars[digest[counter[0] % len(digest)] % len(chars)]

    pos = 0
    out: list[str] = []
    body = pattern[1:] if pattern.startswith("^") else pattern
    body = body[:-1] if body.endswith("$") and not body.endswith("\\$") else body

    def atom() -> Callable[[], str] | None:
        nonlocal pos
        ch = body[pos]
        if ch == "\\":
            nxt = body[pos + 1] if pos + 1 < len(body) else ""
            pos += 2
            if nxt == "d":
                return lambda: pick("0123456789")
            if nxt == "w":
                return lambda: pick("abcdefghijklmnopqrstuvwxyz0123456789")
            if nxt == "s":
                return lambda: " "
            return lambda c=nxt: c
        if ch == "[":
            end = body.find("]", pos + 1)
            if end < 0:
                return None
            spec = body[pos + 1 : end]
            pos = end + 1
            if spec.startswith("^"):
                return lambda: "x" if "x" not in spec else "y"
            chars = ""
            i = 0
            while i < len(spec):
                if i + 2 < len(spec) and spec[i + 1] == "-":
                    chars += "".join(chr(c) for c in range(ord(spec[i]), ord(spec[i + 2]) + 1))
                    i += 3
                elif spec[i] == "\\" and i + 1 < len(spec):
                    chars += {"d": "0123456789", "w": "abcdefghijklmnopqrstuvwxyz0123456789"}.get(
                        spec[i + 1], spec[i + 1]
                    )
                    i += 2
                else:
                    chars += spec[i]
                    i += 1
            return (lambda c=chars: pick(c)) if chars else None
        if ch == "(":
            depth, end = 0, pos
            while end < len(body):
                if body[end] == "\\":
                    end += 2
                    continue
                depth += body[end] == "("
                depth -= body[end] == ")"
                if depth == 0:
                    break
                end += 1
            inner = body[pos + 1 : end]
            inner = inner[2:] if inner.startswith("?:") else inner
            first = _split_alternatives(inner)[0]
            pos = end + 1
            sub = sample_pattern(first, seed + "|")
            return None if sub is None else (lambda s=sub: s)
        if ch in ".":
            pos += 1
            return lambda: pick("abcdefghij")
        if ch in "|*+?{})":
            return None
        pos += 1
        return lambda c=ch: c

    alternatives = _split_alternatives(body)
    if len(alternatives) > 1:
        body = alternatives[0]
    while pos < len(body):
        make = atom()
        if make is None:
            return None
        low, high = 1, 1
        if pos < len(body) and body[pos] in "*+?{":
            q = body[pos]
            if q == "*":
                low, high, pos = 0, 3, pos + 1
            elif q == "+":
                low, high, pos = 1, 3, pos + 1
            elif q == "?":
                low, high, pos = 0, 1, pos + 1
            else:
                end = body.find("}", pos)
                if end < 0:
                    return None
                parts = body[pos + 1 : end].split(",")
                try:
                    low = int(parts[0])
                    high = (
                        int(parts[1]) if len(parts) > 1 and parts[1].strip() else (low if len(parts) == 1 else low + 3)
                    )
                except ValueError:
                    return None
                pos = end + 1
        out.extend(make() for _ in range(max(low, min(high, 1))))
    result = "".join(out)
    try:
        return result if re.search(pattern, result) else None
    except re.error:
        return None


def _split_alternatives(pattern: str) -> list[str]:
    parts, depth, start, i = [], 0, 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def default_string(schema: dict[str, Any], path: tuple[str, ...]) -> str:
    """A string for a field nobody knows: one of its ``format``, else one matching its ``pattern``, else "n/a"."""
    fmt = schema.get("format")
    seed = "/".join(path)
    if fmt == "date-time":
        return "2026-01-01T00:00:00Z"
    if fmt == "date":
        return "2026-01-01"
    if fmt == "time":
        return "00:00:00"
    if fmt == "email":
        return "customer@example.com"
    if fmt in {"uri", "url", "uri-reference"}:
        return "https://example.com/"
    if fmt == "uuid":
        h = hashlib.sha256(seed.encode()).hexdigest()
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"
    if isinstance(schema.get("pattern"), str):
        sample = sample_pattern(schema["pattern"], seed)
        if sample is not None:
            return sample
    return "n/a"
