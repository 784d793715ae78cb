"""Evaluation sets: ``data/comments.csv`` + curated expectations -> ``data/eval/{ci,full}.jsonl``.

One JSON object per line, in the shape ``mlflow.genai.evaluate`` and MLflow's evaluation datasets use::

    {"id": "CMT-0001",
     "inputs": {"comment_id": "CMT-0001", "text": "...", "customer_id": "CUST-0008", "channel": "email"},
     "expectations": {"sentiment": "neutral", "topics": ["billing"], "churn_risk": "low",
                      "expected_tools": ["search_knowledge_base", "lookup_customer"],
                      "expected_doc_ids": ["kb-billing-invoices"],                      # when some apply
                      "expected_response": "...", "expected_facts": ["..."]},       # a subset only
     "tags": {"split": "ci", "hard_case": "pii"}}

Sets:

- ``full``: every row of comments.csv (347).
- ``ci``: the rows whose number is 1 modulo 4 (an even spread over the year, the channels and the labels)
  plus every hard case (prompt injection, personal data, mojibake, very short texts): 112 rows, fast
  enough for every pull request.

Rows whose text is empty or whitespace are kept as "expect an error" rows: the analyzer refuses them with
``AnalysisError("empty_text")`` and the expectation is ``{"expected_error": "empty_text"}`` (no labels:
there is nothing to label). Unreadable mojibake and noise rows are ordinary rows: the analyzer must read
them and give the labels data/README.md prescribes for them.

``uv run llmops eval build-datasets`` rewrites the files; ``tests/evaluation`` fails when they are stale.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops.errors import UserError
from llmops.evaluation import curation

# Hard cases, found from the text (the same definitions as tests/data/dataset_stats.py).
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?:\+33\s?|\b0)[1-9](?:[\s.]?\d{2}){4}\b|\+44\s?7\d{3}\s?\d{6}")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){4,7}(?:\s?[A-Z0-9]{1,3})?\b")
_MOJIBAKE = re.compile(r"Ã[©¨ª§¢ ]|â€|ï¿½")


class DatasetError(UserError, ValueError):
    """An evaluation set is missing or malformed; the message names the file and line."""


@dataclass(frozen=True)
class EvalRow:
    id: str
    inputs: dict[str, Any]
    expectations: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def expects_error(self) -> bool:
        return "expected_error" in self.expectations

    def to_json(self) -> str:
        return json.dumps(
            {"id": self.id, "inputs": self.inputs, "expectations": self.expectations, "tags": self.tags},
            ensure_ascii=False,
            sort_keys=False,
        )


def hard_case(comment_id: str, text: str) -> str | None:
    if not text.strip():
        return "empty"
    if comment_id in curation.INJECTION_ROWS:
        return "injection"
    if _EMAIL.search(text) or _PHONE.search(text) or _IBAN.search(text):
        return "pii"
    if _MOJIBAKE.search(text):
        return "mojibake"
    if len(text.split()) <= 3:
        return "short"
    return None


def _in_ci(comment_id: str, hard: str | None) -> bool:
    number = int(comment_id.split("-")[1])
    return number % 4 == 1 or hard in {"injection", "pii", "mojibake", "short"}


def _row(record: dict[str, str], split: str, kb_ids: set[str]) -> EvalRow:
    comment_id = record["comment_id"]
    text = record["text"]
    hard = hard_case(comment_id, text)
    inputs = {
        "comment_id": comment_id,
        "text": text,
        "customer_id": record["customer_id"] or None,
        "channel": record["channel"] or "unknown",
    }
    tags = {"split": split, **({"hard_case": hard} if hard else {})}
    if hard == "empty":
        return EvalRow(comment_id, inputs, {"expected_error": "empty_text"}, tags)
    docs = curation.expected_doc_ids(comment_id, text, record["needs_reply"] == "true")
    unknown = [d for d in docs if d not in kb_ids]
    if unknown:
        raise DatasetError(f"{comment_id}: expected document(s) {', '.join(unknown)} are not in the knowledge base")
    required, forbidden = curation.expected_tools(comment_id, inputs["customer_id"], record["churn_risk"])
    expectations: dict[str, Any] = {
        "sentiment": record["sentiment"],
        "topics": [t for t in record["topics"].split("|") if t],
        "churn_risk": record["churn_risk"],
        "expected_tools": required,
    }
    if docs:  # no expected document: retrieval is not scored on this row (see curation.py)
        expectations["expected_doc_ids"] = docs
    if forbidden:
        expectations["forbidden_tools"] = forbidden
    reply = curation.EXPECTED_REPLIES.get(comment_id)
    if reply:
        if reply["source"] not in kb_ids:
            raise DatasetError(f"{comment_id}: expected reply cites unknown document {reply['source']}")
        expectations["expected_response"] = reply["reply"]
        expectations["expected_facts"] = list(reply["facts"])  # type: ignore[arg-type]
    return EvalRow(comment_id, inputs, expectations, tags)


def build(comments: Path | str = "data/comments.csv", kb_dir: Path | str = "data/kb") -> dict[str, list[EvalRow]]:
    """The ``ci`` and ``full`` sets built from the gold labels and the curated expectations."""
    from llmops.rag.documents import load_documents

    comments = Path(comments)
    if not comments.is_file():
        raise DatasetError(f"{comments} does not exist")
    kb_ids = {d.id for d in load_documents(Path(kb_dir))}
    with comments.open(encoding="utf-8", newline="") as fh:
        records = list(csv.DictReader(fh))
    full = [_row(r, "full", kb_ids) for r in records]
    ci = [
        EvalRow(r.id, r.inputs, r.expectations, {**r.tags, "split": "ci"})
        for r in full
        if _in_ci(r.id, r.tags.get("hard_case"))
    ]
    return {"ci": ci, "full": full}


def write(sets: dict[str, list[EvalRow]], out_dir: Path | str = "data/eval") -> dict[str, Path]:
    """Write each set as ``<out_dir>/<name>.jsonl`` (stable order, LF endings); returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, rows in sets.items():
        path = out_dir / f"{name}.jsonl"
        path.write_text("".join(r.to_json() + "\n" for r in rows), encoding="utf-8", newline="\n")
        paths[name] = path
    return paths


