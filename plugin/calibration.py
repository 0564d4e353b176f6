"""Fitting a collection to labelled queries, stored with the collection so every later search uses it:

- the hybrid fusion weight (:func:`calibrate_fusion`): the lexical weight that maximises nDCG@10. Dense and
  lexical candidates are fetched once per query; each weight on the grid re-fuses them offline with the same
  :func:`hopscout.fusion.convex` that search uses, so the fitted weight behaves the same online;
- the augmentation decision (:func:`calibrate_augment`): for the LLM augmenters the cascade's threshold and
  margins (:mod:`hopscout.augment.cascade`), for pseudo-relevance feedback the gate (:mod:`hopscout.augment.gate`);
- the confidence estimates (:func:`calibrate_confidence`, see :mod:`hopscout.retrieval.confidence`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from . import fusion
from .analysis import term_set
from .augment import Cascade, Gate, augment_batch, budget, fit_gate, gates_metadata, get_augmenter
from .augment.cascade import CASCADE_BUDGET, JudgedQueries, calibrated_cascade
from .augment.gate import stored_gates
from .augment.stage import Outcome, judge_evidence, list_features, rerank
from .engine import Engine
from .errors import InvalidArgumentError, LLMUnavailableError
from .index import CollectionIndex
from .keys import META_CONFIDENCE, META_CONFIDENCE_LEXICAL, META_FUSION_WEIGHT, META_GATE
from .llm import LLM
from .logistic import Logistic
from .metrics import mean, per_query
from .retrieval import Candidates, SearchOptions
from .retrieval.confidence import (
    COVERAGE_DEPTH,
    FEATURES,
    HIT_FEATURES,
    LEXICAL_FEATURES,
    LEXICAL_HIT_FEATURES,
    NO_ANSWER_WEIGHT,
    ConfidenceModels,
    columns,
    hit_features,
    load_confidence,
    query_features,
)
from .scout import Scout, engine_of

WEIGHT_GRID = tuple(round(0.1 * i, 1) for i in range(11))


@dataclass(frozen=True)
class ScoreLists:
    """Per query: the dense and lexical ``{id: score}`` maps a weight grid re-fuses offline."""

    dense_scores: list[dict[str, float]]
    lexical_scores: list[dict[str, float]]


@dataclass(frozen=True)
class FusionFit:
    """The fitted weight and nDCG@10 at every weight tried."""

    weight: float
    ndcg_by_weight: dict[float, float]
    queries: int


def gather_scores(engine: Engine, queries: Sequence[str], collection: str | None = None) -> ScoreLists:
    """Dense and lexical scores at the depth hybrid search fuses (``settings.candidates``)."""
    n = engine.settings.candidates
    # through the engine: a tool catalog's collection (which Scout.search refuses) is calibrated the same way
    dense, lexical = (
        # never augmented: the weight is fitted on the first retrieval, whatever HOPSCOUT_AUGMENT says
        engine.search(
            queries, SearchOptions.build(n, {"mode": mode, "collection": collection, "augment": "never"})
        )
        for mode in ("dense", "lexical")
    )
    return ScoreLists(
        [{h.id: h.scores["dense"] for h in hits} for hits in dense],
        [{h.id: h.scores["lexical"] for h in hits} for hits in lexical],
    )


def fused_ids(scores: ScoreLists, rows: Sequence[int], weight: float, k: int = 10) -> list[list[str]]:
    """The hybrid ranking (ids) of the given query rows at ``weight``."""
    return [
        [i for i, _ in fusion.convex(scores.dense_scores[r], scores.lexical_scores[r], weight)[:k]]
        for r in rows
    ]


def fit_weight(
    scores: ScoreLists, relevant: Sequence[Mapping[str, int]], rows: Sequence[int] | None = None
) -> FusionFit:
    """The grid weight with the best mean nDCG@10 over ``rows`` (ties go to the weight nearest 0.5)."""
    rows = list(range(len(relevant))) if rows is None else list(rows)
    if not rows:
        raise InvalidArgumentError("calibration needs at least one labelled query")
    qrels = {str(r): dict(relevant[r]) for r in rows}
    table = {}
    for weight in WEIGHT_GRID:
        run = dict(zip((str(r) for r in rows), fused_ids(scores, rows, weight)))
        table[weight] = mean(per_query(run, qrels))["ndcg@10"]
    best = max(table, key=lambda w: (round(table[w], 6), -abs(w - 0.5)))
    return FusionFit(best, table, len(rows))


def calibrate_fusion(
    scout: Scout,
    queries: Sequence[str],
    relevant: Sequence[Mapping[str, int]],
    *,
    collection: str | None = None,
    store: bool = True,
) -> FusionFit:
    """Fit the collection's hybrid weight on labelled queries and (by default) store it with the collection."""
    if len(queries) != len(relevant):
        raise InvalidArgumentError(f"{len(queries)} queries but {len(relevant)} relevance maps")
    engine = engine_of(scout)
    fit = fit_weight(gather_scores(engine, queries, collection), relevant)
    if store:
        engine.set_fusion_weight(engine.index(collection), fit.weight)
    return fit


