"""``hopscout eval DIR [--tools] --poison``: how often each family of hostile tools or passages reaches an agent.

Attackers (:mod:`.attacks`) are built from the even-position half of the judged queries and measured on the
odd half, one variant at a time, each added to the set's own index and removed after. Per family:
``top5`` / ``top1`` (the mean over its variants of the share of measured requests with the variant in the top
5 / at rank 1; a ToolFlood variant counts a request when ANY of its tools is there; a shadow counts only the
requests of the tool it copies, and ``above_original`` says how often it ranks above it), ``flagged`` (the
share of the family's injected tools carrying any flag, quarantined or refused), with the defences on (the
engine as shipped) and off (``undefended``: the same flags, nothing demoted, capped or withheld).

Leave-one-family-out: the learned order detector (``hopscout.evaluation.orders_train.fit_detector``) is fitted
without the order family a family's texts come from (:data:`ORDER_SOURCES`) and put in force
(``hopscout.orders.using``) around that family's registration and searches; the families that carry no order
text are measured with the shipped detector, which never saw them. ``detector`` in each row says which.

Defended is ``find_tools`` as the router runs it: a catalog with a quarantine (pins of this run only), so an
untrusted server's tool with orders, hidden characters or a changed definition is held for review and counts
as flagged (``quarantined:<reason>``). Undefended: the same tool registered without a quarantine, searched with
``defend=False``. Rug pull: the tool is registered honest, then re-registered with the order by its untrusted
server; ``top5`` counts requests given the *changed* definition; its ``undefended`` figure is the changed
definition registered at first sight, defences off.

Passages: ``defended`` is ``Scout.search`` as shipped (the engine's prior demotes passages flagged when
written); ``undefended`` is a second Scout on the same store whose pipeline skips the prior stage."""

from __future__ import annotations

import contextlib
import hashlib
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..embedders import Embedder
from ..errors import ToolNotFoundError
from ..metrics import mean, per_query
from ..scout import Scout
from ..suspicion import text_flags
from ..tools.catalog import ToolCatalog
from ..tools.pins import PinStore
from ..tools.spec import ToolSpec
from . import attacks
from .datasets import Dataset, load_dataset
from .folds import halves
from .harness import index_dataset

Log = Callable[[str], None]
TOP = 5
SEED = 0
ORDER_SEED = 2027  # not a seed hopscout.evaluation.orders_train fits (0) or measures (1) on
SPLIT = "attackers built from the even-position judged queries, measured on the odd ones"
ORDER_SOURCES = {
    "paraphrased_orders": "paraphrased_orders",
    "hidden_orders": "hidden_orders",  # its sentences come disguised (look-alikes, invisible characters)
    "parameter_orders": "parameter_orders",
    "rug_pull": "priority_claims",  # the changed definition claims priority: what makes it reach requests
    "passage_orders": "secrecy_exfiltration",
}
"""Each family built on order texts → the order family (``hopscout.evaluation.order_texts``) its texts come from,
and which the detector is fitted without when that family is measured."""
NAMESPACES = {"shadowing": "copycat", "rug_pull": "rugpull", "toolflood": "flood"}
ZERO = {"top5": 0.0, "top1": 0.0}


def order_supply(n: int = attacks.VARIANTS, seed: int = ORDER_SEED) -> tuple[dict[str, list[str]], str]:
    """``n`` order texts per family of :data:`ORDER_SOURCES`, and where they came from (or why there are none:
    the families built on them are then left out of the suite)."""
    try:
        from . import order_texts
    except ImportError:
        return {}, "hopscout.evaluation.order_texts absent: the families built on order texts are left out"
    known = set(order_texts.ORDER_FAMILIES)
    texts = {fam: order_texts.order_texts(src, n, seed) for fam, src in ORDER_SOURCES.items() if src in known}
    return texts, f"hopscout.evaluation.order_texts (seed {seed})"


def data_root(folder: str | Path) -> Path | None:
    """The folder holding ``tools/`` and ``text/`` above a set's folder (``../shared/data``): where the honest
    sets the order detector is fitted on live; None for a set kept elsewhere (e.g. a test fixture)."""
    for parent in Path(folder).resolve().parents:
        if (parent / "tools").is_dir() and (parent / "text").is_dir():
            return parent
    return None


