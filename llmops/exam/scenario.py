"""What an exam kit plants, chosen from the seed: sessions of real comments and the faults among them.

Everything here is a pure function of the seed and the data files (``data/eval/full.jsonl``,
``data/customers.csv``, ``data/kb/``), so a seed always describes the same exam.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from llmops.exam.errors import ExamError

SESSIONS = 5
PER_SESSION = 7
_PII = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|(?:\+33|0)[1-9](?:[ .]?\d{2}){4}")


@dataclass(frozen=True)
class KitComment:
    comment_id: str
    customer_id: str
    channel: str
    text: str
    expected_doc_ids: tuple[str, ...]
    session_id: str


@dataclass
class Scenario:
    seed: int
    sessions: list[str]
    comments: list[KitComment]
    baseline_session: str
    canary_session: str  # served by the verbose prompt version
    rate_limited_session: str
    timeout_customer: str
    hallucination_comment: str
    injection_comment: str
    redaction_off_comment: str
    missing_doc: str
    missing_doc_comment: str
    retry_after_s: float = 3.0
    tool_timeout_s: float = 10.0
    planted: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["comments"] = [c.comment_id for c in self.comments]
        return data

    def by_session(self) -> dict[str, list[KitComment]]:
        out: dict[str, list[KitComment]] = {s: [] for s in self.sessions}
        for c in self.comments:
            out[c.session_id].append(c)
        return out

    def faults_spec(self) -> str:
        """The offline model's fault rules (``X-Offline-Faults`` syntax) for this scenario."""
        rules = [f"hallucination=1,match={self.customer_of(self.hallucination_comment)}"]
        for c in self.by_session()[self.rate_limited_session]:
            # Two 429s per comment: the analyzer's retry middleware waits and tries again each time.
            rules.append(f"rate_limit=1,match={c.customer_id},max=2,retry_after={self.retry_after_s:g}")
        return " ; ".join(rules)

    def customer_of(self, comment_id: str) -> str:
        return next(c.customer_id for c in self.comments if c.comment_id == comment_id)


def _rows(data_dir: Path) -> list[dict]:
    path = data_dir / "eval" / "full.jsonl"
    if not path.is_file():
        raise ExamError(f"{path} is missing: an exam kit draws its comments from the full evaluation set")
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            if (row["inputs"].get("text") or "").strip() and row["inputs"].get("customer_id"):
                rows.append(row)
    return rows


def make_scenario(seed: int, data_dir: Path | str = "data") -> Scenario:
    """The exam of ``seed``: 5 sessions of 7 comments and one planted fault of each kind."""
    if seed < 0:
        raise ExamError(f"--seed must be a non-negative whole number, not {seed}")
    rng = random.Random(f"llmops-exam-{seed}")
    rows = _rows(Path(data_dir))
    rows.sort(key=lambda r: r["id"])
    customers: dict[str, list[dict]] = {}
    for r in rows:
        customers.setdefault(r["inputs"]["customer_id"], []).append(r)
    used_customers: set[str] = set()
    used: set[str] = set()

    by_id = {r["id"]: r for r in rows}

    def take(pool: list[dict], n: int, own_customers: bool = False) -> list[dict]:
        """``n`` unused rows of ``pool``; with ``own_customers``, of customers with no other comment in the kit
        (so a fault matched on the customer id hits exactly that comment)."""
        taken = {by_id[i]["inputs"]["customer_id"] for i in used} if own_customers else set()
        pool = [r for r in pool if r["id"] not in used and r["inputs"]["customer_id"] not in used_customers | taken]
        picked: list[dict] = []
        for r in rng.sample(pool, len(pool)):
            if own_customers and r["inputs"]["customer_id"] in {p["inputs"]["customer_id"] for p in picked}:
                continue
            picked.append(r)
            if len(picked) == n:
                break
        if len(picked) < n:
            raise ExamError(f"seed {seed}: not enough comments to plant every fault; try another seed")
        for r in picked:
            used.add(r["id"])
            if own_customers:
                used_customers.add(r["inputs"]["customer_id"])
        return picked

    def hard(r: dict) -> str:
        return (r.get("tags") or {}).get("hard_case") or ""

    from llmops.agent.safety import detect_injection

    # Only attempts the application's own detector flags: the trace must show them (injection_suspected).
    injections = [r for r in rows if hard(r) == "injection" and detect_injection(r["inputs"]["text"])]
    plain = [r for r in rows if not hard(r) and not _PII.search(r["inputs"]["text"])]
    with_pii = [r for r in rows if hard(r) == "pii" and _PII.search(r["inputs"]["text"])]
    single_doc = [r for r in plain if len(r["expectations"].get("expected_doc_ids") or []) == 1]
    long_texts = [r for r in plain if len(r["inputs"]["text"]) > 320]

    # The customer whose lookups time out: three comments of theirs, all in one session.
    multi = sorted(c for c, rs in customers.items() if len([r for r in rs if r in plain]) >= 3)
    timeout_customer = rng.choice(multi)
    timeout_rows = rng.sample([r for r in customers[timeout_customer] if r in plain], 3)
    used.update(r["id"] for r in timeout_rows)
    used_customers.add(timeout_customer)

    injection = take(injections, 1)[0]
    redaction_off = take(with_pii, 1)[0]
    # The retrieval miss: a comment whose one expected document is taken out of the index.
    miss = take(single_doc, 1)[0]
    missing_doc = miss["expectations"]["expected_doc_ids"][0]
    canary_long = take(long_texts, 4)
    # Faults matched on the customer id: customers with no other comment in the kit.
    hallucinated = take([r for r in plain if r["expectations"].get("expected_doc_ids")], 1, own_customers=True)[0]
    rate_limited = take(plain, PER_SESSION, own_customers=True)
    # Comments whose expected document is the missing one would blur the retrieval-miss question.
    others = [r for r in plain if missing_doc not in (r["expectations"].get("expected_doc_ids") or [])]

    sessions = [f"sess-{seed}-{chr(ord('a') + i)}" for i in range(SESSIONS)]
    order = list(range(SESSIONS))
    rng.shuffle(order)
    baseline, canary, rate, timeout_s, mixed = (sessions[i] for i in order)
    groups: dict[str, list[dict]] = {
        baseline: [hallucinated, miss],
        canary: canary_long,
        rate: rate_limited,
        timeout_s: timeout_rows,
        mixed: [injection, redaction_off],
    }
    for session_id, group in groups.items():
        missing = PER_SESSION - len(group)
        if missing > 0:
            pool = [r for r in others if len(r["inputs"]["text"]) < 300] if session_id == canary else others
            group.extend(take(pool, missing))
        rng.shuffle(group)
    comments = [
        KitComment(
            comment_id=r["id"],
            customer_id=r["inputs"]["customer_id"],
            channel=r["inputs"].get("channel") or "unknown",
            text=r["inputs"]["text"],
            expected_doc_ids=tuple(r["expectations"].get("expected_doc_ids") or ()),
            session_id=session_id,
        )
        for session_id in sessions
        for r in groups[session_id]
    ]
    scenario = Scenario(
        seed=seed, sessions=sessions, comments=comments, baseline_session=baseline, canary_session=canary,
        rate_limited_session=rate, timeout_customer=timeout_customer,
        hallucination_comment=hallucinated["id"], injection_comment=injection["id"],
        redaction_off_comment=redaction_off["id"], missing_doc=missing_doc, missing_doc_comment=miss["id"],
    )  # fmt: skip
    return scenario