@dataclass(frozen=True)
class GateFit:
    """A fitted gate (a :class:`Cascade` for the LLM augmenters) and what it did on the labelled queries
    (nDCG@10 in 0–1)."""

    augmenter: str
    mode: str
    gate: Gate | Cascade
    queries: int
    augmented: float
    ndcg_never: float
    ndcg_always: float
    ndcg_gate: float

    @property
    def never(self) -> bool:
        """Whether the stored fit augments nothing."""
        return self.gate.below <= 0.0 if isinstance(self.gate, Cascade) else self.gate.threshold > 1.0


def calibrate_augment(
    scout: Scout,
    queries: Sequence[str],
    relevant: Sequence[Mapping[str, int]],
    *,
    augmenter: str | None = None,
    mode: str | None = None,
    collection: str | None = None,
    llm: LLM | None = None,
    store: bool = True,
) -> GateFit:
    """Fit ``auto``'s decision for ``augmenter`` on labelled queries and (by default) store it with the collection:
    for an LLM augmenter the cascade (:func:`~hopscout.augment.cascade.calibrated_cascade`, read with the
    collection's confidence models: calibrate those first), for pseudo-relevance feedback the gate
    (:func:`~hopscout.augment.fit_gate`)."""
    if len(queries) != len(relevant) or len(queries) < 2:
        raise InvalidArgumentError(
            f"calibration needs 2+ queries with relevance maps ({len(queries)} / {len(relevant)})"
        )
    engine = engine_of(scout)
    spec = get_augmenter(augmenter or engine.settings.augmenter)
    if spec.caller_text:
        raise InvalidArgumentError(
            f"the {spec.name!r} augmenter uses caller text per call; it has no gate to calibrate"
        )
    mode = mode or engine.settings.search_mode
    index = engine.index(collection)
    index.sync()
    weight = engine.fusion_weight(index)
    first = engine.first_retrieval(index)
    depth = engine.settings.candidates
    firsts = first.run(list(queries), mode=mode, depth=depth, both=True, with_signals=True)
    outcomes = augment_batch(
        first,
        firsts,
        [True] * len(firsts),
        spec,
        mode=mode,
        weight=weight,
        depth=depth,
        where=None,
        llm=lambda: engine.completions(llm),
    )
    if spec.needs_llm and not any(o.augmented for o in outcomes):
        # nothing to fit on: storing the result would switch auto off for a collection that never saw the LLM
        said = next((o.note for o in outcomes if o.note), "no query was augmented")
        raise LLMUnavailableError(
            f"cannot calibrate the {spec.name!r} augmenter: {said}. Configure the LLM it calls "
            "(HOPSCOUT_LLM_BASE_URL) and run hopscout calibrate --augment again"
        )
    qrels = {str(n): dict(r) for n, r in enumerate(relevant)}
    never = per_query(
        {str(n): [i for i, _ in c.ranking(mode, weight)[:10]] for n, c in enumerate(firsts)}, qrels
    )
    always = per_query({str(n): [i for i, _ in o.ranking[:10]] for n, o in enumerate(outcomes)}, qrels)
    gains = [always[str(n)]["ndcg@10"] - never[str(n)]["ndcg@10"] for n in range(len(firsts))]
    base = [never[str(n)]["ndcg@10"] for n in range(len(firsts))]
    gate: Gate | Cascade
    if spec.prf:
        features = [c.features or [] for c in firsts]
        gate = fit_gate(features, gains, max_fraction=budget(spec.name))
        chosen = gate.decide(features)
        gated = sum(b + (g if c else 0.0) for b, g, c in zip(base, gains, chosen)) / len(base)
    else:
        judged = _judged_queries(index, firsts, outcomes, qrels, mode, weight, base, gains)
        gate = calibrated_cascade(judged, max_fraction=CASCADE_BUDGET)
        chosen = [gate.should_augment(c) for c in judged.confidence]
        gated = sum(judged.scores(gate)) / len(base)
    if store:
        index.update_metadata(**{META_GATE: gates_metadata(index.metadata(), spec.name, mode, gate)})
    return GateFit(
        spec.name,
        mode,
        gate,
        len(firsts),
        sum(chosen) / len(chosen),
        sum(base) / len(base),
        sum(always[str(n)]["ndcg@10"] for n in range(len(firsts))) / len(base),
        gated,
    )


