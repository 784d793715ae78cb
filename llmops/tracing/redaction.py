"""PII and secret redaction: a pure function, and the span hook that applies it before anything is stored.

:func:`redact` masks e-mail addresses, phone numbers (French national and international forms), IBANs,
Luhn-valid card numbers and anything that looks like a credential (``sk-...`` keys, ``Bearer`` tokens,
``Authorization`` headers, JWTs, long mixed-case tokens, values under keys such as ``password``). It is a
pure function over str / dict / list / tuple / numbers, so the analyzer and the exams reuse it on data that
never went through a span.

:func:`redact_span` is the hook :func:`llmops.tracing.setup` registers with ``mlflow.tracing.configure``.
MLflow calls it in ``LiveSpan.end()`` *before* the span is handed to the exporter, so it rewrites the
span's attributes (inputs, outputs and everything else), its events (exception messages, stack traces)
and its status message. On the root span it also cleans the trace-level tags and metadata that were set
with ``mlflow.update_current_trace`` / ``mlflow.tracing.context``; MLflow computes the request/response
previews (``mlflow.traceInputs`` / ``mlflow.traceOutputs``) from the root span *after* this hook ran, so
they only ever see redacted values.

This module imports nothing from mlflow at import time: ``redact`` must stay cheap for plain callers.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

EMAIL = "[EMAIL]"
PHONE = "[PHONE]"
IBAN = "[IBAN]"
CARD = "[CARD]"
SECRET = "[SECRET]"

#: Span attribute set on a span that ended while redaction was switched off, so audits can find it.
REDACTION_OFF_ATTRIBUTE = "llmops.redaction"

# Keys whose whole value is a credential, whatever it looks like (compared lower-cased, '-' -> '_').
_SECRET_KEYS = frozenset(
    {
        "authorization",
        "proxy_authorization",
        "x_api_key",
        "api_key",
        "apikey",
        "openai_api_key",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "cookie",
        "set_cookie",
    }
)

# MLflow's own bookkeeping attributes: never user data, and some hold ids that look like long tokens.
_SAFE_ATTRIBUTES = frozenset(
    {
        "mlflow.traceRequestId",
        "mlflow.spanType",
        "mlflow.spanFunctionName",
        "mlflow.spanLogLevel",
        "mlflow.chat.tokenUsage",
        "mlflow.llm.cost",
        "mlflow.llm.model",
        "mlflow.llm.provider",
        "mlflow.message.format",
        "mlflow.experimentId",
        "mlflow.startTimeNs",
        REDACTION_OFF_ATTRIBUTE,
    }
)

# Trace-level keys written by MLflow itself (ids, versions, source file, git commit): left untouched.
_SAFE_TRACE_KEYS = frozenset(
    {
        "mlflow.trace_schema.version",
        "mlflow.traceName",
        "mlflow.source.name",
        "mlflow.source.type",
        "mlflow.source.git.commit",
        "mlflow.source.git.branch",
        "mlflow.source.git.repoURL",
        "mlflow.sourceRun",
        "mlflow.modelId",
        "mlflow.linkedPrompts",
        "mlflow.trace.tokenUsage",
        "mlflow.trace.cost",
        "mlflow.trace.sizeBytes",
        "mlflow.trace.sizeStats",
        "mlflow.artifactLocation",
        "mlflow.trace.spansLocation",
        "llmops.cost_usd",
    }
)

# Identifiers that must stay groupable (the UI's user and session views): replaced by a stable pseudonym
# instead of a mask when they contain PII, so "[EMAIL]" does not merge every user into one.
_IDENTIFIER_KEYS = frozenset({"mlflow.trace.user", "mlflow.trace.session"})

_EMAIL_RE = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
# Country code, check digits, then 11-30 alphanumerics, optionally grouped by 4 with spaces.
_IBAN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])")
# 13 to 19 digits, optionally separated by single spaces or dashes, starting 2-6 (Visa, Mastercard, Amex,
# Discover...: epoch timestamps start with 1 and stay); kept only when the Luhn check passes.
_CARD_RE = re.compile(r"(?<![\d\w])[2-6](?:[ -]?\d){12,18}(?![\d\w])")
_PHONE_RES = (
    # +33 6 12 34 56 78, +33 (0)6 12 34 56 78, 0033 6 12 34 56 78, +33612345678
    re.compile(r"(?<![\w+])(?:\+|00)33[ .-]?(?:\(0\)[ .-]?)?[1-9](?:[ .-]?\d{2}){4}(?!\d)"),
    # 06 12 34 56 78, 06.12.34.56.78, 06-12-34-56-78, 0612345678
    re.compile(r"(?<![\w+])0[1-9](?:[ .-]?\d{2}){4}(?!\d)"),
    # International E.164 (+ then 7 to 15 digits), written plain or with single separators.
    re.compile(r"(?<![\w+])(?:\+|00)[1-9](?:[ .-]?\(?\d\)?){6,14}(?!\d)"),
)
_SECRET_RES = (
    # "Authorization: Basic xxx" / "authorization=Bearer xxx" in free text (headers dumped as text).
    re.compile(r"(?i)\b((?:proxy-)?authorization\s*[:=]\s*)(?:(?:bearer|basic|token|digest)\s+)?[^\s,;\"'}]+"),
    re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    # key=value / key: value for credential-looking keys in free text.
    re.compile(
        r"(?i)\b((?:api[_-]?key|secret|client[_-]?secret|password|passwd|access[_-]?token|refresh[_-]?token)"
        r"\s*[:=]\s*)[\"']?[^\s,;\"'}]+"
    ),
    # Provider key formats: OpenAI/Anthropic sk-, GitHub, Slack, AWS, Google, Hugging Face.
    re.compile(r"(?<![\w-])()sk-[A-Za-z0-9_-]{16,}"),
    re.compile(r"(?<![\w-])()(?:(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
    re.compile(r"(?<![\w-])()xox[abprs]-[A-Za-z0-9-]{10,}"),
    re.compile(r"(?<![A-Za-z0-9])()(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])"),
    re.compile(r"(?<![\w-])()AIza[0-9A-Za-z_-]{30,}"),
    re.compile(r"(?<![\w-])()hf_[A-Za-z0-9]{30,}"),
    # JSON Web Tokens.
    re.compile(r"(?<![\w-])()eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
)
# Long random-looking tokens: 32+ chars mixing upper case, lower case and digits. UUIDs and hex digests
# (document ids, trace ids, git commits) are single-case, so they survive.
_LONG_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{32,}(?![A-Za-z0-9_-])")

# A cheap superset test run on raw span attributes (JSON text) before decoding them: when it says no, no
# pattern above can match and the value is kept without a JSON round trip. Plain substring tests are ~5x
# faster than one big alternation regex.
_CANDIDATE_WORDS = (
    "sk-", "bearer", "authoriz", "key", "secret", "passw", "token", "cookie", "gh", "github_pat", "xox",
    "akia", "asia", "aiza", "hf_", "eyj",
)  # fmt: skip
_CANDIDATE_DIGITS_RE = re.compile(r"\d(?:[ .()-]{0,2}\d){6}")
_CANDIDATE_IBAN_RE = re.compile(r"[A-Z]{2}\d{2}")
_CANDIDATE_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32}")


def _may_contain_pii(text: str) -> bool:
    if "@" in text:
        return True
    lowered = text.lower()
    for word in _CANDIDATE_WORDS:
        if word in lowered:
            return True
    return bool(
        _CANDIDATE_DIGITS_RE.search(text) or _CANDIDATE_IBAN_RE.search(text) or _CANDIDATE_TOKEN_RE.search(text)
    )


_SECRET_JSON = json.dumps(SECRET)

_ENABLED: contextvars.ContextVar[bool] = contextvars.ContextVar("llmops_redaction_enabled", default=True)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _is_card_number(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and _luhn_ok(digits)


def _card_sub(match: re.Match[str]) -> str:
    return CARD if _is_card_number(re.sub(r"\D", "", match.group(0))) else match.group(0)


def _iban_sub(match: re.Match[str]) -> str:
    # The shortest IBANs (Norway) have 15 characters; shorter matches are product codes and the like.
    return IBAN if len(match.group(0).replace(" ", "")) >= 15 else match.group(0)


def _long_token_sub(match: re.Match[str]) -> str:
    token = match.group(0)
    has_upper = has_lower = has_digit = False
    for ch in token:
        if ch.isupper():
            has_upper = True
        elif ch.islower():
            has_lower = True
        elif ch.isdigit():
            has_digit = True
    return SECRET if has_upper and has_lower and has_digit else token


def redact_text(text: str) -> str:
    """Mask PII and secrets in one string; returns the same object when nothing matched."""
    if not text:
        return text
    redacted = _redacted_or_none(text)
    return text if redacted is None else redacted


@functools.lru_cache(maxsize=8192)
def _redacted_or_none(text: str) -> str | None:
    # An agent's spans repeat the same long strings (system prompt, earlier messages, tool results) in every
    # CHAIN and CHAT_MODEL span of a trace; scanning each distinct string once made redaction 3x cheaper.
    if not _may_contain_pii(text):
        return None
    out = text
    # Secrets first: a bearer token may contain digits that the phone pattern would otherwise half-eat.
    for pattern in _SECRET_RES:
        out = pattern.sub(lambda m: f"{m.group(1)}{SECRET}", out)
    out = _LONG_TOKEN_RE.sub(_long_token_sub, out)
    out = _EMAIL_RE.sub(EMAIL, out)
    out = _IBAN_RE.sub(_iban_sub, out)
    out = _CARD_RE.sub(_card_sub, out)
    for pattern in _PHONE_RES:
        out = pattern.sub(PHONE, out)
    return None if out == text else out


def _is_secret_key(key: Any) -> bool:
    return isinstance(key, str) and key.lower().replace("-", "_") in _SECRET_KEYS


def redact(value: Any) -> Any:
    """Return ``value`` with PII and secrets masked, recursing into dicts, lists and tuples.

    Strings are scanned; values stored under credential-like keys (``password``, ``Authorization``,
    ``api_key``...) are replaced whole by ``[SECRET]``; integers that are Luhn-valid card numbers become
    ``[CARD]``. Other objects are returned unchanged. Unchanged input is returned as the very same object,
    so callers can detect "nothing to do" with ``is``.
    """
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return CARD if _is_card_number(str(abs(value))) else value
    if isinstance(value, Mapping):
        changed = False
        out: dict[Any, Any] = {}
        for key, item in value.items():
            new_key = redact_text(key) if isinstance(key, str) else key
            if _is_secret_key(key) and isinstance(item, (str, int)) and item != SECRET and item != "":
                new_item: Any = SECRET
            else:
                new_item = redact(item)
            changed = changed or new_key is not key or new_item is not item
            out[new_key] = new_item
        return out if changed else value
    if isinstance(value, (list, tuple)):
        items = [redact(item) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return type(value)(items) if isinstance(value, tuple) else items
    return value


def pseudonymize(identifier: str) -> str:
    """A stable stand-in for an identifier that contains PII (``alice@example.com`` -> ``anon-3f1c...``).

    Keeps per-user / per-session grouping in the UI without storing the address itself. Identifiers
    without PII (``user-42``) are returned unchanged.
    """
    if redact_text(identifier) is identifier:
        return identifier
    return "anon-" + hashlib.sha256(identifier.encode("utf-8")).hexdigest()[:16]


def redaction_enabled() -> bool:
    """Whether spans ending in the current context are redacted."""
    return _ENABLED.get()


@contextlib.contextmanager
def redaction_disabled() -> Iterator[None]:
    """Store spans that *end* inside this block unredacted (e.g. a debugging session on synthetic data).

    Such spans carry the attribute ``llmops.redaction = "off"`` so an audit can find them. The switch is
    a context variable: it affects the current thread / task only, never concurrent requests.
    """
    token = _ENABLED.set(False)
    try:
        yield
    finally:
        _ENABLED.reset(token)


# ---------------------------------------------------------------------------------------------------------
# The span hook (runs inside LiveSpan.end(), before the span reaches any exporter)
# ---------------------------------------------------------------------------------------------------------


def _redact_raw_attribute(raw: Any) -> Any:
    """Redact one raw OTel attribute value (MLflow stores JSON text); returns ``raw`` itself if unchanged."""
    if isinstance(raw, str):
        if not _may_contain_pii(raw):
            return raw
        try:
            decoded = json.loads(raw)
        except ValueError:
            return redact_text(raw)
        cleaned = redact(decoded)
        if cleaned is decoded:
            return raw
        return json.dumps(cleaned, ensure_ascii=False, default=str)
    if isinstance(raw, (list, tuple)):
        items = [_redact_raw_attribute(item) for item in raw]
        return raw if all(a is b for a, b in zip(items, raw, strict=True)) else tuple(items)
    return raw


def _redact_otel_span(otel_span: Any) -> None:
    attributes = otel_span._attributes  # BoundedAttributes; still mutable before end()
    for key, raw in list(attributes.items()):
        if key in _SAFE_ATTRIBUTES:
            continue
        cleaned = _SECRET_JSON if _is_secret_key(key.rsplit(".", 1)[-1]) else _redact_raw_attribute(raw)
        if cleaned is not raw:
            attributes[key] = cleaned

    events = otel_span._events
    if len(events):
        from opentelemetry.sdk.trace import Event
        from opentelemetry.sdk.util import BoundedList

        new_events = []
        changed = False
        for event in events:
            attrs = dict(event.attributes or {})
            new_attrs = {k: _redact_raw_attribute(v) for k, v in attrs.items()}
            if any(new_attrs[k] is not attrs[k] for k in attrs):
                changed = True
                event = Event(event.name, new_attrs, event.timestamp)
            new_events.append(event)
        if changed:
            otel_span._events = BoundedList.from_seq(events._dq.maxlen, new_events)

    status = otel_span._status
    if status is not None and status.description:
        description = redact_text(status.description)
        if description is not status.description:
            from opentelemetry.trace import Status

            otel_span._status = Status(status.status_code, description)


def redact_trace_info(info: Any) -> None:
    """Clean the user-settable trace-level fields of a TraceInfo in place (tags, metadata, previews)."""
    for mapping in (info.tags, info.trace_metadata):
        for key, value in list(mapping.items()):
            if key in _SAFE_TRACE_KEYS or not isinstance(value, str):
                continue
            if key in _IDENTIFIER_KEYS:
                mapping[key] = pseudonymize(value)
            elif _is_secret_key(key):
                mapping[key] = SECRET
            else:
                mapping[key] = _redact_trace_value(value)
    if info.request_preview:
        info.request_preview = _redact_trace_value(info.request_preview)
    if info.response_preview:
        info.response_preview = _redact_trace_value(info.response_preview)


def _redact_trace_value(value: str) -> str:
    # Trace-level values are plain text unless they look like JSON; keep plain text plain (no quotes added).
    return _redact_raw_attribute(value) if value[:1] in "{[" else redact_text(value)


def redact_span(span: Any) -> None:
    """MLflow span processor (``mlflow.tracing.configure(span_processors=[redact_span])``)."""
    otel_span = getattr(span, "_span", None)
    if otel_span is None:  # NoOpSpan
        return
    if not _ENABLED.get():
        otel_span.set_attribute(REDACTION_OFF_ATTRIBUTE, '"off"')
        return
    _redact_otel_span(otel_span)
    if span.parent_id is None:
        from llmops.mlflow_internals.trace_writing import in_memory_trace

        with in_memory_trace(span.trace_id) as trace:
            if trace is not None:
                redact_trace_info(trace.info)
