"""``hopscout bench``: search latency at 10K / 100K chunks and ingest throughput, each beside the raw encoder
measured in the same run (this machine is noisy, so ratios are what to compare).

Texts come from the evaluation sets. Encoding 100K chunks takes most of an hour on a 2-core CPU, so only a
sample is encoded; the rest of each collection are synthetic chunks whose text joins sentences of two real
texts and whose vector is the normalised mix of their two real vectors (plus noise). Latency depends on the
index's size and the distributions of vectors and terms, which this keeps realistic."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .scout import Scout

Log = Callable[[str], None]


def _corpus_texts(data: Path, limit: int) -> list[str]:
    texts: list[str] = []
    for path in sorted(data.glob("**/corpus.jsonl")):
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                text = f"{row.get('title', '')}\n{row.get('text', '')}".strip()
                if text:
                    texts.append(text[:1000])
    seen: dict[str, None] = dict.fromkeys(texts)
    rng = np.random.default_rng(0)
    unique = list(seen)
    rng.shuffle(unique)
    return unique[:limit]


def _queries(data: Path, limit: int) -> list[str]:
    out: list[str] = []
    for path in sorted(data.glob("**/queries.jsonl")):
        with open(path, encoding="utf-8") as fh:
            out.extend(json.loads(line)["text"] for line in list(fh)[:limit])
    rng = np.random.default_rng(1)
    rng.shuffle(out)
    return out[:limit]


def _percentiles(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": statistics.median(ordered), "p95_ms": ordered[round(0.95 * (len(ordered) - 1))]}


def _fill(scout: Scout, name: str, size: int, texts: list[str], vectors: np.ndarray, log: Log) -> None:
    existing = {info.name: info.count for info in scout.collections()}
    if existing.get(name) == size:
        return
    if name in existing:
        scout.drop_collection(name)
    index = scout.engine.index(name, create=True)
    rng = np.random.default_rng(size)
    step = 5000
    log(f"building {name}: {size} chunks ...")
    for start in range(0, size, step):
        n = min(step, size - start)
        a, b = rng.integers(0, len(texts), n), rng.integers(0, len(texts), n)
        mix = rng.uniform(0.55, 1.0, (n, 1)).astype(np.float32)
        vec = (
            mix * vectors[a]
            + (1 - mix) * vectors[b]
            + rng.normal(0, 0.02, (n, vectors.shape[1])).astype(np.float32)
        )
        vec /= np.linalg.norm(vec, axis=1, keepdims=True)
        chunk_texts = [texts[i][:300] + " " + texts[j][300:600] for i, j in zip(a, b)]
        ids = [f"c{start + i}" for i in range(n)]
        index.upsert(ids, chunk_texts, vec, [{"n": start + i} for i in range(n)])


def run_bench(
    scout: Scout,
    data: Path,
    sizes: Sequence[int],
    n_queries: int = 200,
    sample: int = 2000,
    log: Log = lambda _: None,
) -> dict[str, Any]:
    """Measure and return the JSON-ready bench report."""
    texts = _corpus_texts(Path(data), sample)
    queries = _queries(Path(data), n_queries)
    log(f"encoding {len(texts)} real texts (the base of every collection) ...")
    scout.embedder.embed_documents(texts[:8])
    start = time.perf_counter()
    vectors = scout.embedder.embed_documents(texts)
    encoder_docs_per_s = len(texts) / (time.perf_counter() - start)
    report: dict[str, Any] = {
        "embedder": scout.embedder.id,
        "encoder": scout.embedder.backend,  # onnx or torch (HOPSCOUT_ENCODER), after any fallback
        "queries": len(queries),
        "sizes": {},
    }

    ingest_texts = texts[:256]
    scratch = "bench-ingest-scratch"
    if scratch in {info.name for info in scout.collections()}:
        scout.drop_collection(scratch)
    start = time.perf_counter()
    raw = scout.embedder.embed_documents(ingest_texts)
    raw_rate = len(ingest_texts) / (time.perf_counter() - start)
    start = time.perf_counter()
    scout.add(ingest_texts, collection=scratch)
    ingest_rate = len(ingest_texts) / (time.perf_counter() - start)
    scout.drop_collection(scratch)
    del raw
    report["ingest"] = {
        "docs": len(ingest_texts),
        "ingest_docs_per_s": ingest_rate,
        "encoder_docs_per_s": raw_rate,
        "ratio": ingest_rate / raw_rate,
        "encoder_docs_per_s_sample": encoder_docs_per_s,
    }

    for size in sizes:
        name = f"bench-{size}"
        _fill(scout, name, size, texts, vectors, log)
        log(f"timing {len(queries)} queries at {size} chunks ...")
        for q in queries[:5]:
            scout.search(q, 10, collection=name)
        scout.engine.index(
            name
        ).lexical.accelerator.wait()  # steady state: the in-memory BM25 snapshot is built
        timings: dict[str, list[float]] = {"encode": [], "dense": [], "lexical": [], "hybrid": []}
        for q in queries:  # interleaved, so load on the machine hits every measurement alike
            t = time.perf_counter()
            scout.embedder.embed_queries([q])
            timings["encode"].append((time.perf_counter() - t) * 1000)
            for mode in ("dense", "lexical", "hybrid"):
                t = time.perf_counter()
                scout.search(q, 10, mode=mode, collection=name)
                timings[mode].append((time.perf_counter() - t) * 1000)
        row = {mode: _percentiles(values) for mode, values in timings.items()}
        encode = row["encode"]["p50_ms"]
        for mode in ("dense", "lexical", "hybrid"):
            row[mode]["ratio_to_encode"] = row[mode]["p50_ms"] / encode
        report["sizes"][str(size)] = row
    return report


def format_bench(report: dict[str, Any]) -> str:
    """A readable table of :func:`run_bench`'s report."""
    encoder = f"{report['embedder']} ({report.get('encoder')})"
    lines = [
        f"hopscout bench — embedder {encoder}, {report['queries']} queries per size",
        f"{'chunks':>8} {'mode':<8} {'p50 ms':>8} {'p95 ms':>8} {'p50 / one query encode':>24}",
    ]
    for size, row in report["sizes"].items():
        lines.append(
            f"{size:>8} {'encode':<8} {row['encode']['p50_ms']:>8.2f} {row['encode']['p95_ms']:>8.2f} {'1.00':>24}"
        )
        for mode in ("dense", "lexical", "hybrid"):
            r = row[mode]
            lines.append(
                f"{'':>8} {mode:<8} {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['ratio_to_encode']:>24.2f}"
            )
    i = report["ingest"]
    lines.append(
        f"ingest: {i['ingest_docs_per_s']:.1f} docs/s vs raw encoder {i['encoder_docs_per_s']:.1f} docs/s on the "
        f"same {i['docs']} texts (ratio {i['ratio']:.2f})"
    )
    lines.append(
        "search times include the query encode; the encode row is the encoder alone, measured interleaved"
    )
    return "\n".join(lines)
