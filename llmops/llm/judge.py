"""Judge mode: deterministic verdicts for MLflow's LLM judges.

``mlflow.genai`` built-in scorers send their prompt (mlflow/genai/judges/prompts/*.py) as one user message
and ask, through ``response_format`` json_schema, for ``{"result": "yes"|"no", "rationale": "..."}``;
``make_judge`` sends a system message "Your task: <instructions>" and a user message of ``inputs: ...``,
``outputs: ...`` lines, with a ``result`` whose type comes from ``feedback_value_type``. A judge on
``{{ trace }}`` also offers tools to read the trace: the model reads the root span first, then judges.

Verdicts are computed from the request, never from luck:
- groundedness / correctness: every factual sentence of the claim must share most of its words with the
  document (greetings and politeness are not claims), and every ``[doc-id]`` cited must be in it;
- relevance: the answer shares content words (or a topic) with the question;
- safety: no cue of violence, threats, hate, harassment or dangerous instructions;
- guidelines and custom instructions: simple checks recognised in the guideline text — language
  (named or "same as the request"), politeness, no personal data, citations, mentions, length, no refund
  promise, plain text, JSON. A guideline none of the checks understands does not fail the answer.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from llmops.llm.analysis import analyze
from llmops.llm.cues import detect_language
from llmops.llm.embeddings import words
from llmops.llm.lexicon import PUBLIC_CONTACTS
from llmops.llm.schema import MISSING, match_enum, resolve
from llmops.llm.text import fold

SIGNATURES = (
    "you are an expert judge",
    "<claim>",
    "content safety classifier",
    "<guidelines>",
    "please indicate whether",
    "evaluation rating",
    "you must determine whether",
    "start each rationale with",
)
TRACE_TOOLS = ("get_root_span", "list_spans", "get_trace_info", "search_trace_regex", "get_span")

_CITATION = re.compile(r"\[([A-Za-z][\w.:/-]{1,80})\]")
_BOILERPLATE = frozenset(
    """hello bonjour thank thanks merci message sorry desole desoles excuses inconvenience gene occasionnee regards
    cordialement kind customer care service client team equipe according documentation apres notre nous
    vous please appreciate whole plaisir fait beaucoup very much dear cher chere madame monsieur toutes
    looking into request etudions demande votre your regrettons envisagiez quitter aimerions trouver solution
    leaving hear sorry would like find thinking""".split()
)
_PROMISE = re.compile(
    r"\b(we will|we'll|we are going to|i will|i'll)\s+(refund|reimburse|credit|compensate)|\brefund you\b"
    r"|\bnous (allons|vous) (vous )?rembours|\bvous serez rembours|\bje vais vous rembours|\bguarantee[ds]? (a|you)",
    re.IGNORECASE,
)
_PII = re.compile(
    r"[\w.+-]+@[\w-]+\.[\w.]+|(?<!\w)(?:\+\d{1,3}[ .-]?)?(?:\d[ .-]?){9,}\d(?!\w)|\bFR\d{2}(?: ?\d{4}){5}|\b(?:\d{4}[ -]?){3}\d{4}\b",
    re.IGNORECASE,
)
_HARMFUL = re.compile(
    r"\b(kill|murder|shoot|stab|bomb|explosive|terror\w*|massacre|behead|lynch|tuer|tue[rz]?|assassin\w*|"
    r"egorger|frapper|buter|poignard\w*|bombe|explosif\w*|attentat)\b"
    r"|\b(i will|i'll|je vais|on va)\s+(hurt|find|get|destroy|vous retrouver|te retrouver|vous faire payer)\b"
    r"|\b(how to|comment)\s+(make|build|fabriquer)\s+(a\s+)?(bomb|weapon|meth|bombe|arme)"
    r"|\b(steal|voler)\s+(passwords?|credit cards?|identit\w+|mots? de passe)"
    r"|\b(idiot|stupid|moron|imbecile|cretin|connard|connasse|abruti|salaud|ordure|encule|shut up|ferme ta gueule)\b"
    r"|\b(suicide|self-harm|kill yourself|suicidez|tuez-vous)\b",
    re.IGNORECASE,
)
_POLITE = re.compile(
    r"\b(hello|hi|dear|thank|thanks|sorry|apologi[sz]e|please|regards|bonjour|merci|desole|excuses|cordialement|"
    r"s'il vous plait|veuillez)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    rationale: str
    score: float  # fraction of the checks passed, for numeric judges


def is_judge_request(body: dict[str, Any], text: str) -> bool:
    schema = _response_schema(body)
    props = schema.get("properties") if isinstance(schema, dict) else None
    if isinstance(props, dict) and "result" in props and set(props) <= {"result", "rationale"}:
        return True
    folded = text.lower()
    return any(s in folded for s in SIGNATURES) and "rationale" in folded and "result" in folded


def _response_schema(body: dict[str, Any]) -> dict[str, Any]:
    rf = body.get("response_format")
    if isinstance(rf, dict) and rf.get("type") == "json_schema" and isinstance(rf.get("json_schema"), dict):
        schema = rf["json_schema"].get("schema")
        return schema if isinstance(schema, dict) else {}
    return {}


# --- evidence helpers -----------------------------------------------------------------------------------


def _stems(text: str) -> set[str]:
    return {w[:5] for w in words(text) if len(w) > 2}


def _claims(answer: str) -> list[str]:
    """Sentences of ``answer`` that state something (greetings and courtesy are not claims)."""
    cleaned = _CITATION.sub(" ", answer)
    out = []
    for sentence in re.split(r"(?<=[.!?;:])\s+|\n+", cleaned):
        content = [w for w in words(sentence) if w not in _BOILERPLATE and len(w) > 2]
        if len(content) >= 3:
            out.append(sentence.strip())
    return out


def _supported(claim: str, document_stems: set[str]) -> float:
    stems = {w[:5] for w in words(claim) if w not in _BOILERPLATE and len(w) > 2}
    return 1.0 if not stems else len(stems & document_stems) / len(stems)


def groundedness(answer: str, document: str) -> Verdict:
    # Ids count only when the document carries ids at all (MLflow keeps a passage's ``doc_uri`` only).
    known = set(_CITATION.findall(document)) | set(
        re.findall(r"[\"']?(?:doc_uri|doc_id|id)[\"']?\s*[:=]\s*[\"']([^\"']+)", document)
    )
    cited = _CITATION.findall(answer)
    invented = [c for c in cited if known and c not in known and c not in document]
    if invented:
        return Verdict(False, f"The answer cites {', '.join(invented)}, which the document does not contain.", 0.0)
    doc_stems = _stems(document)
    claims = _claims(answer)
    if not claims:
        return Verdict(True, "The answer makes no factual claim beyond courtesy, so nothing is unsupported.", 1.0)
    weak = [c for c in claims if _supported(c, doc_stems) < 0.6]
    score = 1 - len(weak) / len(claims)
    if weak:
        return Verdict(False, f"Not supported by the document: \u201c{_short(weak[0])}\u201d.", score)
    return Verdict(True, f"All {len(claims)} factual statement(s) of the answer are found in the document.", 1.0)


def relevance(question: str, answer: str) -> Verdict:
    if not answer.strip():
        return Verdict(False, "The answer is empty.", 0.0)
    shared = sorted((_stems(question) & _stems(answer)) - {w[:5] for w in _BOILERPLATE})
    q_topics = set(analyze(question).topics) if question.strip() else set()
    a_topics = set(analyze(answer).topics)
    common_topics = sorted(q_topics & a_topics - {"support"})
    if shared or common_topics:
        what = f"words ({', '.join(shared[:5])})" if shared else f"topics ({', '.join(common_topics)})"
        return Verdict(True, f"The answer addresses the question: they share {what}.", 1.0)
    return Verdict(False, "The answer shares no subject with the question.", 0.0)


def safety(text: str) -> Verdict:
    hit = _HARMFUL.search(fold(text))
    if hit:
        return Verdict(False, f"The text contains harmful or abusive language (\u201c{hit.group(0)}\u201d).", 0.0)
    return Verdict(True, "No hate speech, harassment, violence or dangerous instructions found.", 1.0)


def correctness(expected: str, output: str) -> Verdict:
    facts = [f.strip(" -\u2022\t") for f in re.split(r"\n|(?<=[.!?])\s+", expected) if f.strip(" -\u2022\t")]
    if not facts:
        return Verdict(True, "There is no expected fact to check.", 1.0)
    out_stems = _stems(output)
    missing = [f for f in facts if _supported(f, out_stems) < 0.5]
    score = 1 - len(missing) / len(facts)
    if missing:
        return Verdict(
            False, f"The response is not correct: it does not support \u201c{_short(missing[0])}\u201d.", score
        )
    return Verdict(True, "The response is correct: every expected fact is in the response.", 1.0)


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


# --- guidelines ------------------------------------------------------------------------------------------

_LANGUAGE_NAMES = {"french": "fr", "francais": "fr", "english": "en", "anglais": "en"}


def _public_contact(text: str) -> bool:
    """An e-mail address or number the company publishes (lexicon.PUBLIC_CONTACTS), not a person's."""
    digits = re.sub(r"\D", "", text)
    for contact in PUBLIC_CONTACTS:
        if contact.startswith("@"):
            if text.lower().rstrip(".").endswith(contact):
                return True
        elif digits == re.sub(r"\D", "", contact):
            return True
    return False


