"""Seeded, scoped fault injection for the offline model.

A fault spec is a list of rules separated by ``;``; a rule is ``name[=value]`` items separated by ``,``::

    rate_limit=0.2,latency_ms=200,seed=7
    rate_limit,match=CUST-0007,max=2 ; latency_ms=50
    hallucination=1,match="facture"

Faults (a bare name means probability 1):

=================  =========================================================================================
``rate_limit=P``    HTTP 429 with a ``Retry-After`` header (``retry_after`` seconds, default 1)
``server_error=P``  HTTP 500
``unavailable=P``   HTTP 503
``timeout=P``       the server stalls ``timeout_s`` seconds (default 30), then answers 504 if anyone waits
``latency_ms=N``    N milliseconds added before answering (``jitter_ms`` adds a seeded 0..J ms)
``malformed_json=P`` the answer's JSON (content or tool arguments) is cut short and no longer parses
``hallucination=P`` the reply cites a passage id it was not given, with a claim from nowhere
``wrong_tool_args=P`` tool calls break their schema (an enum value outside the enum, a required field gone)
=================  =========================================================================================

Options scope a rule: ``match=TEXT`` (only requests whose text contains TEXT, case-insensitive; quote it
to include commas), ``max=N`` (the rule fires at most N times per server), ``on=chat|embeddings|all``,
``seed=N``. The draw for a request depends only on the seed, the rule, the request body and how many
times that same body was seen: a run replays identically, concurrency included, and a retried request
gets a fresh draw (so ``rate_limit=0.5`` lets retries through).

Specs come from ``LLMOPS_OFFLINE_FAULTS``, a :class:`FaultConfig` given to the server, or the
``X-Offline-Faults`` header of one request (its rules add to the server's). Faults are off by default.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field

from llmops.settings import SettingsError

HTTP_FAULTS = ("rate_limit", "server_error", "unavailable", "timeout")
CONTENT_FAULTS = ("malformed_json", "hallucination", "wrong_tool_args")
FAULTS = (*HTTP_FAULTS, "latency_ms", *CONTENT_FAULTS)
OPTIONS = ("match", "max", "seed", "retry_after", "timeout_s", "jitter_ms", "on")
ENDPOINTS = ("chat", "embeddings", "models", "all")
HEADER = "X-Offline-Faults"


class FaultSpecError(SettingsError):
    """A fault spec that cannot be understood; the message names the valid faults and options."""


def _spec_error(problem: str, spec: str) -> FaultSpecError:
    return FaultSpecError(
        f"{problem} in fault spec {spec!r}. Valid faults: {', '.join(FAULTS)}; "
        f"options: {', '.join(OPTIONS)} (e.g. 'rate_limit=0.2,latency_ms=200,seed=7')."
    )


@dataclass(frozen=True)
class FaultRule:
    probabilities: tuple[tuple[str, float], ...] = ()
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    match: str | None = None
    max_count: int | None = None
    seed: int = 0
    retry_after: float = 1.0
    timeout_s: float = 30.0
    on: str = "all"

    def applies_to(self, endpoint: str, text: str) -> bool:
        if self.on != "all" and self.on != endpoint:
            return False
        return self.match is None or self.match.lower() in text.lower()


@dataclass(frozen=True)
class FaultConfig:
    """Parsed fault rules; falsy when there are none."""

    rules: tuple[FaultRule, ...] = ()
    spec: str = ""

    def __bool__(self) -> bool:
        return bool(self.rules)

    @classmethod
    def parse(cls, spec: str | None) -> "FaultConfig":
        spec = (spec or "").strip()
        if not spec:
            return cls()
        rules = tuple(_parse_rule(part, spec) for part in _split(spec, ";") if part.strip())
        return cls(rules, spec)

    @classmethod
    def coerce(cls, value: "FaultConfig | str | None") -> "FaultConfig":
        return value if isinstance(value, FaultConfig) else cls.parse(value)


def _split(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside double quotes."""
    parts, current, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _number(value: str, name: str, spec: str, *, integer: bool = False, probability: bool = False) -> float:
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        raise _spec_error(f"{name}={value!r} is not a {'whole ' if integer else ''}number", spec) from None
    if number < 0 or (probability and number > 1):
        raise _spec_error(f"{name}={value} must be {'between 0 and 1' if probability else 'positive'}", spec)
    return number


