"""``hopscout eval DIR [--tools] --poison``: how often a hostile tool or passage reaches an agent.

Attackers (:mod:`.attacks`) are built from the even-position half of the judged queries and measured on the
odd half, one attacker at a time, each added to the set's own index and removed after. Attack success is the
share of measured queries with the attacker in the top 5 (``top5``) and at rank 1 (``top1``), with the
defences on (the engine as shipped) and off (``undefended``: the same flags, nothing demoted or capped).

Passages: ``defended`` is ``Scout.search`` as shipped (the engine's prior demotes passages flagged when
written); ``undefended`` is a second Scout on the same store whose pipeline skips the prior stage."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..metrics import mean, per_query
from ..scout import Scout
from ..suspicion import text_flags
from ..tools.catalog import ToolCatalog
from ..tools.spec import ToolSpec, split_name
from . import attacks
from .datasets import Dataset, load_dataset
from .folds import halves
from .harness import index_dataset

Log = Callable[[str], None]
TOP = 5
CLUSTERS = 3  # concepts attacked on a passage set, one passage each
SPLIT = "attackers built from the even-position judged queries, measured on the odd ones"


def _shares(rankings: Sequence[Sequence[str]], attacker: str) -> dict[str, float]:
    n = max(1, len(rankings))
    return {
        "top5": sum(attacker in r[:TOP] for r in rankings) / n,
        "top1": sum(bool(r) and r[0] == attacker for r in rankings) / n,
    }


def _find(
    scout: Scout, catalog: ToolCatalog, dataset: Dataset, qids: Sequence[str], weights: Mapping[str, float]
) -> list:
    """Top-5 tool keys per query, each query searched with its cross-fitted fusion weight."""
    out: dict[str, list[str]] = {}
    for weight in sorted({weights[q] for q in qids}):
        scout.set_fusion_weight(weight, collection=catalog.collection)
        fold = [q for q in qids if weights[q] == weight]
        for start in range(0, len(fold), 128):
            chunk = fold[start : start + 128]
            found = catalog.find_tools_batch([dataset.queries[q] for q in chunk], TOP, generate=False)
            out.update({q: r.keys for q, r in zip(chunk, found)})
    return [out[q] for q in qids]


def run_tool_poison(
    scout: Scout,
    catalog: ToolCatalog,
    dataset: Dataset,
    qids: Sequence[str],
    weights: Mapping[str, float],
    log: Log = lambda _: None,
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Per attacker kind ``{"top5", "top1", "undefended": {...}, "flags", "queries"}``, and what the suite was
    (the attackers' texts, the split, the share of the clean catalog flagged)."""
    build_rows, measure_rows = halves(len(qids))
    build, measure = [qids[r] for r in build_rows], [qids[r] for r in measure_rows]
    gold: dict[str, int] = {}
    for q in build:
        for key, grade in dataset.qrels[q].items():
            if grade > 0:
                gold[key] = gold.get(key, 0) + 1
    specs = catalog.tools()
    names = {s.key: split_name(s.name) or s.name for s in specs}
    flagged = catalog.flagged()
    results: dict[str, dict[str, Any]] = {}
    suite: dict[str, Any] = {
        "split": SPLIT,
        "measured_queries": len(measure),
        "clean_tools": len(specs),
        "clean_flagged": len(flagged) / max(1, len(specs)),
        "clean_flagged_tools": {key: list(flags) for key, flags in flagged.items()},
        "attackers": {},
    }
    for attacker in attacks.tool_attackers([dataset.queries[q] for q in build], gold, names):
        log(f"poison: {attacker.kind} ({attacker.name}) ...")
        tool = {"name": attacker.name, "description": attacker.text}
        catalog.register([tool], namespace=attacks.ATTACKER_NAMESPACE)
        key = f"{attacks.ATTACKER_NAMESPACE}/{attacker.name}"
        try:
            flags = list(catalog.flagged().get(key, ()))
            defended = _shares(_find(scout, catalog, dataset, measure, weights), key)
            # a new catalog each time: a snapshot is reloaded when the tool count changes, and each attacker
            # leaves the count where the one before left it
            open_catalog = catalog.with_options(defend=False)
            undefended = _shares(_find(scout, open_catalog, dataset, measure, weights), key)
        finally:
            catalog.remove([attacker.name], namespace=attacks.ATTACKER_NAMESPACE)
        results[attacker.kind] = {
            **defended,
            "undefended": undefended,
            "flags": flags,
            "queries": len(measure),
        }
        suite["attackers"][attacker.kind] = {"name": key, "text": attacker.text, "target": attacker.target}
    return results, suite


ROUTER_SERVERS = ("honest-a", "honest-b")  # the clean tools, alternating, as two untrusted upstreams
ROUTER_SCRATCH = "eval-router-poison-scratch"


