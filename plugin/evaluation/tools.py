"""``hopscout eval tools DIR``: tool retrieval through :class:`ToolCatalog.find_tools`, beside dense and BM25
baselines over the same tool documents, in one run.

The corpus (one tool per entry) is registered once into ``evaltools-<corpus hash>`` in the eval store and
reused, so sets sharing a corpus (Seal-Tools in/out of domain) share one index. The catalog's hybrid weight is
cross-fitted: queries are split by position (even / odd), each half is searched with the weight fitted on the
other half (stored on the collection, as ``hopscout calibrate`` would), so no query is scored with a weight
fitted on itself. Rows:

- ``dense`` / ``bm25`` / ``hybrid``: the raw request through the core's search over the tool documents (one
  retriever, or the cross-fitted fusion): the baselines;
- ``find_tools``: the LLM-free catalog path (raw request + its own steps, name match, calibrated fusion);
- ``find_tools+views`` (``--views``): the same over a catalog whose tools also carry the recorded views;
- ``+expansion`` (``--expand``): over a catalog whose tools carry views hopscout's LLM wrote;
- ``+generated`` (``--llm``): LLM-written queries beside the raw request, on the first ``llm_limit`` queries,
  with ``find_tools`` on the same queries (``find_tools@llm``) for comparison;
- ``+caller`` (``--caller-queries``): queries given per query id in a JSONL file, beside the raw request, on the
  queries that have them, with each input alone on the same queries: ``raw@caller`` (the request alone) and
  ``caller_only`` (the queries alone, max-fused), and ``find_tools@caller``; ``+caller+views`` (and its
  ``raw+views@caller``, ``caller_only+views``) over the views catalog when ``--views`` is given too;
- ``find_tools_undefended`` (``--poison``): ``find_tools`` with its defences against hostile tools off, for
  their cost on clean requests; ``results["poison"][family] = {"top5", "top1", "flagged", ...}``: the attack
  suite (:mod:`.poison_eval`), and ``results["clean_flagged"]``: the share of the set's own tools flagged.

``extra_tools`` (``--extra-tools DIR``, repeatable) registers other sets' tools beside the set's own, as honest
servers the way a router would (untrusted, each tool under its server's namespace: ``metadata.server``, else
the folder's name), into a catalog of their own (``evaltools-<hash>-e<hash>``); every row then searches the
larger catalog, and the set's own queries and judgements are unchanged.

``pool`` (``--pool DIR``, repeatable) adds other sets' tools the same way (:func:`register_tool_sets`) and reports
each core row (dense, bm25, hybrid, find_tools) twice in one run: pooled under today's keys, and in
``results["alone"]`` on the set's catalog without the pool, each with ``hit@5``, beside ``find_tools:any`` (an entry
relevant when its first member or any of its ``alternatives`` is gold: :mod:`.pooled`). Gold is the set's own
judgements only: a pooled tool (``server/name``) is never gold, even a copy of a gold tool. ``names``
(``--names``): ``results["names"]`` (:mod:`.names_eval`), each tool of the catalog searched asked for by name."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import fusion
from ..calibration import WEIGHT_GRID
from ..errors import InvalidToolError, UnreadableFileError
from ..keys import TOOL_VIEW
from ..llm import LLM
from ..metrics import hits, mean, per_query
from ..retrieval import SearchOptions
from ..scout import Scout, engine_of
from ..settings import SearchMode
from ..tools.catalog import ToolCatalog
from ..tools.corpus import corpus_servers, parse_text
from ..tools.documents import VIEW_TOOL
from ..tools.spec import ToolSpec, to_spec
from ..untrusted import shown
from .attacks import VARIANTS
from .datasets import Dataset, load_dataset
from .folds import SPLIT, cross_fit
from .names_eval import run_name_eval
from .poison_eval import (
    HeldOut,
    RememberingEmbedder,
    data_root,
    paired_latency,
    run_router_poison,
    run_tool_poison,
)
from .pooled import any_member_run

_log = logging.getLogger("hopscout.evaluation")
Log = Callable[[str], None]
COLUMNS = ("ndcg@10", "recall@5", "all@5", "all@10", "multi_all@10", "llm_calls", "p50_ms")


def dataset_specs(dataset: Dataset) -> list[ToolSpec]:
    """Tool specs from a BEIR-like tool set: the tool JSON in ``metadata.schema`` (any shape :func:`to_spec`
    reads), MetaTool's ``metadata.description``, or the text layout ``name / description / Parameters: - p
    (type, required): desc``. The corpus id is the tool's name. A tool no catalog would take (InvalidToolError:
    an empty or unusable name, an over-long description) is left out with a warning, as ``register`` skips it;
    the rest of the set is read."""
    specs = []
    for doc_id, doc in dataset.corpus.items():
        meta = doc.get("metadata") or {}
        schema = meta.get("schema")
        try:
            if isinstance(schema, Mapping):
                specs.append(to_spec({**schema, "name": doc_id}))
            elif isinstance(meta.get("description"), str):
                specs.append(to_spec({"name": doc_id, "description": meta["description"]}))
            else:
                specs.append(to_spec({"name": doc_id, **parse_text(doc.get("text") or "", doc_id)}))
        except InvalidToolError as exc:
            _log.warning("%s: tool %s left out: %s", dataset.name, shown(doc_id), exc)
    return specs


def catalog_collection(dataset: Dataset, suffix: str = "") -> str:
    return f"evaltools-{dataset.fingerprint}{suffix}"


def extra_tool_servers(folder: str | Path) -> dict[str, list[dict[str, Any]]]:
    """The tools of a tool set's ``corpus.jsonl`` (no queries needed), by server
    (:func:`hopscout.tools.corpus.corpus_servers`)."""
    return corpus_servers(folder)


def _extra_suffix(folders: Sequence[str | Path]) -> str:
    digest = hashlib.sha256()
    for folder in folders:
        digest.update((Path(folder) / "corpus.jsonl").read_bytes())
    return f"-e{digest.hexdigest()[:8]}"


def load_caller_queries(path: str | Path) -> dict[str, list[str]]:
    """``{"_id": qid, "queries": [...]}`` per line → ``{qid: queries}``."""
    return _load_lists(path, "queries")


def load_views(path: str | Path) -> dict[str, list[str]]:
    """Recorded views as they are, ``{"_id": tool, "requests": [...]}`` per line → ``{tool: requests}``."""
    return _load_lists(path, "requests")


def _load_lists(path: str | Path, field: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UnreadableFileError(f"cannot read {path}: {exc}") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out[str(row["_id"])] = [str(q) for q in row[field] if str(q).strip()]
        except (ValueError, KeyError, TypeError) as exc:
            raise UnreadableFileError(
                f'{path}:{n}: expected {{"_id": ..., "{field}": [...]}}: {exc}'
            ) from exc
    return out


def _fit(
    scout: Scout,
    collection: str,
    queries: Sequence[str],
    relevant: Sequence[Mapping[str, int]],
    rows: Sequence[int],
    keys: Mapping[str, str],
) -> float:
    """The grid weight with the best nDCG@10 on ``rows`` (raw request, views collapsed to tools)."""
    n = scout.settings.candidates
    picked = [queries[r] for r in rows]
    dense = _search(scout, picked, n, mode="dense", collection=collection)
    lexical = _search(scout, picked, n, mode="lexical", collection=collection)
    qrels = {str(r): dict(relevant[r]) for r in rows}
    table = {}
    for weight in WEIGHT_GRID:
        run = {}
        for r, d, lx in zip(rows, dense, lexical):
            fused = fusion.convex(
                {h.id: h.scores["dense"] for h in d}, {h.id: h.scores["lexical"] for h in lx}, weight
            )
            ranked: list[str] = []
            for doc_id, _ in fused:
                key = keys.get(doc_id, doc_id.split("#")[0])
                if key not in ranked:
                    ranked.append(key)
                if len(ranked) == 10:
                    break
            run[str(r)] = ranked
        table[weight] = mean(per_query(run, qrels))["ndcg@10"]
    return max(table, key=lambda w: (round(table[w], 6), -abs(w - 0.5)))


def _search(scout: Scout, queries: Sequence[str], k: int, **options: Any) -> list[list[Any]]:
    """The core's search over the catalog's tool documents: through the engine, since ``Scout.search`` refuses a
    tool catalog's collection (the same pipeline and results)."""
    # never augmented: an LLM configured in the environment (HOPSCOUT_LLM_BASE_URL) would make `auto` the default
    return engine_of(scout).search(queries, SearchOptions.build(k, {"augment": "never", **options}))


