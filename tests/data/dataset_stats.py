"""Load the shipped data files and compute the counts that data/README.md publishes.

Run ``uv run python tests/data/dataset_stats.py`` after editing the data to refresh the counts block of
data/README.md; ``tests/data/test_datasets.py`` fails while the README is out of date.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import yaml

DATA = Path(__file__).resolve().parents[2] / "data"
COMMENTS = DATA / "comments.csv"
CUSTOMERS = DATA / "customers.csv"
KB = DATA / "kb"
README = DATA / "README.md"

COMMENT_COLUMNS = ["comment_id", "customer_id", "channel", "created_at", "language", "text",
                   "sentiment", "topics", "churn_risk", "needs_reply"]
CUSTOMER_COLUMNS = ["customer_id", "name", "plan", "tenure_months", "monthly_charges", "contract", "city", "status"]
CHANNELS = ("email", "app_review", "chat", "social", "survey", "call_transcript")
CONTRACTS = ("month-to-month", "one_year", "two_year")
STATUSES = ("active", "suspended", "cancelled")

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_WORD = re.compile(r"[a-zà-öø-ÿœ']+", re.IGNORECASE)
_FR = {"je", "j'ai", "le", "la", "les", "des", "est", "et", "pas", "mon", "ma", "mes", "vous", "une", "pour",
       "avec", "sur", "depuis", "merci", "bonjour", "c'est", "que", "qui", "du", "au", "ça", "très", "plus"}
_EN = {"the", "and", "is", "my", "you", "i", "i'm", "to", "for", "with", "on", "since", "thanks", "hi", "hello",
       "it", "that", "this", "was", "have", "of", "your", "can", "what", "not", "it's"}


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def load_comments() -> list[dict[str, str]]:
    return read_csv(COMMENTS)[1]


def load_customers() -> list[dict[str, str]]:
    return read_csv(CUSTOMERS)[1]


def load_kb() -> list[tuple[Path, dict, str]]:
    """(path, front matter, body) for every knowledge-base document."""
    docs = []
    for path in sorted(KB.glob("*.md")):
        raw = path.read_text(encoding="utf-8")
        match = _FRONT_MATTER.match(raw)
        meta = yaml.safe_load(match.group(1)) if match else None
        docs.append((path, meta, raw[match.end():] if match else raw))
    return docs


def guess_language(text: str) -> str | None:
    """A rough stop-word vote, good enough to check the ``language`` column; None when there is nothing to judge."""
    words = [w.lower() for w in _WORD.findall(text)]
    fr, en = sum(w in _FR for w in words), sum(w in _EN for w in words)
    if fr == en:
        return None
    return "fr" if fr > en else "en"


def word_count(text: str) -> int:
    return len(text.split())


EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?:\+33\s?|\b0)[1-9](?:[\s.]?\d{2}){4}\b|\+44\s?7\d{3}\s?\d{6}")
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){4,7}(?:\s?[A-Z0-9]{1,3})?\b")
INJECTION = re.compile(
    r"ignore (?:all |your )?(?:previous |prior )?instructions|oublie tes consignes|system(?: note)?\s*:|"
    r"instruction syst[eè]me|admin override|system prompt|prompt syst[eè]me|classe ce commentaire comme",
    re.IGNORECASE,
)
MOJIBAKE = re.compile(r"Ã[©¨ª§¢ ]|â€|ï¿½")


def hard_cases() -> dict[str, list[str]]:
    """Comment ids of the deliberately difficult rows, found from the text alone."""
    rows = load_comments()
    return {
        "e-mail address": [r["comment_id"] for r in rows if EMAIL.search(r["text"])],
        "phone number": [r["comment_id"] for r in rows if PHONE.search(r["text"])],
        "IBAN": [r["comment_id"] for r in rows if IBAN.search(r["text"])],
        "prompt injection": [r["comment_id"] for r in rows if INJECTION.search(r["text"])],
        "empty or whitespace": [r["comment_id"] for r in rows if not r["text"].strip()],
        "mojibake": [r["comment_id"] for r in rows if MOJIBAKE.search(r["text"])],
        "no language (noise, emoji, 'ok')": [r["comment_id"] for r in rows if r["text"].strip() and not r["language"]],
        "very short (<= 3 words)": [r["comment_id"] for r in rows if 0 < word_count(r["text"]) <= 3],
        "long (>= 150 words)": [r["comment_id"] for r in rows if word_count(r["text"]) >= 150],
    }


def counts() -> dict[str, Counter]:
    rows = load_comments()
    result = {
        "language": Counter(r["language"] or "(none)" for r in rows),
        "sentiment": Counter(r["sentiment"] for r in rows),
        "churn_risk": Counter(r["churn_risk"] for r in rows),
        "needs_reply": Counter(r["needs_reply"] for r in rows),
        "channel": Counter(r["channel"] for r in rows),
        "topics": Counter(t for r in rows for t in r["topics"].split("|")),
        "topics per comment": Counter(str(len(r["topics"].split("|"))) for r in rows),
    }
    per_customer = Counter(r["customer_id"] for r in rows)
    result["comments per customer"] = Counter(str(n) for n in per_customer.values())
    customers = load_customers()
    result["customer status"] = Counter(c["status"] for c in customers)
    result["customer contract"] = Counter(c["contract"] for c in customers)
    result["kb language"] = Counter(meta["language"] for _, meta, _ in load_kb())
    return result


def render_counts() -> str:
    rows = load_comments()
    lines = [
        f"- comments: **{len(rows)}** from **{len({r['customer_id'] for r in rows})}** customers "
        f"(customers.csv: {len(load_customers())} rows); knowledge-base documents: **{len(load_kb())}**",
        f"- months covered: {min(r['created_at'][:7] for r in rows)} to {max(r['created_at'][:7] for r in rows)}",
    ]
    for name, counter in counts().items():
        total = sum(counter.values())
        cells = ", ".join(f"{key} {n} ({n / total:.0%})" for key, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
        lines.append(f"- {name}: {cells}")
    lines += ["", "Hard cases (found by the patterns in tests/data/dataset_stats.py):", ""]
    for name, ids in hard_cases().items():
        shown = ", ".join(ids) if len(ids) <= 12 else f"{', '.join(ids[:12])}, ..."
        lines.append(f"- {name}: {len(ids)} ({shown})")
    lines += ["", "| id | title | language | topics | words |", "| --- | --- | --- | --- | --- |"]
    for _, meta, body in load_kb():
        lang = meta["language"] + (" (+ en)" if meta.get("bilingual") else "")
        lines.append(f"| `{meta['id']}` | {meta['title']} | {lang} | {', '.join(meta['topics'])} | {word_count(body)} |")
    return "\n".join(lines)


START, END = "<!-- counts:start -->", "<!-- counts:end -->"


def readme_counts_block() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def write_readme_counts() -> None:
    text = README.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    README.write_text(f"{head}{START}\n{render_counts()}\n{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    write_readme_counts()
    print(render_counts())