def _judged_queries(
    index: CollectionIndex,
    firsts: Sequence[Candidates],
    outcomes: Sequence[Outcome],
    qrels: Mapping[str, Mapping[str, int]],
    mode: str,
    weight: float,
    never: Sequence[float],
    gains: Sequence[float],
) -> JudgedQueries:
    """What the cascade's fit reads, as search will see it: each query's confidence and its augmented list's
    (the collection's confidence models), their agreement, and nDCG@10 of the first, fused and augmented lists."""
    models = load_confidence(index.metadata())
    rankings = [c.ranking(mode, weight) for c in firsts]
    confidence = [float(p) for p in models.query_probability(list_features(index, firsts, rankings))]
    augmented = [n for n, o in enumerate(outcomes) if o.augmented and o.aug_candidates is not None]
    evidence = judge_evidence(
        index, models, [firsts[n] for n in augmented], [outcomes[n] for n in augmented], mode, weight
    )
    aug_confidence, agreement = list(confidence), [1.0] * len(firsts)  # not augmented: the first list again
    for n, (p, g) in zip(augmented, evidence):
        aug_confidence[n], agreement[n] = p, g
    alone = per_query(
        {
            str(n): [i for i, _ in rerank(c, o, 1.0, mode, weight)[:10]]
            for n, (c, o) in enumerate(zip(firsts, outcomes))
        },
        qrels,
    )
    kept = [alone[str(n)]["ndcg@10"] for n in range(len(firsts))]
    fused = [b + g for b, g in zip(never, gains)]
    return JudgedQueries(confidence, aug_confidence, agreement, list(never), fused, kept)


@dataclass(frozen=True)
class ConfidenceData:
    """Labelled confidence features: per query (real, and again with its relevant documents removed) and per
    hit of each real query's top ``k`` (the hit rows carry the query's index in ``hit_query``)."""

    queries: np.ndarray  # features of each real query
    top_relevant: np.ndarray  # 1 when its top hit is relevant
    removed: np.ndarray  # features of each query with its relevant documents removed (label 0)
    hits: np.ndarray  # hit features without the confidence logit (filled from a query model when fitting)
    hit_relevant: np.ndarray
    hit_query: np.ndarray