class HeldOut:
    """The learned order detector fitted without one order family, per measured family: :meth:`apply` puts it
    in force around a block and yields what was in force. ``data``: the root of the honest sets it is fitted on
    (:func:`data_root`); ``cache``: a folder where fitted detectors are kept, keyed by the fitting code, the
    order texts and the honest sets, so that a second run does not fit again (a fit takes about a minute)."""

    def __init__(self, data: Path | None, cache: Path | None = None) -> None:
        self._fitted: dict[str, Any] = {}
        self._data, self._cache = data or Path(), cache  # no data: self.missing says so, nothing is fitted
        self.missing: str | None = None
        try:
            from ..orders import using
            from . import orders_train
        except ImportError as exc:
            self.missing = f"shipped, NOT leave-one-family-out ({exc})"
            return
        if data is None:
            self.missing = (
                "shipped, NOT leave-one-family-out (no data root with the honest sets above the set)"
            )
            return
        self._train, self._using = orders_train, using
        self._honest: dict[str, list[str]] | None = None

    def _key(self, source: str) -> str:
        from .. import orders

        digest = hashlib.sha256(source.encode())
        for module in (self._train, orders):
            for path in sorted(Path(module.__file__ or "").parent.glob("*.py")):
                if module is orders or path.stem in ("orders_train", "order_texts"):
                    digest.update(path.read_bytes())
        for rel in self._train.HONEST_SETS.values():
            corpus = self._data / rel / "corpus.jsonl"
            digest.update(f"{rel}:{corpus.stat().st_size if corpus.is_file() else -1}".encode())
        return digest.hexdigest()[:12]

    def _detector(self, source: str) -> Any:
        if source in self._fitted:
            return self._fitted[source]
        path = self._cache / f"orders-without-{source}-{self._key(source)}.npz" if self._cache else None
        if path is not None and path.is_file():
            detector = self._train.OrderDetector.load(path)
        else:
            if self._honest is None:
                self._honest = {n: self._train.honest_texts(self._data, n) for n in self._train.HONEST_SETS}
            detector = self._train.fit_detector(self._data, exclude_family=source, honest=self._honest)
            if path is not None:
                detector.save(path)
        self._fitted[source] = detector
        return detector

    @contextlib.contextmanager
    def apply(self, family: str) -> Iterator[str]:
        source = ORDER_SOURCES.get(family)
        if self.missing is not None:
            yield self.missing
            return
        if source is None:
            yield "shipped (carries no order text: never trained on it)"
            return
        with self._using(self._detector(source)):
            yield f"fitted without {source}"


class RememberingEmbedder(Embedder):
    """``inner``, with each query's vector kept: the suite asks the same measured requests once per variant and
    defence setting (80-odd times), and a request's vector does not depend on the catalog."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self.id = inner.id
        self._queries: dict[str, np.ndarray] = {}

    @property
    def dim(self) -> int:
        return self._inner.dim

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self._inner.embed_documents(texts)  # reached only through embed_documents (no prefix here)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._inner.embed_documents(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._queries))
        if missing:
            self._queries.update(zip(missing, self._inner.embed_queries(missing)))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._queries[t] for t in texts])


def _shares(rankings: Sequence[Sequence[str]], keys: Sequence[str] | str) -> dict[str, float]:
    mine = {keys} if isinstance(keys, str) else set(keys)
    n = max(1, len(rankings))
    return {
        "top5": sum(any(k in mine for k in r[:TOP]) for r in rankings) / n,
        "top1": sum(bool(r) and r[0] in mine for r in rankings) / n,
    }


def _above(rankings: Sequence[Sequence[str]], copy: str, original: str) -> float:
    """Share of ``rankings`` where ``copy`` is listed and ``original`` is not listed before it."""
    hits = 0
    for r in rankings:
        top = list(r[:TOP])
        if copy in top and (original not in top or top.index(copy) < top.index(original)):
            hits += 1
    return hits / max(1, len(rankings))


def _find(
    scout: Scout, catalog: ToolCatalog, dataset: Dataset, qids: Sequence[str], weights: Mapping[str, float]
) -> list:
    """Top-5 tool keys per query, each query searched with its cross-fitted fusion weight."""
    out: dict[str, list[str]] = {}
    catalog.wait_measured()  # the catalog as written, measured: a large one is measured in the background
    for weight in sorted({weights[q] for q in qids}):
        scout.set_fusion_weight(weight, collection=catalog.collection)
        fold = [q for q in qids if weights[q] == weight]
        for start in range(0, len(fold), 128):
            chunk = fold[start : start + 128]
            found = catalog.find_tools_batch([dataset.queries[q] for q in chunk], TOP, generate=False)
            out.update({q: r.keys for q, r in zip(chunk, found)})
            catalog.wait_measured()  # a hubness re-measure the chunk started: in force for the next, not by timing
    return [out[q] for q in qids]


def _held(catalog: ToolCatalog, keys: Sequence[str]) -> dict[str, list[str]]:
    """Of ``keys``, those the catalog's quarantine holds for review, with why."""
    held = catalog.quarantined()
    return {
        key: [f"quarantined:{r}" for r in held[key].reasons] or ["quarantined"] for key in keys if key in held
    }