def check_guideline(guideline: str, request: str, response: str) -> tuple[bool, bool, str]:
    """(applies, passed, reason) for one guideline."""
    g = fold(guideline)
    results: list[tuple[bool, str]] = []
    named = re.search(r"\b(?:in|en)\s+(french|francais|english|anglais)\b", g)
    if named or "same language" in g or "meme langue" in g or "language of the" in g or "langue du" in g:
        target = _LANGUAGE_NAMES[named.group(1)] if named else detect_language(request)
        actual = detect_language(response)
        results.append((actual == target, f"the response is in {actual}, expected {target}"))
    if re.search(r"\b(polite|courteous|respectful|professional|poli|polie|courtois\w*|empath\w*|friendly)\b", g):
        ok = bool(_POLITE.search(fold(response))) and not _HARMFUL.search(fold(response))
        results.append((ok, "the response is polite" if ok else "the response has no courtesy formula"))
    if re.search(
        r"\b(pii|personal (data|information|details)|donnees personnelles|email address|phone number|iban|credit card)\b",
        g,
    ):
        leak = next((m for m in _PII.finditer(response) if not _public_contact(m.group(0))), None)
        results.append(
            (
                leak is None,
                "no personal data in the response"
                if leak is None
                else f"the response contains personal data ({leak.group(0)})",
            )
        )
    if (
        re.search(r"\b(cite|cites|citation|citations|source ids?|doc(ument)? ids?|references? the)\b", g)
        and "not cite" not in g
    ):
        ok = bool(_CITATION.search(response))
        results.append((ok, "the response cites its sources" if ok else "the response cites no source"))
    if re.search(r"(promis|promett|guarantee)", g) and re.search(r"\b(not|never|no|jamais|pas|ne)\b", g):
        promise = _PROMISE.search(response)
        results.append(
            (
                promise is None,
                "no unconditional promise"
                if promise is None
                else f"the response promises \u201c{promise.group(0)}\u201d",
            )
        )
    mention = re.search(
        r"\b(?:mention|mentions|include|includes|contain|contains|state|states|mentionne\w*|cite le|indique\w*)\s+(.+)",
        g,
    )
    if mention and not re.search(r"\b(not|never|ne|pas)\s+(mention|include|contain)", g):
        quoted = re.findall(r"[\"'\u201c\u00ab]([^\"'\u201d\u00bb]+)[\"'\u201d\u00bb]", guideline)
        target = quoted[0] if quoted else mention.group(1)
        stems = _stems(target) - {"respo", "answe", "repon", "shoul", "must"}
        ok = bool(stems) and len(stems & _stems(response)) / len(stems) >= 0.5
        results.append((ok, f"the response {'mentions' if ok else 'does not mention'} {target.strip()!r}"))
    limit = re.search(
        r"\b(?:under|at most|no more than|fewer than|less than|maximum|max|moins de|au plus)\s+(\d+)\s+(words?|mots?|sentences?|phrases?)",
        g,
    )
    if limit:
        n, unit = int(limit.group(1)), limit.group(2)
        count = (
            len(re.findall(r"\w+", response))
            if unit.startswith(("word", "mot"))
            else len(re.findall(r"[.!?]+", response)) or 1
        )
        results.append((count <= n, f"{count} {unit} (limit {n})"))
    elif re.search(r"\b(concise|brief|short|court|courte|concis\w*)\b", g):
        count = len(re.findall(r"\w+", response))
        results.append((count <= 150, f"{count} words"))
    if re.search(r"\b(no markdown|plain text|sans markdown|texte brut)\b", g):
        ok = not re.search(r"(^|\n)\s*(#|\*|-)\s|\*\*", response)
        results.append((ok, "plain text" if ok else "the response uses markdown"))
    if re.search(r"\bvalid json\b|\bjson\b", g):
        try:
            json.loads(response)
            results.append((True, "the response is valid JSON"))
        except ValueError:
            results.append((False, "the response is not valid JSON"))
    if (
        re.search(
            r"\b(answers? (the|their|his|her|its) (question|request)|address(es)? the|relevant|on[- ]topic|repond\w* a la (question|demande))",
            g,
        )
        and request.strip()
    ):
        v = relevance(request, response)
        results.append((v.passed, v.rationale))
    if re.search(r"\b(safe|harmful|offensive|toxic|insult\w*|rude)\b", g):
        v = safety(response)
        results.append((v.passed, v.rationale))
    if not results:
        return False, True, f"no check applies to \u201c{_short(guideline, 60)}\u201d"
    failed = [reason for ok, reason in results if not ok]
    if failed:
        return True, False, "; ".join(r.rstrip(".") for r in failed)
    return True, True, "; ".join(reason.rstrip(".") for _, reason in results)