def _row(
    runs: Mapping[str, Sequence[str]],
    dataset: Dataset,
    times: Sequence[float] | None = None,
    llm_calls: int | None = None,
    hit5: bool = False,
) -> dict[str, Any]:
    scores = per_query(runs, dataset.qrels)
    row: dict[str, Any] = {
        m: v for m, v in mean(scores).items() if m in ("ndcg@10", "recall@5", "all@5", "all@10")
    }
    if hit5:
        row["hit@5"] = statistics.fmean(hits(runs, dataset.qrels, 5).values()) if scores else 0.0
    multi = [q for q in scores if sum(1 for g in dataset.qrels[q].values() if g > 0) >= 2]
    row["multi_all@10"] = statistics.fmean(scores[q]["all@10"] for q in multi) if multi else None
    row["multi_queries"] = len(multi)
    row["queries"] = len(scores)
    if times:
        row["p50_ms"] = statistics.median(times)
    if llm_calls is not None:
        row["llm_calls"] = llm_calls
    return row


def _index_catalog(
    scout: Scout,
    dataset: Dataset,
    collection: str,
    llm: LLM | None,
    expand: bool,
    log: Log,
    views: Mapping[str, Sequence[str]] | None = None,
    extra: Sequence[str | Path] = (),
) -> ToolCatalog:
    catalog = ToolCatalog(scout, collection=collection, llm=llm)
    specs = dataset_specs(dataset)
    log(
        f"registering {len(specs)} tools into {collection}{' with expansion' if expand else ''} (a no-op when indexed) ..."
    )
    names = {s.name for s in specs}
    report = catalog.register(
        specs, expand=expand, views={t: v for t, v in (views or {}).items() if t in names} or None
    )
    if report.note:
        log(f"note: {report.note}")
    register_tool_sets(catalog, extra, log)
    return catalog


