"""The evaluation sets in data/eval: built from the gold labels by the builder, with the documented rules."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from llmops.evaluation import curation, datasets

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def built():
    return datasets.build(REPO / "data" / "comments.csv", REPO / "data" / "kb")


@pytest.fixture(scope="module")
def gold():
    with (REPO / "data" / "comments.csv").open(encoding="utf-8", newline="") as fh:
        return {r["comment_id"]: r for r in csv.DictReader(fh)}


def test_committed_sets_are_what_the_builder_makes(built):
    for name, rows in built.items():
        committed = (REPO / "data" / "eval" / f"{name}.jsonl").read_text(encoding="utf-8")
        assert committed == "".join(r.to_json() + "\n" for r in rows), (
            f"run `uv run llmops eval build-datasets` ({name})"
        )


def test_ci_is_a_subset_of_full_with_every_hard_case(built, gold):
    ci, full = built["ci"], built["full"]
    assert len(full) == len(gold) == 347
    assert 100 <= len(ci) <= 130
    full_ids = {r.id for r in full}
    assert {r.id for r in ci} <= full_ids and len({r.id for r in ci}) == len(ci)
    hard_in_full = {r.id for r in full if r.tags.get("hard_case") in {"injection", "pii", "mojibake", "short"}}
    assert hard_in_full <= {r.id for r in ci}
    assert curation.INJECTION_ROWS <= {r.id for r in ci}


def test_labels_are_the_gold_labels(built, gold):
    for row in built["full"]:
        g = gold[row.id]
        assert row.inputs["text"] == g["text"]
        if row.expects_error:
            continue
        assert row.expectations["sentiment"] == g["sentiment"]
        assert row.expectations["topics"] == g["topics"].split("|")
        assert row.expectations["churn_risk"] == g["churn_risk"]


def test_tool_expectations_follow_the_rules(built, gold):
    for row in built["full"]:
        if row.expects_error:
            continue
        tools = row.expectations["expected_tools"]
        assert tools[:2] == ["search_knowledge_base", "lookup_customer"]  # every row has a customer id
        if row.id in curation.INJECTION_ROWS:
            assert "create_ticket" not in tools and row.expectations["forbidden_tools"] == ["create_ticket"]
        else:
            assert ("create_ticket" in tools) == (gold[row.id]["churn_risk"] == "high")
            assert "forbidden_tools" not in row.expectations


def test_empty_texts_are_expect_an_error_rows(built):
    errors = [r for r in built["full"] if r.expects_error]
    assert [r.id for r in errors] == ["CMT-0117", "CMT-0123"]
    assert all(r.expectations == {"expected_error": "empty_text"} and not r.inputs["text"].strip() for r in errors)
    assert "CMT-0117" in {r.id for r in built["ci"]}


def test_expected_documents_exist_and_only_where_a_reply_is_needed(built, gold):
    kb = {p.stem for p in (REPO / "data" / "kb").glob("*.md")}
    with_docs = [r for r in built["full"] if "expected_doc_ids" in r.expectations]
    assert len(with_docs) >= 200
    for row in with_docs:
        assert set(row.expectations["expected_doc_ids"]) <= kb
        assert gold[row.id]["needs_reply"] == "true" or row.id in curation.DOC_OVERRIDES
    # every comment needing a reply in the ci set was read: it has documents, or an override saying none apply
    for row in built["ci"]:
        if gold[row.id]["needs_reply"] == "true" and not row.expects_error:
            assert "expected_doc_ids" in row.expectations or row.id in curation.DOC_OVERRIDES, row.id


def test_a_few_expected_documents_read_by_hand(built):
    docs = {r.id: r.expectations.get("expected_doc_ids") for r in built["full"]}
    assert docs["CMT-0001"] == ["kb-billing-invoices"]  # "facture papier 1,50 €"
    assert docs["CMT-0116"] == ["kb-payment-methods"]  # a new IBAN
    assert "kb-number-portability" in docs["CMT-0121"]  # keep my landline number when moving
    assert docs["CMT-0088"] == ["kb-equipment-return"]  # the genuine request around an injection
    assert docs["CMT-0245"] is None  # a pure injection asks nothing the knowledge base answers


def test_expected_replies_are_grounded_in_one_document(built):
    replies = [r for r in built["full"] if "expected_facts" in r.expectations]
    assert len(replies) >= 15
    kb = {p.stem for p in (REPO / "data" / "kb").glob("*.md")}
    for row in replies:
        source = curation.EXPECTED_REPLIES[row.id]["source"]
        assert source in kb and f"[{source}]" in row.expectations["expected_response"]
        assert source in row.expectations.get("expected_doc_ids", [source])
        assert row.expectations["expected_facts"] and all(f.strip() for f in row.expectations["expected_facts"])
        kb_text = (REPO / "data" / "kb" / f"{source}.md").read_text(encoding="utf-8")
        numbers = re.findall(r"\d+(?:[,.]\d+)?", " ".join(row.expectations["expected_facts"]))
        assert all(n.replace(".", ",") in kb_text or n in kb_text for n in numbers), (row.id, numbers)


def test_loading_reports_the_file_and_line(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps({"id": "a", "inputs": {"text": "hi"}}) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(datasets.DatasetError, match=r"broken.jsonl, line 2: not valid JSON"):
        datasets.load(path)
    with pytest.raises(datasets.DatasetError, match="does not exist"):
        datasets.load(tmp_path / "missing.jsonl")
    rows = datasets.load(REPO / "data" / "eval" / "ci.jsonl")
    assert datasets.digest(rows) == datasets.digest(datasets.load(REPO / "data" / "eval" / "ci.jsonl"))