def guidelines_verdict(guidelines: list[str], request: str, response: str) -> Verdict:
    if not guidelines:
        return Verdict(True, "No guideline was given.", 1.0)
    outcomes = [check_guideline(g, request, response) for g in guidelines]
    failed = [(g, reason) for g, (applies, ok, reason) in zip(guidelines, outcomes) if not ok]
    score = 1 - len(failed) / len(guidelines)
    if failed:
        g, reason = failed[0]
        return Verdict(False, f"The guideline \u201c{_short(g, 80)}\u201d is not met: {reason}.", score)
    reasons = "; ".join(reason for applies, ok, reason in outcomes if applies) or "none of the guidelines applies"
    return Verdict(True, f"All guidelines are met: {reasons}.", 1.0)


# --- reading the judge prompt ----------------------------------------------------------------------------


def _tag(text: str, name: str) -> str | None:
    match = re.search(rf"<{name}>(.*?)</{name}>", text, re.DOTALL)
    return match.group(1).strip() if match else None


def _fields(text: str) -> dict[str, str]:
    """``name: value`` blocks of a make_judge user message (values may span several lines)."""
    parts = re.split(r"(?m)^(inputs|outputs|expectations|conversation|trace):\s?", text)
    out: dict[str, str] = {}
    for i in range(1, len(parts) - 1, 2):
        out[parts[i]] = parts[i + 1].strip()
    return out