def register_tool_sets(catalog: ToolCatalog, folders: Sequence[str | Path], log: Log = lambda _: None) -> int:
    """Register other tool sets' tools (:func:`extra_tool_servers`) into ``catalog`` as a router would: each
    server's tools under its namespace, untrusted (the catalog's default), so that a name two sets share stays
    two tools. Returns how many tools were offered (a no-op for those already registered)."""
    offered = 0
    for folder in folders:
        servers = extra_tool_servers(folder)
        count = sum(map(len, servers.values()))
        log(f"registering {count} tools of {len(servers)} servers from {folder} ...")
        for server, tools in servers.items():
            catalog.register(tools, namespace=server)
        offered += count
    return offered


def _run_find(
    scout: Scout,
    catalog: ToolCatalog,
    qids: Sequence[str],
    dataset: Dataset,
    weights: Mapping[str, float],
    k: int,
    timed: int = 20,
    queries: Callable[[str], list[str]] | None = None,
    entries: dict[str, list[tuple[str, ...]]] | None = None,
    **kwargs: Any,
) -> tuple[dict[str, list[str]], list[float], list[str | None]]:
    """Rankings through ``find_tools_batch`` (per fold weight, in chunks); the first ``timed`` queries are
    run one at a time through ``find_tools`` first, for latency (LLM calls included when not cached).
    ``entries``, when given, receives each ranking's entries as (first member, *alternatives) keys."""
    times = []
    catalog.wait_measured()  # the catalog as written, measured: a large one is measured in the background
    for qid in qids[:timed]:
        scout.set_fusion_weight(weights[qid], collection=catalog.collection)
        start_t = time.perf_counter()
        catalog.find_tools(dataset.queries[qid], k, queries(qid) if queries else None, **kwargs)
        times.append((time.perf_counter() - start_t) * 1000)
    catalog.wait_measured()
    runs, notes = {}, []
    for weight in sorted(set(weights.values())):
        scout.set_fusion_weight(weight, collection=catalog.collection)
        fold = [q for q in qids if weights[q] == weight]
        for start in range(0, len(fold), 128):
            chunk = fold[start : start + 128]
            given = [queries(q) for q in chunk] if queries else None
            for qid, result in zip(
                chunk, catalog.find_tools_batch([dataset.queries[q] for q in chunk], k, given, **kwargs)
            ):
                runs[qid] = result.keys
                notes.append(result.note)
                if entries is not None:
                    entries[qid] = [(h.key, *(a.key for a in h.alternatives)) for h in result.hits]
            catalog.wait_measured()  # a hubness re-measure the chunk started: in force for the next, not by timing
    return runs, times, notes