@dataclass
class _ToolBench:
    """One set's catalog and measured half. ``guarded`` is the catalog as the router runs it (flags, demotion,
    caps and the quarantine); a variant is registered through it, ranked with the defences on and (when
    nothing was held) off, and removed; a variant the quarantine holds is registered again without one, to
    read its flags and rank it undefended. Catalog objects are reused where their own writes keep them fresh:
    each new one measures the catalog's hubness again."""

    scout: Scout
    guarded: ToolCatalog
    dataset: Dataset
    measure: list[str]
    weights: Mapping[str, float]

    def rank(self, catalog: ToolCatalog, qids: Sequence[str] | None = None) -> list[list[str]]:
        return _find(self.scout, catalog, self.dataset, qids or self.measure, self.weights)

    def _unguarded(
        self, tools: list[dict[str, Any]], namespace: str, qids: Sequence[str] | None
    ) -> tuple[dict[str, tuple[str, ...]], list[list[str]]]:
        """Flags and rankings of ``tools`` registered without a quarantine, the defences off (a new catalog
        object: one that did not see the writes in between could hold a stale snapshot)."""
        opened = ToolCatalog(self.scout, collection=self.guarded.collection, defend=False)
        opened.register(tools, namespace=namespace)
        try:
            return opened.flagged(), self.rank(opened, qids)
        finally:
            opened.remove([t["name"] for t in tools], namespace=namespace)

    def variant(self, family: str, variant: attacks.Variant) -> dict[str, Any]:
        """A variant's shares with the defences on and off, and its tools' flags (shadows: on the requests of
        the tool they copy)."""
        namespace = NAMESPACES.get(family, attacks.ATTACKER_NAMESPACE)
        keys = [f"{namespace}/{a.name}" for a in variant]
        tools = [a.tool() for a in variant]
        target = variant[0].target if family == "shadowing" else None
        qids = [q for q in self.measure if self.dataset.qrels[q].get(target or "", 0) > 0] if target else None
        report = self.guarded.register(tools, namespace=namespace)
        try:
            held = _held(self.guarded, keys)
            kept_out = set(held) | set(report.skipped)
            on = (
                self.rank(self.guarded, qids) if kept_out != set(keys) else [[] for _ in qids or self.measure]
            )
            if not kept_out:
                flagged = self.guarded.flagged()
                off = self.rank(self.guarded.with_options(defend=False), qids)
        finally:
            self.guarded.remove([a.name for a in variant], namespace=namespace)
        if kept_out:
            flagged, off = self._unguarded(tools, namespace, qids)
        flags = {
            key: [*flagged.get(key, ()), *held.get(key, ())] or (["refused"] if key in report.skipped else [])
            for key in keys
        }
        row: dict[str, Any] = {**_shares(on, keys), "undefended": _shares(off, keys), "flags": flags}
        if target:
            row["queries"] = len(on)
            row["above_original"] = _above(on, keys[0], target)
            row["undefended"]["above_original"] = _above(off, keys[0], target)
        return row

    def rug_pull(self, attacker: attacks.Attacker) -> dict[str, Any]:
        """Registered honest, re-registered with the order: shares of requests given the changed definition
        (none when the quarantine holds it); undefended: the changed definition at first sight, defences off."""
        namespace = NAMESPACES["rug_pull"]
        key = f"{namespace}/{attacker.name}"
        self.guarded.register([attacker.tool(honest=True)], namespace=namespace)
        try:
            report = self.guarded.register([attacker.tool()], namespace=namespace)
            held = _held(self.guarded, [key])
            try:
                served = self.guarded.get(key).description == attacker.text and not held
            except ToolNotFoundError:
                served = False
            on = _shares(self.rank(self.guarded), key) if served else dict(ZERO)
        finally:
            self.guarded.remove([attacker.name], namespace=namespace)
        fresh = f"{namespace}_open"
        flagged, off = self._unguarded([attacker.tool()], fresh, None)
        flags = [*flagged.get(f"{fresh}/{attacker.name}", ()), *held.get(key, ())]
        return {
            **on,
            "undefended": _shares(off, f"{fresh}/{attacker.name}"),
            "flags": {key: flags or (["refused"] if key in report.skipped else [])},
            "withheld": not served,
        }


