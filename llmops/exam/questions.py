"""The question bank: every correct answer computed from the kit's trace file with :mod:`llmops.analysis`.

Each question is a function of the loaded :class:`~llmops.analysis.TraceSet` (and the raw trace file for the
few facts the tables do not carry, such as a span attribute) returning the correct value, three distractors
taken from the same data, and the evidence a teacher would point at. Nothing here reads the scenario: the
manifest says what was planted, the questions find it again in the traces.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from llmops.exam.errors import ExamError
from llmops.exam.quiz import Bank, Choice, Computed, Question, assemble, load_questions, numbers, pick, render_questions

__all__ = ["BANK", "compute_questions", "load_questions", "render_questions"]


class _Data:
    """The trace set plus a few facts read from the raw trace file."""

    def __init__(self, path: Path) -> None:
        from llmops import analysis
        from llmops.analysis.io import read_trace_file

        self.ts = analysis.load_file(path).require()
        self.a = analysis
        self.raw = read_trace_file(path).traces
        self.traces = self.ts.traces
        self.spans = self.ts.spans

    def ordered_ids(self) -> list[str]:
        return list(self.traces.sort_values(["start_time", "trace_id"])["trace_id"])

    def span_attribute(self, key: str) -> dict[str, list[str]]:
        """Trace id -> names of the spans carrying attribute ``key`` (decoded value truthy)."""
        out: dict[str, list[str]] = {}
        for trace in self.raw:
            for span in trace["data"]["spans"]:
                if key in (span.get("attributes") or {}):
                    out.setdefault(trace["info"]["trace_id"], []).append(span["name"])
        return out


def _neighbours(ids: list[str], target: str, rng: random.Random) -> list[str]:
    """Three other trace ids, near the target in time (plausible: same hour, same look)."""
    i = ids.index(target)
    near = [t for t in ids[max(0, i - 4): i + 5] if t != target]
    return rng.sample(near, 3)


ERROR_WHY = {
    "http_error": ("rate-limit retries (HTTP 429 from the model, then waits)", "des relances après limitation de débit (HTTP 429 du modèle, puis attentes)"),
    "tool_exception": ("a tool that times out (lookup_customer)", "un outil qui expire (lookup_customer)"),
    "invalid_structured_output": ("invalid structured outputs retried by the agent", "des sorties structurées invalides relancées par l'agent"),
    "other": ("invalid structured outputs retried by the agent", "des sorties structurées invalides relancées par l'agent"),
    "none": ("long comments: more tokens to generate", "des commentaires longs : plus de jetons à générer"),
}


# --------------------------------------------------------------------------------------------------------
# The questions. Each returns a Computed; the rng only orders distractors.
# --------------------------------------------------------------------------------------------------------


def q_failing_tool(d: _Data, rng: random.Random) -> Computed:
    tools = d.a.tool_usage(d.ts)
    failing = tools[tools.errors > 0].sort_values(["errors", "tool"], ascending=[False, True])
    top = failing.iloc[0]
    errs = d.spans[(d.spans.tool_name == top.tool) & (d.spans.status == "ERROR")]
    error_type = Counter(errs.error_type.dropna()).most_common(1)[0][0]
    answer = f"{top.tool} — {error_type}"
    error_types = sorted(set(d.spans.error_type.dropna()) - {error_type, "AnalysisError"})
    pool = [f"{t} — {e}" for t in sorted(tools.tool) for e in [error_type, *error_types][:3]]
    return Computed(
        Choice.same(answer), [Choice.same(x) for x in pick(rng, pool, answer)],
        {"tool": top.tool, "errors": int(top.errors), "calls": int(top.calls), "error_type": error_type,
         "trace_ids": sorted(set(errs.trace_id))},
        f"tool_usage: {top.tool} fails {int(top.errors)} times out of {int(top.calls)} calls, with {error_type}.",
        f"tool_usage : {top.tool} échoue {int(top.errors)} fois sur {int(top.calls)} appels, avec {error_type}.",
    )  # fmt: skip


def q_failing_customer(d: _Data, rng: random.Random) -> Computed:
    errs = d.spans[(d.spans.span_type == "TOOL") & (d.spans.status == "ERROR")]
    users = Counter(errs.user_id.dropna())
    customer, n = sorted(users.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    pool = sorted(set(d.traces.user_id.dropna()))
    return Computed(
        Choice.same(customer), [Choice.same(x) for x in pick(rng, pool, customer)],
        {"customer": customer, "failed_tool_calls": n, "trace_ids": sorted(set(errs[errs.user_id == customer].trace_id))},
        f"All {n} failing tool calls are for {customer} (user of the traces).",
        f"Les {n} appels d'outil en échec concernent {customer} (utilisateur des traces).",
    )


def q_timeout_duration(d: _Data, rng: random.Random) -> Computed:
    errs = d.spans[(d.spans.span_type == "TOOL") & (d.spans.status == "ERROR")]
    value = int(round(errs.duration_ms.max()))
    ok = d.spans[(d.spans.tool_name == errs.tool_name.iloc[0]) & (d.spans.status == "OK")]
    typical = int(round(ok.duration_ms.median()))
    pool = [typical, value // 2, value * 3, value // 10 * 3 if value >= 10 else value + 1]
    return Computed(
        Choice.same(f"{value} ms"), [Choice.same(f"{x} ms") for x in pick(rng, pool, value)],
        {"duration_ms": value, "ok_median_ms": typical, "trace_ids": sorted(set(errs.trace_id))},
        f"The failed {errs.tool_name.iloc[0]} spans last {value} ms (a successful call: ~{typical} ms).",
        f"Les spans {errs.tool_name.iloc[0]} en échec durent {value} ms (un appel réussi : ~{typical} ms).",
    )


def q_invalid_prompt_version(d: _Data, rng: random.Random) -> Computed:
    failed = d.a.failed_traces(d.ts)
    invalid = failed[failed.error_cause == "invalid_structured_output"]
    version = int(Counter(invalid.prompt_version.dropna().astype(int)).most_common(1)[0][0])
    all_versions = sorted(set(d.traces.prompt_version.dropna().astype(int)))
    pool = [f"v{v}" for v in sorted(set(all_versions) | {1, 2, 3, 4, version + 1})]
    return Computed(
        Choice.same(f"v{version}"), [Choice.same(x) for x in pick(rng, pool, f"v{version}")],
        {"prompt": "comment-analyzer", "version": version, "invalid_traces": sorted(invalid.trace_id)},
        f"Every invalid_structured_output trace is linked to comment-analyzer v{version}.",
        f"Toutes les traces invalid_structured_output sont liées à comment-analyzer v{version}.",
    )


def q_failed_count(d: _Data, rng: random.Random) -> Computed:
    n = int((d.traces.status == "ERROR").sum())
    return Computed(
        Choice.same(n), [Choice.same(x) for x in numbers(n, rng, [-3, -2, -1, 1, 2, 3, 4])],
        {"failed": n, "traces": len(d.traces), "trace_ids": sorted(d.traces[d.traces.status == "ERROR"].trace_id)},
        f"{n} of {len(d.traces)} traces have status ERROR.", f"{n} traces sur {len(d.traces)} ont le statut ERROR.",
    )


def q_failure_cause(d: _Data, rng: random.Random) -> Computed:
    failed = d.a.failed_traces(d.ts)
    cause = Counter(failed.error_cause.dropna()).most_common(1)[0][0]
    pool = ["rate_limited", "timeout", "llm_call_limit", "no_structured_output", "model_unreachable", "empty_text"]
    return Computed(
        Choice.same(cause), [Choice.same(x) for x in pick(rng, pool, cause)],
        {"error_cause": cause, "trace_ids": sorted(failed.trace_id)},
        f"failed_traces: the failed traces record llmops.error_cause = {cause}.",
        f"failed_traces : les traces en échec portent llmops.error_cause = {cause}.",
    )


def _session_table(d: _Data):
    return d.a.sessions(d.ts).sort_values(["mean_ms", "session_id"], ascending=[False, True])


def q_slowest_session(d: _Data, rng: random.Random) -> Computed:
    table = _session_table(d)
    top = table.iloc[0]
    return Computed(
        Choice.same(top.session_id), [Choice.same(x) for x in pick(rng, list(table.session_id), top.session_id)],
        {"session_id": top.session_id, "mean_ms": float(top.mean_ms),
         "means_ms": {r.session_id: float(r.mean_ms) for r in table.itertuples()}},
        f"sessions: {top.session_id} has the highest mean trace latency ({top.mean_ms:.0f} ms).",
        f"sessions : {top.session_id} a la latence moyenne par trace la plus haute ({top.mean_ms:.0f} ms).",
    )  # fmt: skip


def _why(d: _Data, session_id: str) -> str:
    issues = d.a.issues(d.ts)
    issues = issues[issues.session_id == session_id]
    if issues.empty:
        return "none"
    counts = Counter(issues.category)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def q_slowest_session_why(d: _Data, rng: random.Random) -> Computed:
    session_id = _session_table(d).iloc[0].session_id
    category = _why(d, session_id)
    answer = Choice(*ERROR_WHY[category])
    pool = [Choice(*ERROR_WHY[k]) for k in ("http_error", "tool_exception", "invalid_structured_output", "none") if ERROR_WHY[k] != ERROR_WHY[category]]
    spans = d.spans[(d.spans.session_id == session_id) & (d.spans.status == "ERROR") & d.spans.is_llm_call]
    return Computed(
        answer, pick(rng, pool, answer),
        {"session_id": session_id, "issue_category": category,
         "http_status": sorted({int(x) for x in spans.http_status.dropna()}), "error_llm_calls": int(len(spans))},
        f"issues in {session_id}: mostly {category} ({len(spans)} failed LLM calls before successful retries).",
        f"issues dans {session_id} : surtout {category} ({len(spans)} appels LLM en échec avant relance réussie).",
    )  # fmt: skip


def q_slow_ratio(d: _Data, rng: random.Random) -> Computed:
    table = _session_table(d)
    slow, fast = table.iloc[0], table.iloc[-1]
    ratio = round(float(slow.mean_ms) / float(fast.mean_ms))
    pool = [f"×{x}" for x in sorted({2, 3, 4, 5, 6, 8, 10} - {ratio})]
    return Computed(
        Choice.same(f"×{ratio}"), [Choice.same(x) for x in pick(rng, pool, f"×{ratio}")],
        {"slowest": slow.session_id, "slowest_mean_ms": float(slow.mean_ms), "fastest": fast.session_id,
         "fastest_mean_ms": float(fast.mean_ms), "ratio": round(float(slow.mean_ms) / float(fast.mean_ms), 2)},
        f"{slow.mean_ms:.0f} ms / {fast.mean_ms:.0f} ms ≈ {ratio} (sessions table, mean_ms).",
        f"{slow.mean_ms:.0f} ms / {fast.mean_ms:.0f} ms ≈ {ratio} (table sessions, mean_ms).",
    )  # fmt: skip


def q_rate_limit_count(d: _Data, rng: random.Random) -> Computed:
    calls = d.spans[d.spans.is_llm_call & (d.spans.http_status == 429)]
    n = int(len(calls))
    return Computed(
        Choice.same(n), [Choice.same(x) for x in numbers(n, rng, [-n // 2, -2, 2, n // 2, n])],
        {"http_429_llm_calls": n, "trace_ids": sorted(set(calls.trace_id))},
        f"{n} LLM calls answered HTTP 429 (is_llm_call spans with http_status 429).",
        f"{n} appels LLM ont reçu HTTP 429 (spans is_llm_call avec http_status 429).",
    )


def q_llm_calls_success(d: _Data, rng: random.Random) -> Computed:
    ok = d.traces[(d.traces.status == "OK") & (d.traces.error_spans == 0)]
    counts = Counter(int(x) for x in ok.llm_calls)
    n = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    return Computed(
        Choice.same(n), [Choice.same(x) for x in numbers(n, rng, [-1, 1, 2, 3])],
        {"llm_calls": n, "distribution": {str(k): v for k, v in sorted(counts.items())}, "traces": len(ok)},
        f"Among the {len(ok)} traces without any error span, the usual number of LLM calls is {n}.",
        f"Parmi les {len(ok)} traces sans span en erreur, le nombre habituel d'appels LLM est {n}.",
    )


def _hallucinated(d: _Data):
    rows = d.traces[d.traces.unsupported_citations.map(lambda x: bool(x) if x is not None else False)]
    if rows.empty:
        raise ExamError("no trace cites an unretrieved passage: the hallucinated citation is not in the kit")
    return rows.sort_values("trace_id").iloc[0]


def q_hallucinated_trace(d: _Data, rng: random.Random) -> Computed:
    row = _hallucinated(d)
    return Computed(
        Choice.same(row.trace_id), [Choice.same(x) for x in _neighbours(d.ordered_ids(), row.trace_id, rng)],
        {"trace_id": row.trace_id, "unsupported_citations": list(row.unsupported_citations), "retrieved": list(row.retrieved_doc_ids)},
        f"Trace {row.trace_id} cites {', '.join(row.unsupported_citations)}, which its retrieval never returned.",
        f"La trace {row.trace_id} cite {', '.join(row.unsupported_citations)}, que sa recherche n'a jamais renvoyé.",
    )  # fmt: skip


def q_hallucinated_doc(d: _Data, rng: random.Random) -> Computed:
    row = _hallucinated(d)
    cited = row.unsupported_citations[0]
    pool = list(row.retrieved_doc_ids)
    return Computed(
        Choice.same(cited), [Choice.same(x) for x in pick(rng, pool, cited)],
        {"trace_id": row.trace_id, "cited": cited, "retrieved": list(row.retrieved_doc_ids)},
        f"{cited} is cited but not among the retrieved documents {', '.join(row.retrieved_doc_ids)}.",
        f"{cited} est cité mais absent des documents récupérés {', '.join(row.retrieved_doc_ids)}.",
        {"trace_id": row.trace_id},
    )


def _missing_doc(d: _Data) -> tuple[str, str, list[str]]:
    """(doc, trace) for the trace whose only expected document was never retrieved anywhere in the set."""
    retrieved_anywhere = {doc for docs in d.traces.retrieved_doc_ids.dropna() for doc in docs}
    exp = d.a.expected_documents(d.ts)
    candidates = []
    for row in exp.itertuples():
        if len(row.expected) == 1 and row.expected[0] not in retrieved_anywhere:
            candidates.append((row.expected[0], row.trace_id, list(row.retrieved)))
    if not candidates:
        raise ExamError("no trace expects a document that is never retrieved: the retrieval miss is not in the kit")
    return sorted(candidates)[0]


def q_expected_doc(d: _Data, rng: random.Random) -> Computed:
    doc, trace_id, retrieved = _missing_doc(d)
    return Computed(
        Choice.same(doc), [Choice.same(x) for x in pick(rng, retrieved, doc)],
        {"trace_id": trace_id, "expected": doc, "retrieved": retrieved},
        f"The expectation expected_doc_ids of {trace_id} is {doc}; the retriever returned {', '.join(retrieved)}.",
        f"L'expectation expected_doc_ids de {trace_id} vaut {doc} ; le retriever a renvoyé {', '.join(retrieved)}.",
        {"trace_id": trace_id},
    )


def q_top_document(d: _Data, rng: random.Random) -> Computed:
    freq = d.a.document_frequency(d.ts)  # sorted by retrievals, then doc id
    top = freq.iloc[0]
    pool = list(freq.doc_id.iloc[1:6])
    return Computed(
        Choice.same(top.doc_id), [Choice.same(x) for x in pick(rng, pool, top.doc_id)],
        {"doc_id": top.doc_id, "retrievals": int(top.retrievals), "traces": int(top.traces),
         "next": {r.doc_id: int(r.retrievals) for r in freq.iloc[1:4].itertuples()}},
        f"document_frequency: {top.doc_id} is returned by {int(top.retrievals)} retriever calls.",
        f"document_frequency : {top.doc_id} est renvoyé par {int(top.retrievals)} appels du retriever.",
    )  # fmt: skip


def q_injection(d: _Data, rng: random.Random) -> Computed:
    rows = d.traces[d.traces.injection_suspected == True]  # noqa: E712 - nullable column
    if rows.empty:
        raise ExamError("no trace has llmops.injection_suspected: the injection attempt is not in the kit")
    trace_id = sorted(rows.trace_id)[0]
    return Computed(
        Choice.same(trace_id), [Choice.same(x) for x in _neighbours(d.ordered_ids(), trace_id, rng)],
        {"trace_id": trace_id, "injection_suspected": True, "actions_taken": list(rows.iloc[0].actions_taken or ())},
        f"Trace {trace_id} has llmops.injection_suspected = true on its root span.",
        f"La trace {trace_id} porte llmops.injection_suspected = true sur son span racine.",
    )  # fmt: skip


def q_redaction_off(d: _Data, rng: random.Random) -> Computed:
    marked = d.span_attribute("llmops.redaction")
    if not marked:
        raise ExamError("no span has llmops.redaction = off: the redaction-off trace is not in the kit")
    trace_id = sorted(marked)[0]
    return Computed(
        Choice.same(trace_id), [Choice.same(x) for x in _neighbours(d.ordered_ids(), trace_id, rng)],
        {"trace_id": trace_id, "spans_unredacted": len(marked[trace_id])},
        f"{len(marked[trace_id])} spans of {trace_id} carry llmops.redaction = off: the customer's contact details are stored in clear.",
        f"{len(marked[trace_id])} spans de {trace_id} portent llmops.redaction = off : les coordonnées du client sont stockées en clair.",
    )  # fmt: skip


def q_most_failed_session(d: _Data, rng: random.Random) -> Computed:
    table = d.a.sessions(d.ts).sort_values(["failed", "session_id"], ascending=[False, True])
    top = table.iloc[0]
    return Computed(
        Choice.same(top.session_id), [Choice.same(x) for x in pick(rng, list(table.session_id), top.session_id)],
        {"session_id": top.session_id, "failed": int(top.failed), "traces": int(top.traces)},
        f"{top.session_id}: {int(top.failed)} failed traces out of {int(top.traces)}.",
        f"{top.session_id} : {int(top.failed)} traces en échec sur {int(top.traces)}.",
    )  # fmt: skip


def q_slowest_trace(d: _Data, rng: random.Random) -> Computed:
    slow = d.a.slowest_traces(d.ts, n=6)
    top = slow.iloc[0]
    return Computed(
        Choice.same(top.trace_id), [Choice.same(x) for x in pick(rng, list(slow.trace_id), top.trace_id)],
        {"trace_id": top.trace_id, "duration_ms": float(top.duration_ms), "dominant_step": top.dominant_step},
        f"slowest_traces: {top.trace_id} lasts {top.duration_ms:.0f} ms.",
        f"slowest_traces : {top.trace_id} dure {top.duration_ms:.0f} ms.",
    )


def q_tokens_session(d: _Data, rng: random.Random) -> Computed:
    table = d.a.sessions(d.ts).sort_values(["total_tokens", "session_id"], ascending=[False, True])
    top = table.iloc[0]
    return Computed(
        Choice.same(top.session_id), [Choice.same(x) for x in pick(rng, list(table.session_id), top.session_id)],
        {"session_id": top.session_id, "total_tokens": int(top.total_tokens),
         "tokens": {r.session_id: int(r.total_tokens) for r in table.itertuples()}},
        f"{top.session_id} consumed {int(top.total_tokens)} tokens, the most of any session.",
        f"{top.session_id} a consommé {int(top.total_tokens)} jetons, plus que toute autre session.",
    )  # fmt: skip


def q_kb_searches(d: _Data, rng: random.Random) -> Computed:
    tools = d.a.tool_usage(d.ts).set_index("tool")
    n = int(tools.at["search_knowledge_base", "calls"])
    return Computed(
        Choice.same(n), [Choice.same(x) for x in numbers(n, rng, [-6, -3, 3, 6, 9])],
        {"tool": "search_knowledge_base", "calls": n},
        f"tool_usage: search_knowledge_base is called {n} times.", f"tool_usage : search_knowledge_base est appelé {n} fois.",
    )


def q_tickets(d: _Data, rng: random.Random) -> Computed:
    tools = d.a.tool_usage(d.ts).set_index("tool")
    n = int(tools.at["create_ticket", "calls"] - tools.at["create_ticket", "errors"]) if "create_ticket" in tools.index else 0
    return Computed(
        Choice.same(n), [Choice.same(x) for x in numbers(n, rng, [-2, -1, 1, 2, 3])],
        {"tool": "create_ticket", "successful_calls": n},
        f"create_ticket succeeded {n} times (calls minus errors).", f"create_ticket a réussi {n} fois (appels moins erreurs).",
    )


def q_failed_llm_calls(d: _Data, rng: random.Random) -> Computed:
    """LLM calls made by the failed traces in total: the cost of the schema-breaking prompt."""
    failed = d.traces[d.traces.status == "ERROR"]
    n = int(failed.llm_calls.sum())
    return Computed(
        Choice.same(n), [Choice.same(x) for x in numbers(n, rng, [-len(failed), -2, 2, len(failed)])],
        {"llm_calls": n, "failed_traces": len(failed)},
        f"The {len(failed)} failed traces made {n} LLM calls in all (each answer was retried).",
        f"Les {len(failed)} traces en échec ont fait {n} appels LLM au total (chaque réponse a été relancée).",
    )


BANK: Bank = [
    ("errors", "Which tool fails most often, and with which error?", "Quel outil échoue le plus souvent, et avec quelle erreur ?", q_failing_tool),
    ("errors", "For which customer do the tool calls fail?", "Pour quel client les appels d'outil échouent-ils ?", q_failing_customer),
    ("latency", "How long does a failed call of that tool last?", "Combien de temps dure un appel en échec de cet outil ?", q_timeout_duration),
    ("prompts", "Which version of the comment-analyzer prompt produced the invalid outputs?", "Quelle version du prompt comment-analyzer a produit les sorties invalides ?", q_invalid_prompt_version),
    ("errors", "How many traces failed (status ERROR)?", "Combien de traces ont échoué (statut ERROR) ?", q_failed_count),
    ("errors", "Which error cause do the failed traces record?", "Quelle cause d'erreur les traces en échec enregistrent-elles ?", q_failure_cause),
    ("latency", "Which session is the slowest (highest mean trace duration)?", "Quelle session est la plus lente (durée moyenne par trace la plus haute) ?", q_slowest_session),
    ("latency", "Why is the slowest session slow?", "Pourquoi la session la plus lente est-elle lente ?", q_slowest_session_why),
    ("latency", "How many times slower is the slowest session than the fastest one (mean trace duration, rounded)?", "Combien de fois la session la plus lente est-elle plus lente que la plus rapide (durée moyenne par trace, arrondie) ?", q_slow_ratio),
    ("errors", "How many LLM calls were answered with HTTP 429?", "Combien d'appels LLM ont reçu une réponse HTTP 429 ?", q_rate_limit_count),
    ("agent", "How many LLM calls does a successful analysis (no error span) usually make?", "Combien d'appels LLM fait habituellement une analyse réussie (sans span en erreur) ?", q_llm_calls_success),
    ("grounding", "Which trace's reply cites a passage that was not retrieved?", "Dans quelle trace la réponse cite-t-elle un passage qui n'a pas été récupéré ?", q_hallucinated_trace),
    ("grounding", "In trace {trace_id}, which document id does the reply cite without having retrieved it?", "Dans la trace {trace_id}, quel identifiant de document la réponse cite-t-elle sans l'avoir récupéré ?", q_hallucinated_doc),
    ("retrieval", "Which document should have been retrieved for trace {trace_id}?", "Quel document aurait dû être récupéré pour la trace {trace_id} ?", q_expected_doc),
    ("retrieval", "Which knowledge-base document do the retriever calls return most often (on a tie, the first in alphabetical order)?", "Quel document de la base de connaissances les appels du retriever renvoient-ils le plus souvent (en cas d'égalité, le premier dans l'ordre alphabétique) ?", q_top_document),
    ("safety", "Which trace contains a prompt injection attempt?", "Quelle trace contient une tentative d'injection de prompt ?", q_injection),
    ("safety", "Which trace stores the customer's personal data unmasked (redaction switched off)?", "Quelle trace stocke les données personnelles du client en clair (masquage désactivé) ?", q_redaction_off),
    ("errors", "Which session has the most failed traces?", "Quelle session compte le plus de traces en échec ?", q_most_failed_session),
    ("latency", "Which trace is the slowest of the set?", "Quelle trace est la plus lente du jeu ?", q_slowest_trace),
    ("tokens", "Which session consumed the most tokens?", "Quelle session a consommé le plus de jetons ?", q_tokens_session),
    ("tools", "How many times was the knowledge base searched (search_knowledge_base calls)?", "Combien de fois la base de connaissances a-t-elle été interrogée (appels search_knowledge_base) ?", q_kb_searches),
    ("tools", "How many support tickets were created successfully?", "Combien de tickets de support ont été créés avec succès ?", q_tickets),
    ("prompts", "How many LLM calls did the failed traces make in total?", "Combien d'appels LLM les traces en échec ont-elles faits au total ?", q_failed_llm_calls),
]  # fmt: skip


def compute_questions(trace_file: Path | str, seed: int) -> list[Question]:
    """The question bank of a kit, answers computed from ``trace_file``; choices shuffled by ``seed``."""
    return assemble(BANK, _Data(Path(trace_file)), seed)