def _queries_alone(
    scout: Scout,
    catalog: ToolCatalog,
    qids: Sequence[str],
    given: Mapping[str, list[str]],
    weights: Mapping[str, float],
    k: int,
) -> dict[str, list[str]]:
    """Each query's caller queries searched without the request: each alone, the tool lists max-fused."""
    runs = {}
    for weight in sorted(set(weights.values())):
        scout.set_fusion_weight(weight, collection=catalog.collection)
        fold = [q for q in qids if weights[q] == weight]
        texts = [t for q in fold for t in given[q][:7]]
        found = dict(zip(texts, catalog.find_tools_batch(texts, 4 * k, [[] for _ in texts]))) if texts else {}
        for q in fold:
            best: dict[str, float] = {}
            for t in given[q][:7]:
                for hit in found[t].hits:
                    best[hit.key] = max(best.get(hit.key, float("-inf")), hit.score)
            runs[q] = sorted(best, key=lambda key: (-best[key], key))[:k]
    return runs


def _digest(views: Mapping[str, list[str]]) -> str:
    return hashlib.sha256(json.dumps(views, sort_keys=True).encode()).hexdigest()[:8]


def _fold_weights(
    scout: Scout, collection: str, dataset: Dataset, qids: Sequence[str]
) -> tuple[dict[str, float], list[float]]:
    queries = [dataset.queries[q] for q in qids]
    relevant = [dataset.qrels[q] for q in qids]
    fits, (for_even, for_odd) = cross_fit(
        len(qids), lambda rows: _fit(scout, collection, queries, relevant, rows, {})
    )
    return dict(zip(qids, fits)), [for_even, for_odd]


def _core_rows(
    scout: Scout,
    catalog: ToolCatalog,
    dataset: Dataset,
    qids: Sequence[str],
    k: int,
    log: Log,
    pooled: bool = False,
) -> tuple[dict[str, dict[str, Any]], dict[str, float], list[float], dict[str, list[str]]]:
    """The rows every run has (dense, bm25, hybrid, find_tools) on ``catalog``, with the per-query weights, the
    two fold weights and find_tools' rankings. ``pooled``: add ``hit@5`` to each row and ``find_tools:any`` (an
    entry relevant when its first member or any of its alternatives is gold)."""
    collection = catalog.collection
    results: dict[str, dict[str, Any]] = {}
    raw = [dataset.queries[q] for q in qids]
    baselines: tuple[tuple[SearchMode, str], ...] = (("dense", "dense"), ("lexical", "bm25"))
    for mode, label in baselines:
        log(f"baseline {label} ...")
        start = time.perf_counter()
        found = _search(scout, raw, k, mode=mode, where={TOOL_VIEW: VIEW_TOOL}, collection=collection)
        per_ms = (time.perf_counter() - start) * 1000 / max(1, len(raw))
        results[label] = _row({q: [h.id for h in hs] for q, hs in zip(qids, found)}, dataset, hit5=pooled)
        results[label]["mean_ms_batched"] = per_ms
    log("fitting the catalog's hybrid weight (2-fold cross-fitting) ...")
    weights, fold = _fold_weights(scout, collection, dataset, qids)
    log("hybrid (raw request only) ...")
    plain, times = {}, []
    for qid in qids:
        start = time.perf_counter()
        (top,) = _search(
            scout,
            [dataset.queries[qid]],
            k,
            where={TOOL_VIEW: VIEW_TOOL},
            collection=collection,
            fusion_weight=weights[qid],
        )
        times.append((time.perf_counter() - start) * 1000)
        plain[qid] = [h.id for h in top]
    results["hybrid"] = _row(plain, dataset, times, hit5=pooled)
    log("find_tools (no LLM) ...")
    entries: dict[str, list[tuple[str, ...]]] = {}
    runs, times, _ = _run_find(scout, catalog, qids, dataset, weights, k, entries=entries, generate=False)
    results["find_tools"] = _row(runs, dataset, times, 0, hit5=pooled)
    if pooled:
        results["find_tools:any"] = _row(any_member_run(entries, dataset.qrels), dataset, None, 0, hit5=True)
    return results, weights, fold, runs