def _parse_rule(text: str, spec: str) -> FaultRule:
    probabilities: list[tuple[str, float]] = []
    values: dict[str, object] = {}
    for item in _split(text, ","):
        item = item.strip()
        if not item:
            continue
        name, has_value, raw = item.partition("=")
        name, raw = name.strip().lower(), raw.strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = raw[1:-1]
        if name in HTTP_FAULTS or name in CONTENT_FAULTS:
            probabilities.append((name, _number(raw, name, spec, probability=True) if has_value else 1.0))
        elif name == "latency_ms":
            if not has_value:
                raise _spec_error("latency_ms needs a value in milliseconds", spec)
            values["latency_ms"] = _number(raw, name, spec)
        elif name == "jitter_ms":
            values["jitter_ms"] = _number(raw, name, spec)
        elif name == "match":
            if not raw:
                raise _spec_error("match needs a text", spec)
            values["match"] = raw
        elif name == "max":
            values["max_count"] = int(_number(raw, name, spec, integer=True))
        elif name == "seed":
            values["seed"] = int(_number(raw, name, spec, integer=True))
        elif name == "retry_after":
            values["retry_after"] = _number(raw, name, spec)
        elif name == "timeout_s":
            values["timeout_s"] = _number(raw, name, spec)
        elif name == "on":
            if raw not in ENDPOINTS:
                raise _spec_error(f"on={raw!r} is not one of {', '.join(ENDPOINTS)}", spec)
            values["on"] = raw
        else:
            raise _spec_error(f"unknown fault {name!r}", spec)
    if not probabilities and not values.get("latency_ms"):
        raise _spec_error(f"rule {text.strip()!r} has no fault", spec)
    return FaultRule(probabilities=tuple(probabilities), **values)  # type: ignore[arg-type]


@dataclass
class FaultDecision:
    """What to do to one request."""

    latency_s: float = 0.0
    http_fault: str | None = None
    retry_after: float = 1.0
    timeout_s: float = 30.0
    malformed_json: bool = False
    hallucination: bool = False
    wrong_tool_args: bool = False
    applied: list[str] = field(default_factory=list)
    #: Content faults drawn but not yet counted against ``max``: they count only once the answer used them
    #: (a ``hallucination`` drawn for a turn that only calls tools must not use up ``max=1``).
    pending: list[tuple["FaultInjector", int, str]] = field(default_factory=list)

    def settle(self, used: set[str]) -> None:
        """Count the pending content faults the answer actually carried; forget the others."""
        self.applied = [name for name in self.applied if name not in CONTENT_FAULTS or name in used]
        counted: set[tuple[int, int]] = set()
        for injector, index, name in self.pending:
            if name in used and (id(injector), index) not in counted:
                counted.add((id(injector), index))
                injector.count(index)
        self.pending.clear()


def _uniform(*parts: object) -> float:
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class FaultInjector:
    """Decides, per request, which faults of a :class:`FaultConfig` apply; thread-safe."""

    _MAX_TRACKED = 100_000

    def __init__(self, config: FaultConfig | str | None = None) -> None:
        self.config = FaultConfig.coerce(config)
        self._lock = threading.Lock()
        self._fired: dict[int, int] = {}
        self._seen: dict[tuple[int, str], int] = {}

    def decide(self, endpoint: str, text: str, body_key: str, into: FaultDecision | None = None) -> FaultDecision:
        decision = into or FaultDecision()
        with self._lock:
            for index, rule in enumerate(self.config.rules):
                if not rule.applies_to(endpoint, text):
                    continue
                if rule.max_count is not None and self._fired.get(index, 0) >= rule.max_count:
                    continue
                if len(self._seen) > self._MAX_TRACKED:
                    self._seen.clear()
                occurrence = self._seen.get((index, body_key), 0)
                self._seen[(index, body_key)] = occurrence + 1
                fired = False
                for name, probability in rule.probabilities:
                    if name in CONTENT_FAULTS and endpoint != "chat":
                        continue
                    if _uniform(rule.seed, index, name, body_key, occurrence) >= probability:
                        continue
                    if name in HTTP_FAULTS:
                        if decision.http_fault is None:
                            decision.http_fault = name
                            decision.retry_after = rule.retry_after
                            decision.timeout_s = rule.timeout_s
                            fired = True
                            decision.applied.append(name)
                    else:
                        setattr(decision, name, True)
                        decision.applied.append(name)
                        decision.pending.append((self, index, name))
                if rule.latency_ms or rule.jitter_ms:
                    jitter = rule.jitter_ms * _uniform(rule.seed, index, "jitter", body_key, occurrence)
                    decision.latency_s += (rule.latency_ms + jitter) / 1000.0
                    decision.applied.append("latency_ms")
                    fired = True
                if fired:
                    self._fired[index] = self._fired.get(index, 0) + 1
        return decision

    def count(self, index: int) -> None:
        """Count one firing of rule ``index`` (for ``max``)."""
        with self._lock:
            self._fired[index] = self._fired.get(index, 0) + 1