def confidence_data(
    engine: Engine,
    collection: str | None,
    queries: Sequence[str],
    relevant: Sequence[Mapping[str, int]],
    weights: Sequence[float] | None = None,
    k: int = 10,
    mode: str = "hybrid",
) -> ConfidenceData:
    """The features of :mod:`hopscout.retrieval.confidence` for labelled queries, from the collection's own first
    retrieval (hybrid; ``weights`` per query, default the collection's). Hit rows hold a placeholder logit (0)."""
    index = engine.index(collection)
    index.sync()
    first = engine.first_retrieval(index)
    found = first.run(
        list(queries), mode=mode, depth=max(k, engine.settings.candidates), both=True, with_signals=True
    )
    weight = engine.fusion_weight(index)
    rankings = [c.ranking(mode, weights[n] if weights is not None else weight) for n, c in enumerate(found)]
    ids = {i for ranking in rankings for i, _ in ranking[: max(k, COVERAGE_DEPTH)]}
    golds = [{i for i, g in rel.items() if g > 0} for rel in relevant]
    removed = [c.without(gold) for c, gold in zip(found, golds)]
    removed_rankings = [
        c.ranking(mode, weights[n] if weights is not None else weight) for n, c in enumerate(removed)
    ]
    ids |= {i for ranking in removed_rankings for i, _ in ranking[:COVERAGE_DEPTH]}
    terms = {i: term_set(doc.text) for i, doc in index.get(sorted(ids)).items()}
    q_rows, labels, r_rows, h_rows, h_labels, h_query = [], [], [], [], [], []
    for n, (c, ranking, gold) in enumerate(zip(found, rankings, golds)):
        q_rows.append(query_features(c, ranking, terms))
        labels.append(float(bool(ranking) and ranking[0][0] in gold))
        r_rows.append(query_features(removed[n], removed_rankings[n], terms))
        for rank, (doc_id, _) in enumerate(ranking[:k]):
            h_rows.append(hit_features(0.5, c, ranking, doc_id, rank, terms))
            h_labels.append(float(doc_id in gold))
            h_query.append(n)
    return ConfidenceData(
        np.asarray(q_rows),
        np.asarray(labels),
        np.asarray(r_rows),
        np.asarray(h_rows),
        np.asarray(h_labels),
        np.asarray(h_query),
    )


def fit_confidence(
    data: ConfidenceData, rows: Sequence[int] | np.ndarray | None = None, *, lexical: bool = False
) -> ConfidenceModels:
    """Both confidence models fitted on the query rows ``rows`` (all by default) and their hits; with
    ``lexical``, on BM25's features alone (the models of a search that does not encode its query: fit them
    on data gathered with ``mode="lexical"``)."""
    features, hit_names = (LEXICAL_FEATURES, LEXICAL_HIT_FEATURES) if lexical else (FEATURES, HIT_FEATURES)
    q_cols, h_cols = columns(features, FEATURES), columns(hit_names, HIT_FEATURES)
    picked = np.arange(len(data.queries)) if rows is None else np.asarray(rows, dtype=int)
    x = np.vstack([data.queries[picked], data.removed[picked]])[:, q_cols]
    y = np.concatenate([data.top_relevant[picked], np.zeros(len(picked))])
    w = np.concatenate([np.ones(len(picked)), np.full(len(picked), NO_ANSWER_WEIGHT)])
    query = Logistic.fit(x, y, weights=w)
    hits = np.isin(data.hit_query, picked)
    p = np.clip(query.probability(data.queries[:, q_cols]), 1e-6, 1 - 1e-6)
    hit_rows = data.hits[hits].copy()
    hit_rows[:, 0] = np.log(p / (1 - p))[data.hit_query[hits]]  # the query model's logit
    hit = Logistic.fit(hit_rows[:, h_cols], data.hit_relevant[hits])
    return ConfidenceModels(query, hit, features, hit_names)


@dataclass(frozen=True)
class ConfidenceFit:
    """The models stored (or the defaults kept) and the held-out check that decided."""

    models: ConfidenceModels
    calibrated: bool
    held_out_brier: float  # of the calibrated fit, on queries it did not see
    default_brier: float  # of the shipped defaults, on the same queries
    queries: int