def run_tool_eval(
    folder: str | Path,
    scout: Scout,
    *,
    llm: LLM | None = None,
    expand: bool = False,
    expand_llm: LLM | None = None,
    caller_queries: str | Path | None = None,
    views: str | Path | None = None,
    limit: int | None = None,
    llm_limit: int | None = 100,
    k: int = 10,
    poison: bool = False,
    extra_tools: Sequence[str | Path] = (),
    pool: Sequence[str | Path] = (),
    names: bool = False,
    poison_variants: int = VARIANTS,
    log: Log = lambda _: None,
) -> dict[str, Any]:
    """Evaluate tool retrieval on the set in ``folder``; returns the JSON-ready report. ``poison``: add the
    attack suite (``results["poison"]``, ``results["clean_flagged"]``) and find_tools without its defences
    (``find_tools_undefended``), ``poison_variants`` per family. ``extra_tools``: tool sets registered beside the
    set's own, as honest servers. ``pool``: tool sets added the same way, with every row measured on the pool
    (``hit@5`` added, and ``find_tools:any``) and on the set without the pool (``results["alone"]``). ``names``:
    ``results["names"]`` (:mod:`.names_eval`) on the catalog searched (the pool's, with ``pool``), at most
    ``limit`` tools asked."""
    dataset = load_dataset(folder)
    qids = dataset.judged_queries[:limit] if limit else dataset.judged_queries
    alone = None  # the catalog without the pool: the figures the pool is compared with
    if pool:
        alone_suffix = _extra_suffix(extra_tools) if extra_tools else ""
        alone = _index_catalog(
            scout, dataset, catalog_collection(dataset, alone_suffix), None, False, log, extra=extra_tools
        )
    added = [*extra_tools, *pool]
    collection = catalog_collection(dataset, _extra_suffix(added) if added else "")
    catalog = _index_catalog(scout, dataset, collection, None, False, log, extra=added)
    report: dict[str, Any] = {
        "dataset": dataset.name,
        "queries": len(qids),
        "corpus": len(dataset.corpus),
        "embedder": scout.embedder.id,
        "collection": collection,
        "results": {},
    }
    if extra_tools:
        report["extra_tools"] = {
            "sets": [str(f) for f in extra_tools],
            "tools": len(alone if alone is not None else catalog) - len(dataset.corpus),
        }
    if alone is not None:
        report["pool"] = {"sets": [str(f) for f in pool], "tools": len(catalog) - len(alone)}
    results = report["results"]
    raw = [dataset.queries[q] for q in qids]
    pooled = alone is not None
    row = functools.partial(_row, hit5=pooled)
    if alone is not None:
        log(f"the set alone ({alone.collection}) ...")
        results["alone"], _, alone_fold, _ = _core_rows(scout, alone, dataset, qids, k, log, pooled)
        report["alone"] = {"collection": alone.collection, "tools": len(alone), "fold_weights": alone_fold}
        log(f"the set pooled ({collection}, {len(catalog)} tools) ...")
    core, weights, fold, runs = _core_rows(scout, catalog, dataset, qids, k, log, pooled)
    results.update(core)
    report["fusion"] = {"split": SPLIT, "fold_weights": fold}
    if names:
        log(f"names: each tool asked for by its exact and a partial name ({collection}) ...")
        # a name request is none of the set's queries: any fitted weight is fair; the even rows' one, named here
        scout.set_fusion_weight(fold[0], collection=collection)
        results["names"] = {**run_name_eval(catalog, limit=limit, k=k), "fusion_weight": fold[0]}
    if poison:
        log("find_tools without defences ...")
        open_catalog = catalog.with_options(defend=False)
        oruns, _, _ = _run_find(scout, open_catalog, qids, dataset, weights, k, timed=0, generate=False)
        results["find_tools_undefended"] = row(oruns, dataset, None, 0)
        own = [s.key for s in dataset_specs(dataset)]
        held_out = HeldOut(data_root(folder), scout.settings.home / "order_detectors")
        remembering = Scout(scout.settings, embedder=RememberingEmbedder(scout.embedder))
        try:
            results["poison"], report["poison"] = run_tool_poison(
                remembering,
                ToolCatalog(remembering, collection=collection),
                dataset,
                qids,
                weights,
                log,
                own,
                held_out,
                poison_variants,
            )
        finally:
            remembering.close()
        results["clean_flagged"] = report["poison"]["clean_flagged"]
        log("find_tools latency with and without defences (paired) ...")
        report["poison"]["latency"] = paired_latency(catalog, open_catalog, raw[:60], k)
        report["poison"]["router"] = run_router_poison(scout, dataset, dataset_specs(dataset), qids, log)

    if llm is not None:
        sub = qids[:llm_limit] if llm_limit else qids
        sub_weights = {q: weights[q] for q in sub}
        results["find_tools@llm"] = row({q: runs[q] for q in sub}, dataset, None, 0)
        log(f"+generated queries on {len(sub)} queries ...")
        calls = getattr(llm, "calls", 0)
        gruns, gtimes, notes = _run_find(
            scout,
            ToolCatalog(scout, collection=collection, llm=llm),
            sub,
            dataset,
            sub_weights,
            k,
            generate=True,
        )
        results["+generated"] = row(gruns, dataset, gtimes, getattr(llm, "calls", 0) - calls)
        results["+generated"]["fallbacks"] = sum(1 for n in notes if n)
    if expand:
        xllm = expand_llm or llm
        xcollection = catalog_collection(dataset, "-x")
        calls = getattr(xllm, "calls", 0)
        xcatalog = _index_catalog(scout, dataset, xcollection, xllm, True, log)
        index_calls = getattr(xllm, "calls", 0) - calls
        xweights, xfold = _fold_weights(scout, xcollection, dataset, qids)
        log("+expansion ...")
        xruns, xtimes, _ = _run_find(scout, xcatalog, qids, dataset, xweights, k, generate=False)
        results["+expansion"] = row(xruns, dataset, xtimes, 0)
        results["+expansion"]["index_llm_calls"] = index_calls
        results["+expansion"]["fold_weights"] = xfold
    catalogs = [("", catalog)]
    if views:
        recorded = load_views(views)
        vcollection = catalog_collection(dataset, f"-v{_digest(recorded)}")
        vcatalog = _index_catalog(scout, dataset, vcollection, None, False, log, recorded)
        log("find_tools with the recorded views ...")
        vruns, vtimes, _ = _run_find(scout, vcatalog, qids, dataset, weights, k, generate=False)
        results["find_tools+views"] = row(vruns, dataset, vtimes, 0)
        results["find_tools+views"]["tools_with_views"] = sum(1 for t in recorded if t in dataset.corpus)
        catalogs.append(("+views", vcatalog))
    if caller_queries:
        given = load_caller_queries(caller_queries)
        sub = [q for q in qids if q in given]
        sub_weights = {q: weights[q] for q in sub}
        log(f"+caller queries on {len(sub)} queries ...")
        results["find_tools@caller"] = row({q: runs[q] for q in sub}, dataset, None, 0)
        for suffix, cat in catalogs:
            # the guarantee: the fusion against each of its inputs alone, on the same queries and catalog
            raw_runs, _, _ = _run_find(
                scout, cat, sub, dataset, sub_weights, k, timed=0, queries=lambda _: []
            )
            results[f"raw{suffix}@caller"] = row(raw_runs, dataset, None, 0)
            results[f"caller_only{suffix}"] = row(
                _queries_alone(scout, cat, sub, given, sub_weights, k), dataset, None, 0
            )
            cruns, ctimes, _ = _run_find(
                scout, cat, sub, dataset, sub_weights, k, queries=lambda q: given[q][:7]
            )
            results[f"+caller{suffix}"] = row(cruns, dataset, ctimes, 0)
    return report