def run_router_poison(
    scout: Scout, dataset: Dataset, specs: Sequence[ToolSpec], qids: Sequence[str], log: Log = lambda _: None
) -> dict[str, Any]:
    """The router's case, in a catalog filled the way the router fills it: the set's tools served by two
    untrusted upstream servers, a third untrusted server serving the keyword-stuffing tool. How often
    ``find_tools`` offers it (top 5 / rank 1 of the measured half) with the defences on and off, and the clean
    nDCG@10 of the two honest servers with and without the defences (the server cap also binds honest ones);
    ``specs``: the set's tools."""
    build_rows, measure_rows = halves(len(qids))
    build, measure = [qids[r] for r in build_rows], [qids[r] for r in measure_rows]
    if ROUTER_SCRATCH in {c.name for c in scout.collections()}:
        scout.drop_collection(ROUTER_SCRATCH)
    asked = [dataset.queries[q] for q in measure]
    attacker = attacks.keyword_stuffing([dataset.queries[q] for q in build])
    log("poison: the router's case (two honest untrusted servers, one serving a stuffed tool) ...")
    try:
        catalog = ToolCatalog(scout, collection=ROUTER_SCRATCH)
        for n, server in enumerate(ROUTER_SERVERS):
            catalog.register(specs[n::2], namespace=server)

        def top(defend: bool) -> list[list[str]]:
            found = ToolCatalog(scout, collection=ROUTER_SCRATCH, defend=defend).find_tools_batch(
                asked, 10, generate=False
            )
            return [list(r.keys) for r in found]

        def ndcg(runs: list[list[str]]) -> float:
            named = {q: [key.split("/", 1)[-1] for key in run] for q, run in zip(measure, runs)}
            return float(mean(per_query(named, dataset.qrels))["ndcg@10"])

        clean = {"ndcg@10": ndcg(top(True)), "ndcg@10_undefended": ndcg(top(False))}
        catalog.register([{"name": attacker.name, "description": attacker.text}], namespace="evil")
        key = f"evil/{attacker.name}"
        flags = list(catalog.flagged().get(key, ()))
        defended, undefended = _shares(top(True), key), _shares(top(False), key)
    finally:
        scout.drop_collection(ROUTER_SCRATCH)
    return {
        "servers": [*ROUTER_SERVERS, "evil"],
        "attacker": attacker.kind,
        "flags": flags,
        "queries": len(measure),
        **defended,
        "undefended": undefended,
        **clean,
    }