def load(path: Path | str) -> list[EvalRow]:
    """Read an evaluation set written by :func:`write` (or by hand in the same shape)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"evaluation set {path} does not exist (build it with `llmops eval build-datasets`)")
    rows: list[EvalRow] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise DatasetError(f"{path}, line {number}: not valid JSON ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("inputs"), dict):
            raise DatasetError(f"{path}, line {number}: expected an object with an 'inputs' object")
        inputs = data["inputs"]
        if "text" not in inputs:
            raise DatasetError(f"{path}, line {number}: inputs need a 'text'")
        row_id = str(data.get("id") or inputs.get("comment_id") or f"row-{number}")
        if row_id in seen:
            raise DatasetError(f"{path}, line {number}: duplicated row id {row_id}")
        seen.add(row_id)
        inputs = {
            "comment_id": str(inputs.get("comment_id") or row_id),
            "text": str(inputs.get("text") or ""),
            "customer_id": inputs.get("customer_id") or None,
            "channel": str(inputs.get("channel") or "unknown"),
        }
        expectations = data.get("expectations") or {}
        if not isinstance(expectations, dict):
            raise DatasetError(f"{path}, line {number}: 'expectations' must be an object")
        tags = {str(k): str(v) for k, v in (data.get("tags") or {}).items()}
        rows.append(EvalRow(row_id, inputs, expectations, tags))
    if not rows:
        raise DatasetError(f"evaluation set {path} is empty")
    return rows


def digest(rows: list[EvalRow]) -> str:
    """A short content hash of a set (inputs and expectations), recorded on every evaluation run."""
    h = hashlib.sha256()
    for r in rows:
        h.update(r.to_json().encode("utf-8"))
    return h.hexdigest()[:12]


def register(name: str, rows: list[EvalRow], experiment_id: str | None = None) -> Any:
    """Register (or update) an MLflow GenAI evaluation dataset named ``name`` with these rows.

    Uses ``mlflow.genai.datasets`` (MLflow >= 3.4 on a SQL tracking store); re-registering merges the
    records, so running it twice keeps one dataset.
    """
    from mlflow.genai import datasets as genai_datasets

    try:
        found = genai_datasets.search_datasets(filter_string=f"name = '{name}'")
        dataset = next((d for d in found if d.name == name), None)
    except Exception:
        dataset = None
    if dataset is None:
        dataset = genai_datasets.create_dataset(
            name=name, experiment_id=experiment_id, tags={"source": "llmops eval build-datasets"}
        )
    dataset.merge_records([{"inputs": r.inputs, "expectations": r.expectations, "tags": r.tags} for r in rows])
    return dataset