def calibrate_confidence(
    scout: Scout,
    queries: Sequence[str],
    relevant: Sequence[Mapping[str, int]],
    *,
    collection: str | None = None,
    store: bool = True,
    folds: int = 3,
    lexical: bool = False,
) -> ConfidenceFit:
    """Fit the collection's confidence models on labelled queries and store them, if refitted without each
    ``folds``-th of the queries they predict that part's top-hit relevance better (Brier score) than the shipped
    defaults do; otherwise the defaults stay. ``lexical``: the models of a lexical search (BM25 alone)."""
    if len(queries) != len(relevant) or len(queries) < 2 * folds:
        raise InvalidArgumentError(
            f"confidence calibration needs {2 * folds}+ labelled queries, got {len(queries)}"
        )
    engine = engine_of(scout)
    data = confidence_data(engine, collection, queries, relevant, mode="lexical" if lexical else "hybrid")
    shipped = load_confidence({}, lexical=lexical)
    fold = np.arange(len(queries)) % folds
    held, default = np.zeros(len(queries)), shipped.query_probability(data.queries)
    for part in range(folds):
        fitted = fit_confidence(data, np.flatnonzero(fold != part), lexical=lexical)
        held[fold == part] = fitted.query_probability(data.queries[fold == part])
    brier = float(np.mean((held - data.top_relevant) ** 2))
    default_brier = float(np.mean((default - data.top_relevant) ** 2))
    better = brier < default_brier
    models = fit_confidence(data, lexical=lexical) if better else shipped
    if store:
        key, index = META_CONFIDENCE_LEXICAL if lexical else META_CONFIDENCE, engine.index(collection)
        if better:
            index.update_metadata(**{key: models.to_json()})
        else:  # models stored by an earlier fit would stay in force: the defaults predicted better
            index.remove_metadata(key)
    return ConfidenceFit(models, better, brier, default_brier, len(queries))


# What every search reads before it decides whether to augment: a stored augmentation decision is fitted on these
FIRST_RETRIEVAL_KEYS = (META_FUSION_WEIGHT, META_CONFIDENCE, META_CONFIDENCE_LEXICAL)


@dataclass(frozen=True)
class FirstRetrievalFit:
    """The fusion weight and both confidence fits stored, and the augmentation decisions dropped as stale (their
    ``augmenter/mode`` keys)."""

    fusion: FusionFit
    confidence: ConfidenceFit
    confidence_lexical: ConfidenceFit
    dropped_gates: tuple[str, ...]


def calibrate_first_retrieval(
    scout: Scout,
    queries: Sequence[str],
    relevant: Sequence[Mapping[str, int]],
    *,
    collection: str | None = None,
) -> FirstRetrievalFit:
    """Fit and store what a search reads first: the hybrid fusion weight, then the confidence models of a hybrid
    and of a lexical search on it. The augmentation decisions stored earlier (cascades' confidence thresholds,
    PRF gates) were fitted on the weight and models then in force; when this changes either, they are dropped
    (``auto`` uses the shipped cascade until ``hopscout calibrate --augment`` refits them), not left to read
    confidences on a scale they were not fitted to."""
    index = engine_of(scout).index(collection)
    before = index.metadata()
    fusion_fit = calibrate_fusion(scout, queries, relevant, collection=collection)
    conf = calibrate_confidence(scout, queries, relevant, collection=collection)
    conf_lexical = calibrate_confidence(scout, queries, relevant, collection=collection, lexical=True)
    after = index.metadata()
    dropped: tuple[str, ...] = ()
    if any(before.get(key) != after.get(key) for key in FIRST_RETRIEVAL_KEYS):
        dropped = tuple(sorted(stored_gates(after)))
        index.remove_metadata(META_GATE)
    return FirstRetrievalFit(fusion_fit, conf, conf_lexical, dropped)
