"""``hopscout eval retrieval``: quality and speed of every search mode on a BEIR-like set, in one run.

The corpus is indexed once into an eval store (reused while the corpus is unchanged). Every query is run
through the public ``Scout.search`` per mode and timed. Hybrid uses a weight fitted by 2-fold cross-fitting:
queries are split by position (even / odd); each half is searched with the weight fitted on the other half,
so no query is scored with a weight fitted on itself."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from .. import fusion
from ..calibration import WEIGHT_GRID, ScoreLists, fit_weight, fused_ids, gather_scores
from ..engine import Engine
from ..metrics import latency, mean, per_query
from ..scout import Scout, engine_of
from ..settings import SEARCH_MODES, SearchMode
from .datasets import Dataset, load_dataset
from .folds import SPLIT, cross_fit

Log = Callable[[str], None]


def eval_collection_name(dataset: Dataset) -> str:
    """Collection that holds a dataset's corpus in the eval store."""
    slug = re.sub(r"[^a-zA-Z0-9_-]+", "-", dataset.name)[:40].strip("-_") or "set"
    return f"eval-{slug}-{dataset.fingerprint}"


def index_dataset(scout: Scout, dataset: Dataset, log: Log = lambda _: None) -> str:
    """Index the corpus (one document per entry, id = corpus id) unless already indexed; returns the collection."""
    name = eval_collection_name(dataset)
    existing = {info.name: info.count for info in scout.collections()}
    if existing.get(name) == len(dataset.corpus):
        return name
    if name in existing:
        scout.drop_collection(name)
    ids = list(dataset.corpus)
    log(f"indexing {len(ids)} documents of {dataset.name} ...")
    scout.add([dataset.doc_text(i) for i in ids], ids=ids, collection=name)
    return name


def measure_ingest(scout: Scout, dataset: Dataset, sample: int) -> dict[str, float]:
    """Docs/s of ``Scout.add`` and of the raw encoder on the same ``sample`` texts."""
    ids = list(dataset.corpus)[:sample]
    texts = [dataset.doc_text(i) for i in ids]
    scout.embedder.embed_documents(texts[:4])  # warm up: model load is not throughput
    start = time.perf_counter()
    scout.embedder.embed_documents(texts)
    raw = len(texts) / (time.perf_counter() - start)
    scratch = "eval-ingest-scratch"
    if scratch in {info.name for info in scout.collections()}:
        scout.drop_collection(scratch)
    start = time.perf_counter()
    scout.add(texts, ids=ids, collection=scratch)
    ingest = len(texts) / (time.perf_counter() - start)
    scout.drop_collection(scratch)
    return {"docs": len(texts), "ingest_docs_per_s": ingest, "encoder_docs_per_s": raw, "ratio": ingest / raw}


def cross_fitted_weights(
    engine: Engine, collection: str, queries: Sequence[str], relevant: Sequence[Mapping[str, int]], log: Log
) -> tuple[ScoreLists, list[float], tuple[float, float]]:
    """Each query's hybrid weight fitted on the other fold (:mod:`.folds`), the weights for the even and odd
    folds, and the dense / BM25 scores they were fitted on."""
    log("fitting the hybrid weight (2-fold cross-fitting) ...")
    scores = gather_scores(engine, queries, collection)
    weights, pair = cross_fit(len(queries), lambda fold: fit_weight(scores, relevant, fold).weight)
    return scores, weights, pair


def _timed_runs(
    scout: Scout, collection: str, queries: Sequence[str], mode: str, weights: Sequence[float] | None, k: int
) -> tuple[list[list[str]], list[float]]:
    runs, times = [], []
    for n, query in enumerate(queries):
        start = time.perf_counter()
        hits = scout.search(
            query,
            k,
            mode=cast(SearchMode, mode),
            collection=collection,
            fusion_weight=weights[n] if weights else None,
        )
        times.append((time.perf_counter() - start) * 1000)
        runs.append([h.id for h in hits])
    return runs, times


def _row(
    runs: Sequence[Sequence[str]], qids: Sequence[str], dataset: Dataset, times: Sequence[float] | None
) -> dict[str, Any]:
    scores = mean(per_query(dict(zip(qids, runs)), dataset.qrels))
    if times:
        scores.update(latency(times))
    return scores


