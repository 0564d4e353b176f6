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

from ..engine import Engine
from ..hop import OPERATORS, HopInput, HopQuery
from ..hop.stage import reciprocal_rank_fusion
from ..scout import Scout, engine_of
from ..settings import SEARCH_MODES
from .datasets import Dataset, load_dataset
from .harness import index_dataset

Log = Callable[[str], None]


def available_operators(engine: Engine) -> list[str]:
    """Every operator that can run with this embedder (trained ones need weights for it)."""
    return [
        name for name, spec in OPERATORS.items() if spec.available(engine.embedder.id, engine.settings.home)
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
    lowercase: bool = False,
    log: Log = lambda _: None,
) -> dict[str, Any]:
    """all@K / recall@K (K = 10 and 5) for single-shot modes and each operator × merge, in one run
    (``lowercase``: on a lower-cased copy of the set)."""
    engine = engine_of(scout)
    operators = list(operators or available_operators(engine))
    dataset = load_dataset(folder, lowercase=lowercase)
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
        for mode in SEARCH_MODES:
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
    if any(OPERATORS[name].phrases for name in operators):
        report["phrase_cost"] = phrase_cost(engine, collection, log)
    for name in operators:
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
        report["oracle"] = hop_oracle(engine, dataset, collection, operators, log)
    return report


def phrase_cost(
    engine: Engine, collection: str, log: Log = lambda _: None, sample: int = 500
) -> dict[str, float]:
    """What the key phrases cost at index time: encode time on ``sample`` passages as a ratio to writing them
    without phrases, and bytes stored per passage beside the passage's own vector and text. Also makes the
    phrases of any passage of ``collection`` that lacks them, so no search below pays for that."""
    index = engine.index(collection)
    ids = index.ids()
    stored = index.get(ids)
    log(f"key phrases for {len(ids)} passages ...")
    engine.phrases(index).lookup(stored)
    texts = [stored[i].text for i in ids[:sample]]
    scratch = engine.index("eval-phrase-cost-scratch", create=True)
    try:
        engine.embedder.embed_documents(texts[:4])  # warm up
        start = time.perf_counter()
        engine.write(scratch, ids[:sample], texts, [{}] * len(texts), phrases=False)
        plain = time.perf_counter() - start
        start = time.perf_counter()
        engine.phrases(scratch).add(ids[:sample], texts, ["-"] * len(texts))
        extra = time.perf_counter() - start
        table = engine.phrases(scratch).table
        phrases, blob = table.sizes()
    finally:
        engine.drop(scratch.name)
    own = sum(len(t.encode()) for t in texts) / len(texts) + 4 * engine.embedder.dim
    return {
        "passages": len(texts),
        "write_s": plain,
        "phrases_s": extra,
        "time_ratio": extra / plain,
        "bytes_per_passage": (phrases + blob) / len(texts),
        "passage_bytes": own,
        "bytes_ratio": (phrases + blob) / len(texts) / own,
    }


def hop_oracle(
    engine: Engine, dataset: Dataset, collection: str, operators: Sequence[str], log: Log = lambda _: None
) -> dict[str, dict[str, float]]:
    """Given each gold passage, where does each operator's query put the question's other gold (MRR, hit@10)?

    The given passage is excluded from the ranking. ``query_alone`` searches with the question only."""
    chains_file = Path(dataset.folder) / "chains.jsonl"
    index = engine.index(collection)
    log("oracle: loading corpus vectors ...")
    ids = index.ids()
    stored = index.get(ids, embeddings=True)
    matrix = np.stack([np.asarray(stored[i].embedding, dtype=np.float32) for i in ids])
    position = {doc_id: n for n, doc_id in enumerate(ids)}
    with open(chains_file, encoding="utf-8") as fh:
        chains = [json.loads(line) for line in fh]
    question = (lambda c: c["question"].lower()) if dataset.lowercase else (lambda c: c["question"])
    q_vecs = engine.embedder.embed_queries([question(c) for c in chains])
    out: dict[str, dict[str, float]] = {}
    for name in ["query_alone", *operators]:
        op = None if name == "query_alone" else engine.hop_operator(name)
        phrases = engine.phrases(index) if name != "query_alone" and OPERATORS[name].phrases else None
        reciprocal, hits = [], []
        for chain, q_vec in zip(chains, q_vecs):
            gold = [s["corpus_id"] for s in chain["steps"] if s["corpus_id"] in position]
            for given in gold:
                others = set(gold) - {given}
                if not others:
                    continue
                doc = stored[given]
                found = phrases.lookup({given: doc}).get(given) if phrases else None
                names, vectors = (found.phrases, found.vectors) if found else ([], None)
                inp = HopInput(
                    question(chain), q_vec, doc.text, matrix[position[given]], tuple(names), vectors
                )
                spec = op(inp) if op else HopQuery(vector=q_vec)
                lists = []
                if spec.vector is not None:  # a passage scores its best match over the query vectors
                    scores = (matrix @ np.atleast_2d(spec.vector).T).max(axis=1)
                    scores[position[given]] = -np.inf
                    lists.append([(ids[i], float(scores[i])) for i in np.argsort(-scores)[:100]])
                if spec.text:
                    lists.append(
                        [(d, s) for d, s in index.lexical_search(spec.text, 101) if d != given][:100]
                    )
                ranked = [d for d, _ in (lists[0] if len(lists) == 1 else reciprocal_rank_fusion(lists, 100))]
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
    if "phrase_cost" in report:
        cost = report["phrase_cost"]
        lines.append(
            f"key phrases at index time ({cost['passages']} passages): encode {cost['phrases_s']:.1f} s = "
            f"{cost['time_ratio']:.2f}x the plain write ({cost['write_s']:.1f} s); {cost['bytes_per_passage']:.0f} "
            f"bytes per passage = {cost['bytes_ratio']:.2f}x its vector and text"
        )
    if "oracle" in report:
        lines.append("oracle (given one gold passage, rank of the other gold): MRR, hit@10")
        for name, row in report["oracle"].items():
            lines.append(
                f"  {name:<14}{row['mrr']:>8.3f}{100 * row['hit@10']:>8.1f}   ({row['pairs']} pairs)"
            )
    return "\n".join(lines)
