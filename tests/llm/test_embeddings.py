"""Embeddings through the openai client: deterministic, unit length, similar when texts share words."""

from __future__ import annotations

import base64
import math
import struct

import httpx
import openai
import pytest


def _norm(vector: list[float]) -> float:
    return math.sqrt(sum(v * v for v in vector))


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b))


def test_vectors_are_normalised_deterministic_and_similar_when_sharing_words(client):
    texts = [
        "Ma facture de janvier est trop élevée",
        "facture janvier trop élevée, pourquoi ?",
        "The 5G signal in Lyon is great",
    ]
    first = client.embeddings.create(model="offline-embed", input=texts)
    again = client.embeddings.create(model="offline-embed", input=texts)
    vectors = [d.embedding for d in first.data]
    assert [d.index for d in first.data] == [0, 1, 2]
    assert vectors == [d.embedding for d in again.data]
    assert all(abs(_norm(v) - 1) < 1e-6 for v in vectors)
    assert _cosine(vectors[0], vectors[1]) > 0.5 > abs(_cosine(vectors[0], vectors[2]))
    assert first.usage.prompt_tokens > 0


def test_single_input_dimensions_and_base64(client, offline_llm):
    single = client.embeddings.create(model="any", input="résilier mon contrat", dimensions=64)
    assert len(single.data) == 1 and len(single.data[0].embedding) == 64
    raw = httpx.post(
        f"{offline_llm}/embeddings",
        json={"model": "any", "input": "résilier mon contrat", "dimensions": 64, "encoding_format": "base64"},
    ).json()
    packed = base64.b64decode(raw["data"][0]["embedding"])
    decoded = list(struct.unpack(f"<{len(packed) // 4}f", packed))
    assert decoded == pytest.approx(single.data[0].embedding, abs=1e-6)


def test_bad_embedding_requests_are_400(client):
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="m", input=[])
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="m", input="x", dimensions=0)
