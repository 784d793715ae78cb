"""The offline model's tokenizer: a small, documented approximation of a BPE tokenizer.

Rules (deterministic, dependency-free, fast):

- a text is split into words (runs of letters and digits, accents included) and single non-space symbols;
- a word of up to 4 characters is one token; longer words cost one more token per further 4 characters
  (``ceil(len / 4)``), which is close to what GPT tokenizers charge for English and French prose;
- every symbol (punctuation, emoji, ``{``, ``"``...) is one token.

So token counts grow with the text, a JSON answer costs more than the same words in prose, and "résiliation"
(11 characters) costs 3 tokens. Chat requests add OpenAI's framing overhead: 3 tokens per message (4 with a
``name``) plus 3 to prime the reply; tool definitions and tool calls are counted through their JSON text.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

_PIECE = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_CHARS_PER_TOKEN = 4
PER_MESSAGE = 3
PER_NAME = 1
REPLY_PRIMING = 3


def count_tokens(text: str) -> int:
    """Number of tokens of ``text`` under the rules above (0 for an empty text)."""
    total = 0
    for piece in _PIECE.findall(text):
        n = len(piece)
        total += 1 if n <= _CHARS_PER_TOKEN else -(-n // _CHARS_PER_TOKEN)
    return total


def split_for_stream(text: str, tokens_per_chunk: int = 4) -> list[str]:
    """Cut ``text`` into stream deltas of about ``tokens_per_chunk`` tokens, keeping every character.

    Joining the pieces gives back ``text`` exactly, so a streamed answer equals the non-streamed one.
    """
    if not text:
        return []
    pieces: list[str] = []
    start = 0
    budget = 0
    for match in _PIECE.finditer(text):
        budget += count_tokens(match.group())
        if budget >= tokens_per_chunk:
            pieces.append(text[start : match.end()])
            start = match.end()
            budget = 0
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        # Content parts: only text parts carry tokens we can count; images are priced as a fixed 85 tokens
        # ("low detail" in OpenAI's price list) so a multimodal request is not free.
        parts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, dict) and part.get("type") in {"image_url", "input_image"}:
                parts.append("image " * 85)
        return "\n".join(parts)
    return json.dumps(content, ensure_ascii=False)


def count_message_tokens(messages: Iterable[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> int:
    """Prompt tokens of a chat request: message texts, tool calls, tool definitions and framing."""
    total = REPLY_PRIMING
    for message in messages:
        total += PER_MESSAGE
        total += count_tokens(str(message.get("role", "")))
        total += count_tokens(_content_text(message.get("content")))
        if message.get("name"):
            total += PER_NAME + count_tokens(str(message["name"]))
        for call in message.get("tool_calls") or []:
            total += count_tokens(json.dumps(call, ensure_ascii=False, sort_keys=True))
    if tools:
        total += count_tokens(json.dumps(tools, ensure_ascii=False, sort_keys=True))
    return total