def format_tool_report(report: dict[str, Any]) -> str:
    """A readable table of :func:`run_tool_eval`'s report."""
    results = report["results"]
    columns = (*COLUMNS, "hit@5") if "pool" in report else COLUMNS
    width = 22 if "pool" in report else 16  # room for "alone find_tools:any"
    lines = [
        f"{report['dataset']}: {report['queries']} queries, {report['corpus']} tools, embedder {report['embedder']}",
    ]
    if "pool" in report:
        lines.append(
            f"pooled with {', '.join(report['pool']['sets'])} (+{report['pool']['tools']} tools); 'alone ' rows: "
            f"the set without the pool ({report['alone']['tools']} tools)"
        )
    lines.append(f"{'mode':<{width}}{'queries':>8}" + "".join(f"{c:>13}" for c in columns))
    rows = [(m, r) for m, r in results.items() if m not in ("poison", "clean_flagged", "alone", "names")]
    rows += [(f"alone {m}", r) for m, r in results.get("alone", {}).items()]
    for mode, row in rows:
        cells = []
        for c in columns:
            value = row.get(c)
            if value is None:
                cells.append(f"{'-':>13}")
            elif c in ("llm_calls",):
                cells.append(f"{value:>13d}")
            elif c.endswith("_ms"):
                cells.append(f"{value:>13.1f}")
            else:
                cells.append(f"{100 * value:>13.1f}")
        lines.append(f"{mode:<{width}}{row.get('queries', 0):>8}" + "".join(cells))
    lines.append(f"hybrid weight per fold: {report['fusion']['fold_weights']} ({report['fusion']['split']})")
    if "names" in results:
        lines.append(format_names(results["names"]))
    if "poison" in report["results"]:
        lines.extend(format_poison(report["results"]["poison"], report["poison"]))
    lines.append(
        "metrics in %; multi_all@10 = all@10 over queries with >= 2 gold tools; dense/bm25 batched, not timed"
    )
    return "\n".join(lines)


