"""Ranking metrics through pytrec_eval (the reference trec_eval code), plus all@k and hit@k, which trec_eval lacks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

Run = Mapping[str, Sequence[str]]  # qid → ranked doc ids, best first
Qrels = Mapping[str, Mapping[str, int]]

METRICS = ("ndcg@10", "recall@1", "recall@5", "recall@10", "all@5", "all@10", "mrr@10")
_TREC = {
    "ndcg_cut_10": "ndcg@10",
    "recall_1": "recall@1",
    "recall_5": "recall@5",
    "recall_10": "recall@10",
    "recip_rank": "mrr@10",
}


def per_query(run: Run, qrels: Qrels, k: int = 10) -> dict[str, dict[str, float]]:
    """Every metric for every judged query in ``run`` (fractions in 0–1); the run is cut at ``k`` first."""
    import pytrec_eval

    judged = {q: {d: int(g) for d, g in rel.items()} for q, rel in qrels.items() if q in run}
    # trec_eval orders by score, so give strictly decreasing scores in our rank order.
    trec_run = {
        q: {d: float(k - i) for i, d in enumerate(list(run[q])[:k])} or {"__none__": 0.0} for q in judged
    }
    evaluator = pytrec_eval.RelevanceEvaluator(judged, set(_TREC))
    scores = evaluator.evaluate(trec_run)
    out: dict[str, dict[str, float]] = {}
    for qid, values in scores.items():
        row = {name: float(values[key]) for key, name in _TREC.items()}
        gold = {d for d, g in judged[qid].items() if g > 0}
        ranked = list(run[qid])
        row["all@5"] = float(bool(gold) and gold <= set(ranked[:5]))
        row["all@10"] = float(bool(gold) and gold <= set(ranked[:10]))
        out[qid] = row
    return out


def hits(run: Run, qrels: Qrels, k: int = 5) -> dict[str, float]:
    """hit@k for every judged query in ``run``: 1.0 when any relevant document is in its top ``k`` (the figure
    tool-search vendors report; trec_eval lacks it), else 0.0."""
    out = {}
    for qid, rel in qrels.items():
        if qid in run:
            gold = {d for d, g in rel.items() if g > 0}
            out[qid] = float(bool(gold & set(list(run[qid])[:k])))
    return out


def mean(rows: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Average of :func:`per_query` rows, metric by metric."""
    if not rows:
        return {m: 0.0 for m in METRICS}
    return {m: float(np.mean([r[m] for r in rows.values()])) for m in METRICS}


def latency(times_ms: Sequence[float]) -> dict[str, float]:
    """``p50_ms`` (the median) and ``p95_ms`` (nearest rank) of per-query times in milliseconds."""
    ordered = sorted(times_ms)
    return {
        "p50_ms": float(np.median(ordered)),
        "p95_ms": float(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]),
    }