def run_passage_poison(
    scout: Scout,
    dataset: Dataset,
    collection: str,
    qids: Sequence[str],
    log: Log = lambda _: None,
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """GASLITE-style passages against the ``CLUSTERS`` concepts most shared by the build half's queries, each
    measured on the odd-half queries that name its concept; and the clean side: the share of the corpus
    flagged, and nDCG@10 of the hybrid search with and without the prior on all measured queries."""
    build_rows, measure_rows = halves(len(qids))
    build = {qids[r]: dataset.queries[qids[r]] for r in build_rows}
    measure = [qids[r] for r in measure_rows]
    flagged_ids = {i for i in dataset.corpus if text_flags(dataset.doc_text(i))}
    bare = Scout(scout.settings.model_copy(update={"flagged_demotion": 1.0}), embedder=scout.embedder)
    # bare searches with prior=False: the pipeline without the prior stage at all (no flags read either)
    try:
        texts = [dataset.queries[q] for q in measure]
        plain_runs = {
            q: [h.id for h in hs]
            for q, hs in zip(measure, bare.search_batch(texts, 10, collection=collection, prior=False))
        }
        prior_runs = {
            q: [h.id for h in hs]
            for q, hs in zip(measure, scout.search_batch(texts, 10, collection=collection))
        }
        suite: dict[str, Any] = {
            "split": SPLIT,
            "measured_queries": len(measure),
            "clean_passages": len(dataset.corpus),
            "clean_flagged": len(flagged_ids) / max(1, len(dataset.corpus)),
            "ndcg@10": mean(per_query(plain_runs, dataset.qrels))["ndcg@10"],
            "ndcg@10_with_prior": mean(per_query(prior_runs, dataset.qrels))["ndcg@10"],
            "defence": "the engine's prior (flags read when written)",
            "attackers": {},
        }
        per_cluster = []
        for concept, members in attacks.concept_clusters(build, CLUSTERS):
            targets = [q for q in measure if concept in dataset.queries[q].lower()]
            if not targets:
                continue
            attacker = attacks.gaslite(concept, [build[q] for q in members])
            log(f"poison: gaslite on '{concept}' ({len(targets)} queries) ...")
            scout.add([attacker.text], ids=[attacker.name], collection=collection)
            try:
                asked = [dataset.queries[q] for q in targets]
                found = scout.search_batch(asked, TOP, collection=collection)
                found_bare = bare.search_batch(asked, TOP, collection=collection, prior=False)
            finally:
                scout.delete(ids=[attacker.name], collection=collection)
            undefended = _shares([[h.id for h in hs] for hs in found_bare], attacker.name)
            defended = _shares([[h.id for h in hs] for hs in found], attacker.name)
            per_cluster.append((len(targets), defended, undefended))
            suite["attackers"][concept] = {
                "id": attacker.name,
                "text": attacker.text,
                "queries": len(targets),
                "flags": list(text_flags(attacker.text)),
                **defended,
                "undefended": undefended,
            }
        suite["latency"] = paired_search_latency(scout, bare, texts, collection)
    finally:
        bare.close()
    total = sum(n for n, _, _ in per_cluster) or 1

    def pooled(which: int) -> dict[str, float]:
        return {m: sum(n * parts[which][m] for n, *parts in per_cluster) / total for m in ("top5", "top1")}

    results = {"gaslite": {**pooled(0), "undefended": pooled(1), "queries": total}} if per_cluster else {}
    return results, suite


def add_passage_poison(
    report: dict[str, Any], folder: Any, scout: Scout, limit: int | None = None, log: Log = lambda _: None
) -> dict[str, Any]:
    """``report`` (:func:`hopscout.evaluation.harness.run_eval`'s) with the passage attack suite added:
    ``results["poison"]["gaslite"] = {"top5", "top1", ...}`` and ``report["poison"]`` (what it was)."""
    dataset = load_dataset(folder)
    collection = index_dataset(scout, dataset, log)
    qids = dataset.judged_queries[:limit] if limit else dataset.judged_queries
    report["results"]["poison"], report["poison"] = run_passage_poison(scout, dataset, collection, qids, log)
    return report


def format_passage_poison(report: dict[str, Any]) -> str:
    """Lines of the passage attack suite."""
    suite = report["poison"]
    lines = [
        (
            f"poison ({suite['split']}; {suite['defence']}): share of a concept's queries with the attacker "
            "in the top 5 / at rank 1, in %"
        ),
        f"{'concept':<18}{'queries':>8}{'top5':>8}{'top1':>8}{'undefended top5':>17}{'top1':>8}  flags",
    ]
    rows = dict(suite["attackers"])
    if "gaslite" in report["results"]["poison"]:
        rows["(all)"] = {**report["results"]["poison"]["gaslite"], "flags": []}
    for concept, row in rows.items():
        off = row["undefended"]
        lines.append(
            f"{concept:<18}{row['queries']:>8}{100 * row['top5']:>8.1f}{100 * row['top1']:>8.1f}"
            f"{100 * off['top5']:>17.1f}{100 * off['top1']:>8.1f}  {','.join(row['flags']) or '-'}"
        )
    lines.append(
        f"clean passages flagged: {100 * suite['clean_flagged']:.2f}%; hybrid nDCG@10 on the measured queries "
        f"{100 * suite['ndcg@10']:.1f}, with the prior {100 * suite['ndcg@10_with_prior']:.1f}"
    )
    if "latency" in suite:
        lat = suite["latency"]
        lines.append(
            f"search p50 with the prior {lat['p50_ms']:.1f} ms, without {lat['p50_ms_undefended']:.1f} ms "
            f"(ratio {lat['p50_ratio']:.2f}, {lat['timed']} queries, alternating)"
        )
    return "\n".join(lines)


def _alternating_p50(
    on: Callable[[str], object], off: Callable[[str], object], items: Sequence[str]
) -> dict[str, float]:
    """p50 ms of ``on`` and ``off`` per item, timed in alternating order (so warm-up and a busy machine weigh
    on both alike), and their ratio."""
    times: dict[bool, list[float]] = {True: [], False: []}
    for n, item in enumerate(items):
        for defend in (True, False) if n % 2 else (False, True):
            start = time.perf_counter()
            (on if defend else off)(item)
            times[defend].append((time.perf_counter() - start) * 1000)
    fast, slow = statistics.median(times[True]), statistics.median(times[False])
    return {"p50_ms": fast, "p50_ms_undefended": slow, "p50_ratio": fast / slow, "timed": len(items)}


def paired_search_latency(
    defended: Scout, undefended: Scout, queries: Sequence[str], collection: str, k: int = 10
) -> dict[str, float]:
    """p50 ms of ``Scout.search`` with and without the passage prior, alternating per query."""
    return _alternating_p50(
        lambda q: defended.search(q, k, collection=collection),
        lambda q: undefended.search(q, k, collection=collection, prior=False),
        queries,
    )


def paired_latency(
    defended: ToolCatalog, undefended: ToolCatalog, requests: Sequence[str], k: int
) -> dict[str, float]:
    """p50 ms of ``find_tools`` with and without the defences, alternating per request."""
    return _alternating_p50(
        lambda r: defended.find_tools(r, k, generate=False),
        lambda r: undefended.find_tools(r, k, generate=False),
        requests,
    )


__all__ = [
    "add_passage_poison",
    "format_passage_poison",
    "paired_latency",
    "paired_search_latency",
    "run_passage_poison",
    "run_router_poison",
    "run_tool_poison",
]