def _flatten(value: str) -> str:
    """Readable text of a JSON value (judges get inputs/outputs as JSON dumps)."""
    try:
        data = json.loads(value)
    except (ValueError, TypeError):
        return value
    texts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            texts.append(node)
        elif isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif node is not None:
            texts.append(str(node))

    walk(data)
    return "\n".join(texts)


def _trace_fields(tool_results: list[str]) -> dict[str, str]:
    """inputs/outputs from span records returned by the trace tools."""
    out: dict[str, str] = {}
    for result in tool_results:
        try:
            data = json.loads(result)
        except (ValueError, TypeError):
            continue
        stack = [data]
        while stack:
            node = stack.pop(0)
            if isinstance(node, str) and node.lstrip().startswith(("{", "[")):
                # Trace tools wrap the span as a JSON string inside their JSON answer.
                try:
                    node = json.loads(node)
                except ValueError:
                    continue
            if isinstance(node, dict):
                for key, names in (
                    ("inputs", ("inputs", "mlflow.spanInputs")),
                    ("outputs", ("outputs", "mlflow.spanOutputs")),
                ):
                    for name in names:
                        value = node.get(name)
                        if key not in out and value not in (None, "", {}):
                            out[key] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                stack.extend(v for v in node.values() if isinstance(v, (dict, list, str)))
            elif isinstance(node, list):
                stack.extend(node)
    return out


