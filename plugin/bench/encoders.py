"""The encoder paths side by side on the same texts, in one run: the ONNX path (the default for the bundled
model) and torch (sentence-transformers, hopscout's path before it), each measured raw and inside ``Scout.add``.
Rounds alternate between the two, so load on the machine hits both alike; each figure is the best round."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from ..scout import Scout

BACKENDS = ("onnx", "torch")


def _docs_per_s(scout: Scout, texts: list[str]) -> float:
    start = time.perf_counter()
    scout.embedder.embed_documents(texts)
    return len(texts) / (time.perf_counter() - start)


def _ingest_per_s(scout: Scout, texts: list[str], collection: str) -> float:
    if collection in {info.name for info in scout.collections()}:
        scout.drop_collection(collection)
    start = time.perf_counter()
    scout.add(texts, collection=collection)
    rate = len(texts) / (time.perf_counter() - start)
    scout.drop_collection(collection)
    return rate


def compare_encoders(
    home: Path, passages: list[str], short: list[str], queries: list[str], rounds: int = 2
) -> dict[str, Any]:
    """Docs/s on ``passages`` and on ``short`` texts, query-encode p50 over ``queries``, and ``Scout.add`` docs/s
    on the passages, per backend; ``ratio``: ONNX over torch."""
    scouts = {b: Scout(home=str(home / f"encoder-{b}"), encoder=b) for b in BACKENDS}
    try:
        for scout in scouts.values():
            scout.embedder.embed_documents(passages[:8])  # load (and export, the first time) before timing
        best: dict[str, dict[str, float]] = {b: {} for b in BACKENDS}
        query_ms: dict[str, list[float]] = {b: [] for b in BACKENDS}

        def keep(backend: str, name: str, value: float) -> None:
            best[backend][name] = max(best[backend].get(name, 0.0), value)

        for _ in range(rounds):
            for b, scout in scouts.items():
                keep(b, "passages_docs_per_s", _docs_per_s(scout, passages))
                keep(b, "short_docs_per_s", _docs_per_s(scout, short))
                keep(b, "ingest_docs_per_s", _ingest_per_s(scout, passages, "bench-ingest-scratch"))
        for q in queries:
            for b, scout in scouts.items():
                start = time.perf_counter()
                scout.embedder.embed_queries([q])
                query_ms[b].append((time.perf_counter() - start) * 1000)
        out: dict[str, Any] = {
            b: {
                **best[b],
                "query_p50_ms": statistics.median(query_ms[b]),
                "backend": scouts[b].embedder.backend,
            }
            for b in BACKENDS
        }
        out["ratio"] = {
            name: out["onnx"][name] / out["torch"][name]
            for name in ("passages_docs_per_s", "short_docs_per_s", "ingest_docs_per_s")
        }
        out["ratio"]["query_speedup"] = out["torch"]["query_p50_ms"] / out["onnx"]["query_p50_ms"]
        out.update(passages=len(passages), short=len(short), queries=len(queries))
        return out
    finally:
        for scout in scouts.values():
            scout.close()
