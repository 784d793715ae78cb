"""Benchmark of the offline model (prints figures; not a test).

Latency of one chat completion through the real ``openai`` client (keep-alive connection, no retries)
against the in-process server, for three kinds of request:

- ``chat``: a plain comment, the analysis and reply in prose;
- ``json_schema``: the analyzer's request (system prompt, <comment> envelope, knowledge-base passages)
  answered as JSON conforming to a pydantic schema;
- ``tools``: the same request with the analyzer's three tools, answered with parallel tool calls.

Each request text is different (a counter is appended), so the analysis cache does not flatter the figures.
Target: p50 <= 5 ms for ``chat``.

    uv run python benchmarks/offline_llm.py [--requests 500]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

from llmops.agent.schema import CommentAnalysis  # the analyzer's own answer schema

COMMENTS = [
    "Ma facture a doublé ce mois-ci, je veux résilier !",
    "Great, another outage. Third time this month.",
    "Le réseau est excellent mais le service client est nul.",
    "How do I change the date of my direct debit?",
]
PASSAGES = "\n".join(
    [
        "[kb-billing-refunds-credits] Un double prélèvement est remboursé par virement sous 10 jours ouvrés.",
        "[kb-contract-termination] Les frais de résiliation anticipée sont de 50 €.",
    ]
)
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search_knowledge_base",
            "description": "Search the knowledge base.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "lookup_customer",
            "description": "Look up the customer's plan.",
            "parameters": {
                "type": "object",
                "properties": {"customer_id": {"type": "string"}},
                "required": ["customer_id"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "create_ticket",
            "description": "Open a support ticket.",
            "parameters": {
                "type": "object",
                "properties": {"customer_id": {"type": "string"}, "priority": {"enum": ["low", "medium", "high"]}},
                "required": ["customer_id", "priority"],
            },
        },
    },
]




def _request(kind: str, i: int) -> dict[str, Any]:
    comment = f"{COMMENTS[i % len(COMMENTS)]} (#{i})"
    if kind == "chat":
        return {"messages": [{"role": "user", "content": comment}]}
    messages = [
        {"role": "system", "content": "You are the customer-care analyst of Lumea Telecom.\n" + PASSAGES},
        {
            "role": "user",
            "content": f"Customer id: CUST-{i % 9999:04d}\nChannel: email\n<comment>\n{comment}\n</comment>",
        },
    ]
    if kind == "tools":
        return {"messages": messages, "tools": TOOLS}
    schema = CommentAnalysis.model_json_schema()
    return {
        "messages": messages,
        "response_format": {"type": "json_schema", "json_schema": {"name": "CommentAnalysis", "schema": schema}},
    }


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(requests: int) -> dict[str, dict[str, float]]:
    import openai

    from llmops.llm import OfflineLLM

    results: dict[str, dict[str, float]] = {}
    with OfflineLLM(faults="") as llm:
        client = openai.OpenAI(base_url=llm.base_url, api_key="offline", max_retries=0)
        for kind in ("chat", "json_schema", "tools"):
            for i in range(20):  # warm-up: connection, imports, lexicon caches
                client.chat.completions.create(model="offline-analyst", **_request(kind, 10_000 + i))
            latencies = []
            cpu_start = time.process_time()
            for i in range(requests):
                body = _request(kind, i)
                start = time.perf_counter()
                response = client.chat.completions.create(model="offline-analyst", **body)
                latencies.append((time.perf_counter() - start) * 1000)
                if kind == "json_schema" and i == 0:
                    CommentAnalysis.model_validate(json.loads(response.choices[0].message.content))
            cpu_ms = (time.process_time() - cpu_start) * 1000 / requests
            results[kind] = {
                "cpu_ms": cpu_ms,
                "p50_ms": statistics.median(latencies),
                "p95_ms": _percentile(latencies, 95),
                "max_ms": max(latencies),
                "requests_per_s": requests / (sum(latencies) / 1000),
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    results = run(args.requests)
    print(f"offline model through the openai client, {args.requests} requests per kind, sequential, keep-alive")
    print(f"load average before: {load_before:.2f} on {os.cpu_count()} cores (wall times depend on it)")
    print(f"{'kind':<12} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'req/s':>8} {'cpu ms':>8}")
    for kind, f in results.items():
        print(
            f"{kind:<12} {f['p50_ms']:>8.2f} {f['p95_ms']:>8.2f} {f['max_ms']:>8.2f} {f['requests_per_s']:>8.0f} "
            f"{f['cpu_ms']:>8.2f}"
        )
    print("cpu ms: CPU time of client and server together per request (hardly depends on the load)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    verdict = "met" if results["chat"]["p50_ms"] <= 5 else "NOT met"
    print(f"target p50 <= 5 ms for chat: {verdict}")


if __name__ == "__main__":
    main()