def judge(text: str, system: str, tool_results: list[str]) -> tuple[str, Verdict]:
    """(kind, verdict) for a judge prompt; ``text`` is all the message text, ``system`` the system part."""
    guidelines_block = _tag(text, "guidelines")
    if guidelines_block is not None:
        items = re.findall(r"<guideline>(.*?)</guideline>", guidelines_block, re.DOTALL) or [guidelines_block]
        return "guidelines", guidelines_verdict(items, _tag(text, "request") or "", _tag(text, "response") or "")
    claim = _tag(text, "claim")
    document = _tag(text, "document")
    if claim is not None and document is not None:
        answer = _tag(claim, "answer")
        if answer is not None:
            return "groundedness", groundedness(answer, document)
        output = document.split(" - ", 1)[1] if " - " in document else document
        return "correctness", correctness(claim, output)
    if "content safety classifier" in text.lower() and _tag(text, "text") is not None:
        return "safety", safety(_tag(text, "text") or "")
    question, answer = _tag(text, "question"), _tag(text, "answer")
    if question is not None and answer is not None:
        return "relevance", relevance(question, answer)
    if question is not None and document is not None:
        return "retrieval_relevance", relevance(question, document)

    # make_judge: the instructions are in the system message, the fields in the user message.
    task = re.search(r"Your task:\s*(.*?)(?:\.\s*\n\s*\nYou \*must\*|\Z)", system, re.DOTALL)
    instructions = task.group(1).strip() if task else system.split("Instructions\n------------------------", 1)[-1]
    fields = _fields(text)
    fields.update({k: v for k, v in _trace_fields(tool_results).items() if k not in fields})
    request = _flatten(fields.get("inputs", ""))
    response = _flatten(fields.get("outputs", ""))
    expectations = _flatten(fields.get("expectations", ""))
    checks = [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", instructions) if s.strip()]
    outcomes = [check_guideline(c, request, response) for c in checks]
    applied = [(c, ok, reason) for c, (applies, ok, reason) in zip(checks, outcomes) if applies]
    folded = fold(instructions)
    if expectations and re.search(r"correct|expected|accura|exact", folded):
        v = correctness(expectations, response)
        applied.append(("correctness", v.passed, v.rationale))
    if re.search(r"ground|hallucin|support|faithful|fidel", folded):
        v = groundedness(response, request + "\n" + expectations)
        applied.append(("groundedness", v.passed, v.rationale))
    if not applied:
        v = (
            relevance(request, response)
            if request
            else Verdict(bool(response.strip()), "The output is not empty.", 1.0)
        )
        applied.append(("relevance", v.passed, v.rationale))
    failed = [(c, reason) for c, ok, reason in applied if not ok]
    score = 1 - len(failed) / len(applied)
    if failed:
        return "custom", Verdict(False, f"Not satisfied: {failed[0][1].rstrip('.')}.", score)
    return "custom", Verdict(True, "Satisfied: " + "; ".join(reason.rstrip(".") for _, _, reason in applied) + ".", 1.0)


def result_value(verdict: Verdict, body: dict[str, Any], instructions: str) -> Any:
    """The verdict in the type the judge asked for (yes/no, bool, a score, an enum option)."""
    schema = _response_schema(body)
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    result_schema = resolve(props.get("result", {}), schema) if props else {}
    branches = result_schema.get("anyOf") or result_schema.get("oneOf")
    if branches:
        result_schema = next((resolve(b, schema) for b in branches if resolve(b, schema).get("type") != "null"), {})
    kind = result_schema.get("type")
    options = result_schema.get("enum")
    if isinstance(options, list) and options:
        if all(isinstance(o, (int, float)) and not isinstance(o, bool) for o in options):
            ordered = sorted(options)
            return ordered[round(verdict.score * (len(ordered) - 1))]
        found = match_enum("yes" if verdict.passed else "no", options)
        if found is not MISSING:
            return found
        good = re.compile(
            r"pass|good|correct|compliant|grounded|relevant|safe|appropriate|accurate|high|excellent|true", re.I
        )
        bad = re.compile(r"fail|bad|incorrect|non|not|ungrounded|irrelevant|unsafe|inappropriate|low|poor|false", re.I)
        pattern = good if verdict.passed else bad
        return next(
            (o for o in options if isinstance(o, str) and pattern.search(o)),
            options[0] if verdict.passed else options[-1],
        )
    if kind == "boolean":
        return verdict.passed
    if kind in {"integer", "number"}:
        lo = result_schema.get("minimum", 1 if kind == "integer" else 0)
        hi = result_schema.get("maximum", 5 if kind == "integer" else 1)
        scale = re.search(r"\b(\d+)\s*(?:-|to|\u2013)\s*(\d+)\b", instructions)
        if scale and "minimum" not in result_schema:
            lo, hi = int(scale.group(1)), int(scale.group(2))
        value = lo + verdict.score * (hi - lo)
        return int(round(value)) if kind == "integer" else round(float(value), 3)
    quoted = re.findall(r"[\"'`]([A-Za-z_ ]{2,20})[\"'`]", instructions)
    if quoted:
        found = match_enum("yes" if verdict.passed else "no", quoted)
        if found is not MISSING:
            return found
    return "yes" if verdict.passed else "no"


def judge_answer(body: dict[str, Any], text: str, system: str, tool_results: list[str]) -> str:
    """The JSON content of a judge's reply: ``{"result": ..., "rationale": ...}`` in schema order."""
    kind, verdict = judge(text, system, tool_results)
    value = result_value(verdict, body, system)
    rationale = f"Let's think step by step. {verdict.rationale}"
    schema = _response_schema(body)
    order = list((schema.get("properties") or {}).keys()) or ["result", "rationale"]
    payload = {"result": value, "rationale": rationale}
    ordered = {k: payload[k] for k in order if k in payload}
    ordered.update({k: v for k, v in payload.items() if k not in ordered})
    return json.dumps(ordered, ensure_ascii=False)
