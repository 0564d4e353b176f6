"""Multi-hop evaluation: every hop operator and merge beside single-shot dense / lexical / hybrid at the same K,
with paired wins and losses, latency, and the operator oracle diagnostic (``--hop-oracle``)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..hop import OPERATORS, HopInput
from ..scout import Scout
from .datasets import Dataset, load_dataset
from .harness import index_dataset

Log = Callable[[str], None]


def available_operators(scout: Scout) -> list[str]:
    """Every operator that can run with this embedder (trained ones need weights for it)."""
    return [
        name for name, spec in OPERATORS.items() if spec.available(scout.embedder.id, scout.settings.home)
    ]


def _recall(run: Sequence[str], gold: set[str], k: int) -> tuple[float, float]:
    found = gold & set(run[:k])
    return float(found == gold), len(found) / len(gold)


def _summary(runs: list[list[str]], golds: list[set[str]], times: list[float] | None) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for k in (10, 5):
        pairs = [_recall(r, g, k) for r, g in zip(runs, golds)]
        row[f"all@{k}"] = float(np.mean([p[0] for p in pairs]))
        row[f"recall@{k}"] = float(np.mean([p[1] for p in pairs]))
    if times:
        row["p50_ms"] = statistics.median(times)
    return row


def _paired(
    runs: list[list[str]], base: list[list[str]], golds: list[set[str]], k: int = 10
) -> dict[str, int]:
    wins = sum(_recall(r, g, k)[0] > _recall(b, g, k)[0] for r, b, g in zip(runs, base, golds))
    losses = sum(_recall(r, g, k)[0] < _recall(b, g, k)[0] for r, b, g in zip(runs, base, golds))
    return {"wins": wins, "losses": losses}


def run_multihop_eval(
    folder: str | Path,
    scout: Scout,
    *,
    operators: Sequence[str] | None = None,
    fills: Sequence[float] = (0.3,),
    hops: int = 2,
    oracle: bool = False,
    limit: int | None = None,
    log: Log = lambda _: None,
) -> dict[str, Any]:
    """all@K / recall@K (K = 10 and 5) for single-shot modes and each operator × merge, in one run."""
    dataset = load_dataset(folder)
    collection = index_dataset(scout, dataset, log)
    qids, questions, relevant = dataset.judged(limit)
    golds = [{d for d, g in rel.items() if g > 0} for rel in relevant]
    report: dict[str, Any] = {
        "dataset": dataset.name,
        "queries": len(qids),
        "corpus": len(dataset.corpus),
        "hops": hops,
        "results": {},
        "llm_calls": 0,
    }
    single: dict[str, list[list[str]]] = {}
    for k in (10, 5):
        for mode in ("dense", "lexical", "hybrid"):
            runs, times = [], []
            for q in questions:
                start = time.perf_counter()
                hits = scout.search(q, k, mode=mode, collection=collection)
                times.append((time.perf_counter() - start) * 1000)
                runs.append([h.id for h in hits])
            if k == 10:
                single[mode] = runs
                report["results"][mode] = _summary(runs, golds, times)
            else:
                row = _summary(runs, golds, None)
                report["results"][mode].update({"all@5": row["all@5"], "recall@5": row["recall@5"]})
    best_mode = max(single, key=lambda m: report["results"][m]["all@10"])
    report["best_single_shot"] = best_mode
    for name in operators or available_operators(scout):
        for fill in fills:
            label = f"hop:{name}:fill{fill}"
            log(f"{label} ...")
            rows: dict[int, list[list[str]]] = {}
            times = []
            for k in (10, 5):
                runs = []
                for q in questions:
                    start = time.perf_counter()
                    hits = scout.search(
                        q, k, collection=collection, hops=hops, hop_operator=name, hop_fill=fill
                    )
                    if k == 10:
                        times.append((time.perf_counter() - start) * 1000)
                    runs.append([h.id for h in hits])
                rows[k] = runs
            summary = _summary(rows[10], golds, times)
            small = _summary(rows[5], golds, None)
            summary.update({"all@5": small["all@5"], "recall@5": small["recall@5"]})
            summary["vs_best_single_shot"] = _paired(rows[10], single[best_mode], golds)
            report["results"][label] = summary
    if oracle:
        report["oracle"] = hop_oracle(
            scout, dataset, collection, operators or available_operators(scout), log
        )
    return report


def hop_oracle(
    scout: Scout, dataset: Dataset, collection: str, operators: Sequence[str], log: Log = lambda _: None
) -> dict[str, dict[str, float]]:
    """Given each gold passage, where does each operator's query put the question's other gold (MRR, hit@10)?

    The given passage is excluded from the ranking. ``query_alone`` searches with the question only."""
    chains_file = Path(dataset.folder) / "chains.jsonl"
    index = scout.engine.index(collection)
    log("oracle: loading corpus vectors ...")
    ids = index.ids()
    stored = index.get(ids, embeddings=True)
    matrix = np.stack([np.asarray(stored[i][2], dtype=np.float32) for i in ids])
    position = {doc_id: n for n, doc_id in enumerate(ids)}
    with open(chains_file, encoding="utf-8") as fh:
        chains = [json.loads(line) for line in fh]
    q_vecs = scout.embedder.embed_queries([c["question"] for c in chains])
    out: dict[str, dict[str, float]] = {}
    for name in ["query_alone", *operators]:
        op = None if name == "query_alone" else scout.engine.hop_operator(name)
        reciprocal, hits = [], []
        for chain, q_vec in zip(chains, q_vecs):
            gold = [s["corpus_id"] for s in chain["steps"] if s["corpus_id"] in position]
            for given in gold:
                others = set(gold) - {given}
                if not others:
                    continue
                text = stored[given][0]
                spec = op(HopInput(chain["question"], q_vec, text, matrix[position[given]])) if op else None
                vector = q_vec if spec is None else spec.vector
                if vector is not None:
                    scores = matrix @ vector
                    scores[position[given]] = -np.inf
                    ranked = [ids[i] for i in np.argsort(-scores)[:100]]
                else:  # a text-level operator's query
                    query = spec.text if spec is not None and spec.text else ""
                    ranked = [d for d, _ in index.lexical.search(query, 101) if d != given][:100]
                rank = next((r for r, d in enumerate(ranked) if d in others), None)
                reciprocal.append(0.0 if rank is None else 1.0 / (rank + 1))
                hits.append(float(rank is not None and rank < 10))
        out[name] = {"mrr": float(np.mean(reciprocal)), "hit@10": float(np.mean(hits)), "pairs": len(hits)}
    return out


def format_multihop(report: dict[str, Any]) -> str:
    """A readable table of :func:`run_multihop_eval`'s report."""
    lines = [
        (
            f"{report['dataset']}: {report['queries']} questions, {report['corpus']} paragraphs, "
            f"hops={report['hops']}, LLM calls {report['llm_calls']}"
        ),
        f"{'mode':<24}{'all@10':>8}{'rec@10':>8}{'all@5':>8}{'rec@5':>8}{'p50 ms':>8}  vs best single-shot",
    ]
    for mode, row in report["results"].items():
        paired = row.get("vs_best_single_shot")
        lines.append(
            f"{mode:<24}{100 * row['all@10']:>8.1f}{100 * row['recall@10']:>8.1f}{100 * row['all@5']:>8.1f}"
            f"{100 * row['recall@5']:>8.1f}{row.get('p50_ms', float('nan')):>8.1f}  "
            + (f"+{paired['wins']} / -{paired['losses']}" if paired else "")
        )
    if "oracle" in report:
        lines.append("oracle (given one gold passage, rank of the other gold): MRR, hit@10")
        for name, row in report["oracle"].items():
            lines.append(
                f"  {name:<14}{row['mrr']:>8.3f}{100 * row['hit@10']:>8.1f}   ({row['pairs']} pairs)"
            )
    return "\n".join(lines)
