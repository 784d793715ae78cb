"""PII redaction: the pure function, and a scan of every stored row of a real SQLite store."""

from __future__ import annotations

import re
import sqlite3

import mlflow
import pytest

import llmops.tracing as tracing

PHONES = [
    "06 12 34 56 78",
    "0612345678",
    "06.12.34.56.78",
    "+33 6 12 34 56 78",
    "+33612345678",
    "+33 (0)6 12 34 56 78",
    "0033 6 12 34 56 78",
    "+14155552671",
    "+44 20 7946 0958",
]
SECRETS = [
    "sk-proj-4fJk29XmQp8LrT2vYb7NcW1z",
    "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "AKIAIOSFODNN7EXAMPLE",
    "k9Qm2ZtX7vLp4RsW8yBn3HcJ6fGd1KaE0uTi5Ow",  # 39 random mixed-case chars
]


@pytest.mark.parametrize("phone", PHONES)
def test_phone_numbers_are_masked(phone):
    assert tracing.redact(f"Rappelez-moi au {phone} svp") == "Rappelez-moi au [PHONE] svp"


@pytest.mark.parametrize("secret", SECRETS)
def test_keys_and_tokens_are_masked(secret):
    masked = tracing.redact(f"using {secret} now")
    assert secret not in masked and "[SECRET]" in masked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("écrivez à jean.dupont+sav@example.co.uk.", "écrivez à [EMAIL]."),
        ("IBAN FR76 3000 6000 0112 3456 7890 189", "IBAN [IBAN]"),
        ("IBAN DE89370400440532013000", "IBAN [IBAN]"),
        ("carte 4111 1111 1111 1111", "carte [CARD]"),
        ("carte 5555-5555-5555-4444", "carte [CARD]"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: [SECRET]"),
        ("password=hunter2; user=bob", "password=[SECRET]; user=bob"),
    ],
)
def test_pii_is_masked(text, expected):
    assert tracing.redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "order 4111 1111 1111 1112 (fails the Luhn check)",
        "sent at 1732900000000 ms, on 2024-01-15 at 10:30",
        "doc id 123e4567-e89b-12d3-a456-426614174000, commit 450925fa8af7ff55003d681e2924af62ccb0e123",
        "gpt-4o-mini-2024-07-18 used 1234 tokens",
        "tr-48b571421e6870051ebcd9c3afa0c7bb",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert tracing.redact(text) is text


def test_structures_are_redacted_recursively_and_credential_keys_entirely():
    headers = {"Authorization": "Token abc", "X-Api-Key": "whatever", "Accept": "application/json"}
    value = {"headers": headers, "to": ["a@b.fr", 4111111111111111], "n": 3, "ok": True}
    assert tracing.redact(value) == {
        "headers": {"Authorization": "[SECRET]", "X-Api-Key": "[SECRET]", "Accept": "application/json"},
        "to": ["[EMAIL]", "[CARD]"],
        "n": 3,
        "ok": True,
    }
    assert value["to"][0] == "a@b.fr"  # the input is not modified
    clean = {"a": [1, "x"]}
    assert tracing.redact(clean) is clean


PLANTED = {
    "email": "jeanne.martin@example.fr",
    "phone": "06 12 34 56 78",
    "intl_phone": "+33 6 98 76 54 32",
    "iban": "FR76 3000 6000 0112 3456 7890 189",
    "card": "4111 1111 1111 1111",
    "api_key": "sk-proj-4fJk29XmQp8LrT2vYb7NcW1z",
    "bearer": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
}


def _needles(value: str) -> set[str]:
    # The literal, its unspaced form and, for numbers, its bare digits (in case something reformatted it).
    needles = {value, value.replace(" ", "")}
    digits = re.sub(r"\D", "", value)
    if len(digits) >= 9 and len(digits) >= len(value) // 2:
        needles.add(digits[-9:])
    return needles


def test_nothing_planted_survives_in_any_stored_row(fresh_traced):
    p = PLANTED

    @tracing.tool_span
    def send_refund(customer: dict) -> dict:
        span = mlflow.get_current_active_span()
        span.set_attribute("http.request.header.authorization", f"Bearer {p['bearer']}")
        span.set_attribute("customer_note", f"IBAN {p['iban']}, card {p['card']}")
        raise RuntimeError(f"bank refused transfer for {p['email']} ({p['phone']})")

    @tracing.agent_span
    def handle(comment: str, headers: dict) -> str:
        mlflow.update_current_trace(
            tags={"contact": p["email"]},
            metadata={"callback": p["intl_phone"]},
        )
        with tracing.retriever_span("crm") as span:
            tracing.record_documents(span, [{"page_content": f"Client {p['email']}, tel {p['phone']}", "id": "c-1"}])
        try:
            send_refund({"email": p["email"], "iban": p["iban"], "api_key": p["api_key"]})
        except RuntimeError:
            pass
        return f"Done. We will call {p['intl_phone']} and write to {p['email']}."

    with tracing.session(user_id=p["email"], session_id="s-pii"):
        handle(
            f"Je suis {p['email']}, mon tel {p['phone']}, carte {p['card']}",
            {"Authorization": f"Bearer {p['bearer']}", "api_key": p["api_key"]},
        )
    assert tracing.flush()

    db = sqlite3.connect(fresh_traced.tracking_uri[len("sqlite:///") :])
    haystack: list[tuple[str, str, str]] = []
    for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
        cursor = db.execute(f'SELECT * FROM "{table}"')
        columns = [d[0] for d in cursor.description]
        for row in cursor:
            cells = zip(columns, row, strict=True)
            haystack.extend((table, col, str(v)) for col, v in cells if isinstance(v, (str, bytes)))
    db.close()

    leaks = [
        (name, table, column)
        for name, value in PLANTED.items()
        for needle in _needles(value)
        for table, column, text in haystack
        if needle in text
    ]
    assert leaks == []
    # The data did reach the store, masked: spans, previews and trace metadata.
    stored = "\n".join(text for _, _, text in haystack)
    for mask in ("[EMAIL]", "[PHONE]", "[IBAN]", "[CARD]", "[SECRET]"):
        assert mask in stored
    trace = mlflow.get_trace(mlflow.get_last_active_trace_id())
    assert trace.info.request_preview.startswith('{"comment": "Je suis [EMAIL], mon tel [PHONE], carte [CARD]"')
    assert trace.info.trace_metadata["mlflow.traceOutputs"] == '"Done. We will call [PHONE] and write to [EMAIL]."'
    assert trace.info.tags["contact"] == "[EMAIL]"


def test_redaction_can_be_switched_off_for_a_scope_and_it_shows(traced):
    @tracing.tool_span
    def echo(text: str) -> str:
        return text

    @tracing.agent_span
    def agent() -> None:
        echo("redacted: a@b.fr")
        with tracing.redaction_disabled():
            assert not tracing.redaction_enabled()
            echo("kept: a@b.fr")

    agent()
    trace = mlflow.get_trace(mlflow.get_last_active_trace_id(), flush=True)
    first, second = sorted((s for s in trace.data.spans if s.name == "echo"), key=lambda s: s.start_time_ns)
    assert first.outputs == "redacted: [EMAIL]"
    assert second.outputs == "kept: a@b.fr"
    assert second.attributes["llmops.redaction"] == "off"
    assert "llmops.redaction" not in first.attributes
    assert tracing.redaction_enabled()