def format_names(names: Mapping[str, Any]) -> str:
    """One line of :func:`~.names_eval.run_name_eval`'s block."""

    def share(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}%"

    return (
        f"names ({names['asked']} of {names['catalog_tools']} tools asked): exact name at rank 1 "
        f"{share(names['exact_top1'])} ({names['exact_shared']} names shared by several tools: any counts); "
        f"unique partial name at rank 1 {share(names['partial_top1'])} of {names['partial_count']} "
        f"({names['no_partial']} tools have none)"
    )


def format_poison(families: dict[str, Any], suite: dict[str, Any]) -> list[str]:
    """Lines of the attack suite: per family, the share of requests its variants reached, defended and not, the
    share of its tools flagged, and the detector in force (leave-one-family-out)."""
    lines = [
        (
            f"poison ({suite['measured_queries']} queries; {suite['split']}): share of requests with the "
            "family's attacker in the top 5 / at rank 1 (mean over its variants), in %"
        ),
        f"{'family':<20}{'variants':>9}{'top5':>8}{'top1':>8}{'undefended top5':>17}{'top1':>8}{'flagged':>9}  "
        + "detector",
    ]
    for family, row in families.items():
        off = row["undefended"]
        lines.append(
            f"{family:<20}{row['variants']:>9}{100 * row['top5']:>8.1f}{100 * row['top1']:>8.1f}"
            f"{100 * off['top5']:>17.1f}{100 * off['top1']:>8.1f}{100 * row['flagged']:>9.1f}  {row['detector']}"
        )
    if "shadowing" in families:
        shadow = families["shadowing"]
        lines.append(
            f"shadowing: the copy above the original in {100 * shadow['above_original']:.1f}% of the copied tools' "
            f"requests (undefended {100 * shadow['undefended']['above_original']:.1f}%)"
        )
    if "rug_pull" in families:
        lines.append(
            f"rug pull: the changed definition withheld in {100 * families['rug_pull']['withheld']:.0f}%"
        )
    lines.append(f"defences: {suite['defences']}")
    if suite.get("left_out"):
        lines.append(f"left out: {', '.join(suite['left_out'])} ({suite['order_texts']})")
    if "extra_tools" in suite:
        lines.append(f"extra tools: {suite['extra_tools']}, flagged {100 * suite['extra_flagged']:.2f}%")
    lines.append(f"the set's own tools flagged: {100 * suite['clean_flagged']:.2f}%")
    if suite.get("router"):
        r = suite["router"]
        lines.append(
            f"router case (servers {', '.join(r['servers'])}; all untrusted): {r['attacker']} top5 "
            f"{100 * r['top5']:.1f} / top1 {100 * r['top1']:.1f} (undefended {100 * r['undefended']['top5']:.1f} / "
            f"{100 * r['undefended']['top1']:.1f}), flags {','.join(r['flags']) or '-'}; clean nDCG@10 "
            f"{100 * r['ndcg@10']:.1f} (undefended {100 * r['ndcg@10_undefended']:.1f})"
        )
    if suite.get("latency"):
        lat = suite["latency"]
        lines.append(
            f"find_tools p50 {lat['p50_ms']:.1f} ms with defences, {lat['p50_ms_undefended']:.1f} without "
            f"(ratio {lat['p50_ratio']:.2f}, {lat['timed']} requests timed in alternating order)"
        )
    return lines


__all__ = [
    "dataset_specs",
    "format_names",
    "format_poison",
    "format_tool_report",
    "load_caller_queries",
    "register_tool_sets",
    "run_tool_eval",
]
