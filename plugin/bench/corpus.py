"""The bench's texts: real passages and queries from the evaluation sets, and synthetic chunks made from them.

Encoding 1M chunks would take about 5 hours on a 2-core CPU, so only a sample of real texts is encoded; every chunk of a
collection joins parts of two real texts, and its vector is the normalised mix of their two real vectors plus
noise. Latency depends on the index's size and on the distributions of vectors and terms, which this keeps
realistic; what a chunk means does not matter to it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def corpus_texts(data: Path, limit: int) -> list[str]:
    """Up to ``limit`` distinct passages (title + text, ≤ 1000 chars) from every ``corpus.jsonl`` under ``data``,
    shuffled with a fixed seed."""
    texts: list[str] = []
    for path in sorted(Path(data).glob("**/corpus.jsonl")):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                text = f"{row.get('title', '')}\n{row.get('text', '')}".strip()
                if text:
                    texts.append(text[:1000])
    unique = list(dict.fromkeys(texts))
    np.random.default_rng(0).shuffle(unique)
    return unique[:limit]


def bench_queries(data: Path, limit: int) -> list[str]:
    """Up to ``limit`` queries from every ``queries.jsonl`` under ``data``, shuffled with a fixed seed."""
    out: list[str] = []
    for path in sorted(Path(data).glob("**/queries.jsonl")):
        with open(path, encoding="utf-8") as fh:
            out.extend(json.loads(line)["text"] for line in list(fh)[:limit])
    np.random.default_rng(1).shuffle(out)
    return out[:limit]


def synthetic_chunks(
    texts: list[str], vectors: np.ndarray, start: int, n: int, seed: int
) -> tuple[list[str], list[str], np.ndarray]:
    """Chunks ``start .. start+n``: ids, texts (the first 300 chars of one real text + chars 300–600 of another)
    and unit vectors (a random mix of the two texts' vectors, weighted 0.55–1 towards the first, plus noise)."""
    rng = np.random.default_rng([seed, start])
    a, b = rng.integers(0, len(texts), n), rng.integers(0, len(texts), n)
    mix = rng.uniform(0.55, 1.0, (n, 1)).astype(np.float32)
    vec = mix * vectors[a] + (1 - mix) * vectors[b]
    vec += rng.normal(0, 0.02, vec.shape).astype(np.float32)
    vec /= np.linalg.norm(vec, axis=1, keepdims=True)
    chunk_texts = [texts[i][:300] + " " + texts[j][300:600] for i, j in zip(a, b)]
    return [f"c{start + i}" for i in range(n)], chunk_texts, vec.astype(np.float32)