def _pooled(family: str, rows: Sequence[Mapping[str, Any]], detector: str, queries: int) -> dict[str, Any]:
    """A family's figures from its variants' rows: mean shares, and the share of its tools flagged."""
    tools = [f for row in rows for f in row["flags"].values()]

    def avg(metric: str, off: bool = False) -> float:
        vals = [(row["undefended"] if off else row)[metric] for row in rows]
        return statistics.fmean(vals) if vals else 0.0

    metrics = ["top5", "top1", *(["above_original"] if family == "shadowing" else [])]
    out: dict[str, Any] = {m: avg(m) for m in metrics}
    out["flagged"] = sum(bool(f) for f in tools) / max(1, len(tools))
    out["undefended"] = {m: avg(m, off=True) for m in metrics}
    out.update(variants=len(rows), tools=len(tools), queries=queries, detector=detector)
    if family == "rug_pull":
        out["withheld"] = sum(bool(row["withheld"]) for row in rows) / max(1, len(rows))
    return out


def run_tool_poison(
    scout: Scout,
    catalog: ToolCatalog,
    dataset: Dataset,
    qids: Sequence[str],
    weights: Mapping[str, float],
    log: Log = lambda _: None,
    own: Sequence[str] | None = None,
    held_out: HeldOut | None = None,
    variants: int = attacks.VARIANTS,
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Per tool family (:data:`attacks.TOOL_FAMILIES`) ``{"top5", "top1", "flagged", "undefended": {...},
    ...}``, and what the suite was (each variant's texts, flags and shares, the split, the share of the clean
    catalog flagged). ``own``: the keys of the set's own tools (default: every tool in the catalog), for
    ``clean_flagged``; the other tools (``--extra-tools``) are counted apart. ``held_out``: the detectors fitted
    leave-one-family-out (default: none, the shipped detector; each row's ``detector`` says which).
    ``variants``: per family (a shadowing variant whose tool the measured half never asks for is dropped)."""
    build_rows, measure_rows = halves(len(qids))
    build, measure = [qids[r] for r in build_rows], [qids[r] for r in measure_rows]
    gold: dict[str, int] = {}
    for q in build:
        for key, grade in dataset.qrels[q].items():
            if grade > 0:
                gold[key] = gold.get(key, 0) + 1
    specs: dict[str, ToolSpec] = {s.key: s for s in catalog.tools()}
    mine = set(own) if own is not None else set(specs)
    flagged = catalog.flagged()
    orders, source = order_supply(variants)
    suite: dict[str, Any] = {
        "split": SPLIT,
        "measured_queries": len(measure),
        "clean_tools": len(mine),
        "clean_flagged": sum(key in flagged for key in mine) / max(1, len(mine)),
        "clean_flagged_tools": {key: list(flags) for key, flags in flagged.items() if key in mine},
        "order_texts": source,
        "defences": "find_tools as the router runs it: flags, demotion, server caps and the quarantine "
        "(ToolCatalog(quarantine=...): an untrusted server's tool with orders, hidden characters or a changed "
        "definition is held for review); undefended: registered without a quarantine, searched with defend=False",
        "families": {},
    }
    if len(mine) < len(specs):
        others = set(specs) - mine
        suite["extra_tools"] = len(others)
        suite["extra_flagged"] = sum(key in flagged for key in others) / len(others)
        suite["extra_flagged_tools"] = {key: list(f) for key, f in flagged.items() if key in others}
    families = attacks.tool_families(
        [dataset.queries[q] for q in build],
        gold,
        specs,
        orders,
        None,  # hidden_orders' texts come disguised from order_texts
        catalog_size=len(specs),
        n=variants,
        seed=SEED,
    )
    if "shadowing" in families:  # a copy of a tool nobody asks for in the measured half measures nothing
        families["shadowing"] = [
            v
            for v in families["shadowing"]
            if any(dataset.qrels[q].get(v[0].target or "", 0) > 0 for q in measure)
        ]
        if not families["shadowing"]:
            del families["shadowing"]
    suite["left_out"] = [f for f in attacks.TOOL_FAMILIES if f not in families]
    held_out = held_out or HeldOut(None)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="hopscout-poison-pins-") as pins:
        # pins of this run only: a second run's first sight is its own
        guarded = ToolCatalog(scout, collection=catalog.collection, quarantine=PinStore.under(pins))
        bench = _ToolBench(scout, guarded, dataset, measure, weights)
        _run_families(bench, families, held_out, results, suite, log)
    return results, suite


def _run_families(
    bench: _ToolBench,
    families: Mapping[str, list[attacks.Variant]],
    held_out: HeldOut,
    results: dict[str, dict[str, Any]],
    suite: dict[str, Any],
    log: Log,
) -> None:
    """Each family measured in turn, its detector fitted without it; figures into ``results`` and ``suite``."""
    for family, built in families.items():
        log(f"poison: {family} ({len(built)} variants) ...")
        with held_out.apply(family) as detector:
            rows = [bench.rug_pull(v[0]) if family == "rug_pull" else bench.variant(family, v) for v in built]
        queries = sum(r["queries"] for r in rows) if family == "shadowing" else len(bench.measure)
        results[family] = _pooled(family, rows, detector, queries)
        suite["families"][family] = [{"tools": [_shown(a) for a in v], **row} for v, row in zip(built, rows)]


def _shown(attacker: attacks.Attacker) -> dict[str, Any]:
    out: dict[str, Any] = {"name": attacker.name, "text": attacker.text}
    if attacker.target:
        out["target"] = attacker.target
    if attacker.input_schema:
        out["input_schema"] = dict(attacker.input_schema)
    if attacker.honest:
        out["honest"] = attacker.honest
    return out


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


CLUSTERS = attacks.VARIANTS  # concepts attacked on a passage set: one variant of each family per concept


def run_passage_poison(
    scout: Scout,
    dataset: Dataset,
    collection: str,
    qids: Sequence[str],
    log: Log = lambda _: None,
    held_out: HeldOut | None = None,
    variants: int = CLUSTERS,
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Per passage family (:data:`attacks.PASSAGE_FAMILIES`) ``{"top5", "top1", "flagged", "undefended",
    ...}``: one passage per concept of the ``variants`` most shared by the build half's queries, each measured
    on the odd-half queries that name its concept (pooled by queries); and the clean side: the share of the
    corpus flagged, and nDCG@10 of the hybrid search with and without the prior on all measured queries."""
    build_rows, measure_rows = halves(len(qids))
    build = {qids[r]: dataset.queries[qids[r]] for r in build_rows}
    measure = [qids[r] for r in measure_rows]
    flagged_ids = {i for i in dataset.corpus if text_flags(dataset.doc_text(i))}
    bare = Scout(scout.settings.model_copy(update={"flagged_demotion": 1.0}), embedder=scout.embedder)
    orders, source = order_supply(variants)
    held_out = held_out or HeldOut(None)
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
            "order_texts": source,
            "families": {},
        }
        clusters = [
            (
                concept,
                [build[q] for q in members],
                [q for q in measure if concept in dataset.queries[q].lower()],
            )
            for concept, members in attacks.concept_clusters(build, variants)
        ]
        clusters = [c for c in clusters if c[2]]
        families = attacks.passage_families(
            [(c, t) for c, t, _ in clusters], orders.get("passage_orders", [])
        )
        suite["left_out"] = [f for f in attacks.PASSAGE_FAMILIES if f not in families]
        results: dict[str, dict[str, Any]] = {}
        for family, passages in families.items():
            log(f"poison: {family} ({len(passages)} concepts) ...")
            rows = []
            with held_out.apply(family) as detector:
                for attacker, (_, _, targets) in zip(passages, clusters):
                    rows.append(_passage_variant(scout, bare, dataset, collection, attacker, targets))
            results[family] = {
                **_by_queries(rows, rows),
                "flagged": sum(bool(r["flags"]) for r in rows) / max(1, len(rows)),
                "undefended": _by_queries(rows, [r["undefended"] for r in rows]),
                "variants": len(rows),
                "queries": sum(r["queries"] for r in rows),
                "detector": detector,
            }
            suite["families"][family] = rows
        suite["latency"] = paired_search_latency(scout, bare, texts, collection)
    finally:
        bare.close()
    return results, suite


def _by_queries(rows: Sequence[Mapping[str, Any]], parts: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Shares pooled over concepts, each weighed by its queries."""
    total = sum(r["queries"] for r in rows) or 1
    return {m: sum(r["queries"] * p[m] for r, p in zip(rows, parts)) / total for m in ("top5", "top1")}


def _passage_variant(
    scout: Scout,
    bare: Scout,
    dataset: Dataset,
    collection: str,
    attacker: attacks.Attacker,
    targets: list[str],
) -> dict[str, Any]:
    """One passage added, searched for by its concept's measured queries with the prior and without, deleted."""
    scout.add([attacker.text], ids=[attacker.name], collection=collection)
    try:
        asked = [dataset.queries[q] for q in targets]
        found = scout.search_batch(asked, TOP, collection=collection)
        found_bare = bare.search_batch(asked, TOP, collection=collection, prior=False)
    finally:
        scout.delete(ids=[attacker.name], collection=collection)
    return {
        "concept": attacker.target,
        "id": attacker.name,
        "text": attacker.text,
        "queries": len(targets),
        "flags": list(text_flags(attacker.text)),
        **_shares([[h.id for h in hs] for hs in found], attacker.name),
        "undefended": _shares([[h.id for h in hs] for hs in found_bare], attacker.name),
    }


def add_passage_poison(
    report: dict[str, Any], folder: Any, scout: Scout, limit: int | None = None, log: Log = lambda _: None
) -> dict[str, Any]:
    """``report`` (:func:`hopscout.evaluation.harness.run_eval`'s) with the passage attack suite added:
    ``results["poison"][family] = {"top5", "top1", "flagged", ...}``, ``results["clean_flagged"]`` and
    ``report["poison"]`` (what it was)."""
    dataset = load_dataset(folder)
    collection = index_dataset(scout, dataset, log)
    qids = dataset.judged_queries[:limit] if limit else dataset.judged_queries
    held_out = HeldOut(data_root(folder), scout.settings.home / "order_detectors")
    report["results"]["poison"], report["poison"] = run_passage_poison(
        scout, dataset, collection, qids, log, held_out
    )
    report["results"]["clean_flagged"] = report["poison"]["clean_flagged"]
    return report


def format_passage_poison(report: dict[str, Any]) -> str:
    """Lines of the passage attack suite."""
    suite = report["poison"]
    lines = [
        (
            f"poison ({suite['split']}; {suite['defence']}): share of a concept's queries with the attacker "
            "in the top 5 / at rank 1, in %"
        ),
        f"{'family / concept':<26}{'queries':>8}{'top5':>8}{'top1':>8}{'undefended top5':>17}{'top1':>8}  flags",
    ]
    for family, rows in suite["families"].items():
        pooled = report["results"]["poison"][family]
        for row in [
            *rows,
            {
                **pooled,
                "concept": "(all)",
                "flags": [f"{100 * pooled['flagged']:.0f}% flagged; detector {pooled['detector']}"],
            },
        ]:
            off = row["undefended"]
            lines.append(
                f"{family + ' ' + str(row['concept']):<26}{row['queries']:>8}{100 * row['top5']:>8.1f}"
                f"{100 * row['top1']:>8.1f}{100 * off['top5']:>17.1f}{100 * off['top1']:>8.1f}  "
                f"{','.join(row['flags']) or '-'}"
            )
    if suite.get("left_out"):
        lines.append(f"left out: {', '.join(suite['left_out'])} ({suite['order_texts']})")
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
    "ORDER_SOURCES",
    "HeldOut",
    "RememberingEmbedder",
    "add_passage_poison",
    "data_root",
    "format_passage_poison",
    "order_supply",
    "paired_latency",
    "paired_search_latency",
    "run_passage_poison",
    "run_router_poison",
    "run_tool_poison",
]