def run_eval(
    folder: str | Path,
    scout: Scout,
    *,
    modes: Sequence[str] = SEARCH_MODES,
    k: int = 10,
    limit: int | None = None,
    ingest_sample: int = 256,
    log: Log = lambda _: None,
) -> dict[str, Any]:
    """Evaluate ``modes`` on the set in ``folder``; returns the JSON-ready report."""
    engine = engine_of(scout)
    dataset = load_dataset(folder)
    collection = index_dataset(scout, dataset, log)
    qids, queries, relevant = dataset.judged(limit)
    report: dict[str, Any] = {
        "dataset": dataset.name,
        "queries": len(qids),
        "corpus": len(dataset.corpus),
        "results": {},
    }
    fold_weights: list[float] | None = None
    if "hybrid" in modes:
        scores, fold_weights, (for_even, for_odd) = cross_fitted_weights(
            engine, collection, queries, relevant, log
        )
        full = fit_weight(scores, relevant)
        report["fusion"] = {
            "method": "convex min-max, lexical weight fitted per collection",
            "split": SPLIT,
            "fold_weights": [for_even, for_odd],
            "weight_all_queries": full.weight,
            "ndcg@10_by_weight_all_queries": {str(w): round(v, 4) for w, v in full.ndcg_by_weight.items()},
        }
        rows = list(range(len(qids)))
        report["results"]["hybrid_w0.5"] = _row(fused_ids(scores, rows, 0.5, k), qids, dataset, None)
        rrf_runs = [
            [i for i, _ in fusion.rrf(scores.dense_scores[r], scores.lexical_scores[r])[:k]] for r in rows
        ]
        report["results"]["rrf"] = _row(rrf_runs, qids, dataset, None)
    for mode in modes:
        log(f"searching {len(qids)} queries, mode {mode} ...")
        runs, times = _timed_runs(
            scout, collection, queries, mode, fold_weights if mode == "hybrid" else None, k
        )
        report["results"][mode] = _row(runs, qids, dataset, times)
    if ingest_sample:
        log(f"measuring ingest throughput on {min(ingest_sample, len(dataset.corpus))} documents ...")
        report["ingest"] = measure_ingest(scout, dataset, ingest_sample)
    report["embedder"] = scout.embedder.id
    return report


def format_report(report: dict[str, Any]) -> str:
    """A readable table of :func:`run_eval`'s report."""
    cols = ["ndcg@10", "recall@1", "recall@5", "recall@10", "all@10", "mrr@10", "p50_ms", "p95_ms"]
    lines = [
        (
            f"{report['dataset']}: {report['queries']} queries, {report.get('corpus', '?')} documents, "
            f"embedder {report.get('embedder', '?')}"
        ),
        f"{'mode':<13}" + "".join(f"{c:>10}" for c in cols),
    ]
    for mode, row in report["results"].items():
        cells = []
        for c in cols:
            value = row.get(c)
            cells.append(
                f"{'-':>10}"
                if value is None
                else f"{value:>10.1f}"
                if c.endswith("_ms")
                else f"{100 * value:>10.1f}"
            )
        lines.append(f"{mode:<13}" + "".join(cells))
    if "fusion" in report:
        f = report["fusion"]
        lines.append(
            f"hybrid: lexical weight per fold {f['fold_weights']} ({f['split']}); "
            f"on all queries {f['weight_all_queries']}; hybrid_w0.5 and rrf: same candidates, not timed"
        )
    if "ingest" in report:
        i = report["ingest"]
        lines.append(
            f"ingest: {i['ingest_docs_per_s']:.1f} docs/s vs raw encoder {i['encoder_docs_per_s']:.1f} docs/s "
            f"on the same {i['docs']} texts (ratio {i['ratio']:.2f})"
        )
    lines.append("metrics in % (pytrec_eval; all@10 = every relevant document in the top 10)")
    return "\n".join(lines)


__all__ = ["WEIGHT_GRID", "format_report", "index_dataset", "run_eval"]
