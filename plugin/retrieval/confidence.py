"""How sure a search is: the probability that its top hit is relevant (``confidence``), and for each hit the
probability that it is (``relevance``). Both are absolute, so they compare across queries and collections, and
an agent can tell "found it" from "nothing here" (then: rephrase, pass its own ``expansion=``, or stop).

Two small logistic models (:class:`~hopscout.logistic.Logistic`) read what the first retrieval already holds: its
confidence signals (:mod:`.signals`), how much of the query's IDF mass the BM25 top matched, the fused margin,
how the dense and BM25 tops rate each other, how far each top stands above its top 50, and how much of the
query the top documents contain. Shipped defaults were fitted on four public sets (SciFact, MetaTool,
Seal-Tools in/out; :func:`hopscout.evaluation.confidence_eval.fit_defaults`); ``hopscout calibrate DIR`` fits
them to a collection (stored with it) and keeps the fit only when it beats the default on held-out queries.
Training adds each labelled query once more with its relevant documents removed (label 0, weight
:data:`NO_ANSWER_WEIGHT`): what "nothing relevant here" looks like."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..analysis import term_set
from ..errors import InvalidArgumentError
from ..index import CollectionIndex
from ..keys import META_CONFIDENCE, META_CONFIDENCE_LEXICAL
from ..logistic import Logistic
from .candidates import Candidates, Ranked, Stage
from .options import ResolvedSearch
from .results import as_returned, fetch_texts
from .signals import SIGNALS

NO_ANSWER_WEIGHT = 0.1  # the weight of a labelled query with its answers removed: weighs the belief that few queries have none
COVERAGE_DEPTH = 5
FEATURES = (
    *SIGNALS,
    "lexical_coverage",
    "fused_margin",
    "top_dense",
    "top_lexical_share",
    "dense_top_lexical_share",
    "lexical_top_dense",
    "dense_z",
    "lexical_z",
    "top_coverage",
    "best_coverage",
)
HIT_FEATURES = ("confidence_logit", "dense", "lexical_share", "log_rank", "fused", "coverage")
# What a search that did not encode its query can read (a lexical search): the features above that come from BM25
# alone. fused_margin is then BM25's margin (the ranking is BM25's); the hit's fused score, BM25's raw score, is
# left out (its scale is the collection's), as is top_lexical_share (always 1).
LEXICAL_FEATURES = (
    "lexical_drop",
    "query_terms",
    "idf_mean",
    "idf_max",
    "lexical_coverage",
    "fused_margin",
    "lexical_z",
    "top_coverage",
    "best_coverage",
)
LEXICAL_HIT_FEATURES = ("confidence_logit", "lexical_share", "log_rank", "coverage")


def query_features(
    c: Candidates, ranking: Sequence[tuple[str, float]], terms: Mapping[str, set[str]]
) -> list[float]:
    """The confidence features of one query (:data:`FEATURES`) from its candidates (with signals), the ranking
    they produced, and the BM25 terms of the top documents (``terms``: id → terms; missing ids count as none)."""
    signal = list(c.features or [0.0] * len(SIGNALS))
    dense = sorted(c.dense_scores.values(), reverse=True)
    lexical = sorted(c.lexical_scores.values(), reverse=True)
    dense_top_id = max(c.dense_scores, key=c.dense_scores.__getitem__) if c.dense_scores else None
    lexical_top_id = max(c.lexical_scores, key=c.lexical_scores.__getitem__) if c.lexical_scores else None
    top = ranking[0][0] if ranking else None
    lt = lexical[0] if lexical else 0.0
    idf_mass = sum(c.term_idf.values())
    coverages = [_coverage(c.term_idf, terms.get(i, set())) for i, _ in ranking[:COVERAGE_DEPTH]]
    return signal + [
        lt / idf_mass if idf_mass > 0 else 0.0,
        ranking[0][1] - ranking[1][1] if len(ranking) > 1 else 1.0,
        c.dense_scores.get(top, 0.0) if top else 0.0,
        c.lexical_scores.get(top, 0.0) / lt if top and lt > 0 else 0.0,
        c.lexical_scores.get(dense_top_id, 0.0) / lt if dense_top_id and lt > 0 else 0.0,
        c.dense_scores.get(lexical_top_id, 0.0) if lexical_top_id else 0.0,
        _z(dense),
        _z(lexical),
        coverages[0] if coverages else 0.0,
        max(coverages, default=0.0),
    ]


def hit_features(
    confidence: float,
    c: Candidates,
    ranking: Sequence[tuple[str, float]],
    doc_id: str,
    rank: int,
    terms: Mapping[str, set[str]],
) -> list[float]:
    """The relevance features of one hit (:data:`HIT_FEATURES`)."""
    lt = max(c.lexical_scores.values(), default=0.0)
    p = min(max(confidence, 1e-6), 1 - 1e-6)
    fused = dict(ranking).get(doc_id, 0.0)
    return [
        math.log(p / (1 - p)),
        c.dense_scores.get(doc_id, 0.0),
        c.lexical_scores.get(doc_id, 0.0) / lt if lt > 0 else 0.0,
        math.log1p(rank),
        fused,
        _coverage(c.term_idf, terms.get(doc_id, set())),
    ]


def _coverage(term_idf: Mapping[str, float], doc_terms: set[str]) -> float:
    """The share of the query's IDF mass whose terms the document contains."""
    total = sum(term_idf.values())
    return sum(v for t, v in term_idf.items() if t in doc_terms) / total if total > 0 else 0.0


def _z(scores: Sequence[float]) -> float:
    """How far the top score stands above the top 50, in standard deviations."""
    head = np.asarray(scores[:50], dtype=np.float64)
    return float((head[0] - head.mean()) / (head.std() + 1e-6)) if len(head) > 1 else 0.0


def columns(names: Sequence[str], among: Sequence[str]) -> list[int]:
    """The positions of ``names`` in ``among`` (a model's features in the full feature rows)."""
    return [among.index(n) for n in names]


@dataclass(frozen=True)
class ConfidenceModels:
    """The query model (P(top hit relevant)) and the hit model (P(this hit relevant)), each reading the named
    columns of the full feature rows (:data:`FEATURES`, :data:`HIT_FEATURES`): all of them, or for a search
    without the dense side :data:`LEXICAL_FEATURES` and :data:`LEXICAL_HIT_FEATURES`. A hit model's first
    feature is the query model's logit."""

    query: Logistic
    hit: Logistic
    features: tuple[str, ...] = FEATURES
    hit_features: tuple[str, ...] = HIT_FEATURES

    @property
    def bm25_only(self) -> bool:
        """Whether the models read BM25 alone (a search that did not encode its query can use them)."""
        return set(self.features) <= set(LEXICAL_FEATURES) and set(self.hit_features) <= set(
            LEXICAL_HIT_FEATURES
        )

    def query_probability(self, rows: ArrayLike) -> np.ndarray:
        """P(top hit relevant) for full query feature rows (:data:`FEATURES`)."""
        return self.query.probability(np.asarray(rows, dtype=np.float64)[:, columns(self.features, FEATURES)])

    def hit_probability(self, rows: ArrayLike) -> np.ndarray:
        """P(hit relevant) for full hit feature rows (:data:`HIT_FEATURES`; the first holds the query's logit)."""
        return self.hit.probability(
            np.asarray(rows, dtype=np.float64)[:, columns(self.hit_features, HIT_FEATURES)]
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "query": json.loads(self.query.to_json()),
                "hit": json.loads(self.hit.to_json()),
                "features": list(self.features),
                "hit_features": list(self.hit_features),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ConfidenceModels:
        raw = json.loads(text)
        features = tuple(raw.get("features", FEATURES))  # models stored before they named their features
        hit_features = tuple(raw.get("hit_features", HIT_FEATURES))
        unknown = sorted({*features} - {*FEATURES} | {*hit_features} - {*HIT_FEATURES})
        if unknown or not hit_features or hit_features[0] != HIT_FEATURES[0]:
            raise InvalidArgumentError(
                f"stored confidence models read features this version does not compute ({unknown or hit_features}): "
                "run `hopscout calibrate` again"
            )
        return cls(
            Logistic.from_json(json.dumps(raw["query"]), len(features)),
            Logistic.from_json(json.dumps(raw["hit"]), len(hit_features)),
            features,
            hit_features,
        )

    def annotate(
        self,
        ranked: Sequence[Ranked],
        rankings: Sequence[Sequence[tuple[str, float]]],
        texts: Mapping[str, str],
        k: int,
    ) -> None:
        """Set each query's ``confidence`` and its top ``k`` rows' ``relevance`` (from the first retrieval's
        ``rankings`` and the ``texts`` of its top documents)."""
        terms = {i: term_set(t) for i, t in texts.items()}
        rows_x = [query_features(r.candidates, ranking, terms) for r, ranking in zip(ranked, rankings)]
        if not rows_x:
            return
        for r, ranking, p in zip(ranked, rankings, self.query_probability(rows_x)):
            r.confidence = float(p)
            hits = [
                hit_features(r.confidence, r.candidates, ranking, row.id, n, terms)
                for n, row in enumerate(r.rows[:k])
            ]
            if hits:
                for row, q in zip(r.rows, self.hit_probability(hits)):
                    row.relevance = float(q)


def query_confidence(
    models: ConfidenceModels,
    found: Sequence[Candidates],
    rankings: Sequence[Sequence[tuple[str, float]]],
    texts: Mapping[str, str],
) -> list[float]:
    """Each query's confidence alone (no hits): what the augmentation gate reads before it decides."""
    terms = {i: term_set(t) for i, t in texts.items()}
    rows = [query_features(c, ranking, terms) for c, ranking in zip(found, rankings)]
    return [float(p) for p in models.query_probability(rows)] if rows else []


def load_confidence(metadata: Mapping[str, object], *, lexical: bool = False) -> ConfidenceModels:
    """The collection's calibrated models, else the shipped defaults; with ``lexical``, those that read BM25
    alone (for a search that did not encode its query)."""
    raw = metadata.get(META_CONFIDENCE_LEXICAL if lexical else META_CONFIDENCE)
    if not isinstance(raw, str):
        return DEFAULT_LEXICAL_CONFIDENCE if lexical else DEFAULT_CONFIDENCE
    models = ConfidenceModels.from_json(raw)
    if lexical and not models.bm25_only:
        raise InvalidArgumentError(
            "the stored confidence models of a lexical search read the dense side: run `hopscout calibrate` again"
        )
    return models


# Fitted on SciFact, MetaTool and Seal-Tools in/out (pooled; 5,151 labelled queries plus each with its relevant
# documents removed) by hopscout.evaluation.confidence_eval.fit_defaults; see the README for their quality.
DEFAULT_CONFIDENCE = ConfidenceModels(
    query=Logistic(
        mean=(
            0.440734,
            0.068461,
            0.168847,
            0.0518025,
            0.513701,
            0.268142,
            0.30829,
            2.64823,
            4.59569,
            6.09388,
            0.280698,
            0.242664,
            0.40106,
            0.798376,
            0.57956,
            0.306725,
            3.65482,
            3.31426,
            0.196726,
            0.225731,
        ),
        scale=(
            0.123316,
            0.078127,
            0.096867,
            0.0284456,
            0.166771,
            0.159597,
            0.461787,
            0.669011,
            0.579392,
            1.33365,
            0.236043,
            0.198061,
            0.152767,
            0.334432,
            0.407898,
            0.208439,
            0.898369,
            1.21365,
            0.186801,
            0.179771,
        ),
        coef=(
            0.0292642,
            0.11931,
            0.332534,
            0.0608916,
            0.190667,
            -0.0204242,
            -0.0723588,
            0.176552,
            0.477213,
            0.274593,
            -0.320549,
            0.420756,
            0.263807,
            0.144,
            0.0753854,
            -0.00129443,
            -0.0249168,
            0.208724,
            0.647716,
            -0.0232731,
        ),
        bias=0.285428,
    ),
    hit=Logistic(
        mean=(0.869909, 0.286567, 0.401911, 1.51044, 0.434288, 0.110809),
        scale=(1.7606, 0.148475, 0.346383, 0.695407, 0.235532, 0.136369),
        coef=(0.710096, 0.0671831, 0.595499, -0.381666, 1.05184, -0.228328),
        bias=-2.73453,
    ),
)


# Fitted on the same four sets as DEFAULT_CONFIDENCE, each query's lexical search (BM25 alone), by
# `python -m hopscout.evaluation.confidence_eval --lexical ...`; see the README for their quality.
DEFAULT_LEXICAL_CONFIDENCE = ConfidenceModels(
    query=Logistic(
        mean=(
            0.513568,
            2.64823,
            4.59545,
            6.09388,
            0.281259,
            4.41112,
            3.31444,
            0.229527,
            0.238172,
        ),
        scale=(
            0.166855,
            0.669011,
            0.579119,
            1.33365,
            0.237108,
            7.08787,
            1.21413,
            0.17407,
            0.174261,
        ),
        coef=(
            0.598847,
            0.131736,
            0.335702,
            0.399555,
            0.465744,
            1.23214,
            -0.000868165,
            -0.667041,
            0.625544,
        ),
        bias=0.0354289,
    ),
    hit=Logistic(
        mean=(
            0.725792,
            0.584362,
            1.4885,
            0.150326,
        ),
        scale=(
            2.45745,
            0.233583,
            0.699961,
            0.124427,
        ),
        coef=(
            1.10861,
            1.71156,
            -0.242848,
            -0.119767,
        ),
        bias=-2.87353,
    ),
    features=LEXICAL_FEATURES,
    hit_features=LEXICAL_HIT_FEATURES,
)


class ConfidenceStage:
    """A stage with the confidence estimate set on what it returns: each query's ``confidence`` and its top
    ``k`` rows' ``relevance``, from the first retrieval's own ranking (``mode``, lexical ``weight``) and the texts
    of the shown and top-ranked documents (fetched here once; the hits reuse them). A query the search did not
    encode (a lexical search) is judged by the models that read BM25 alone. That ranking is taken as
    returned: with the passages the passage prior flagged demoted by ``demotion`` (:func:`.results.as_returned`)."""

    def __init__(
        self, inner: Stage, opts: ResolvedSearch, index: CollectionIndex, weight: float, demotion: float = 1.0
    ) -> None:
        self.inner = inner
        self.demotion = demotion
        self.opts = opts
        self.index = index
        self.mode = opts.mode
        self.weight = weight  # opts.fusion_weight, or the collection's calibrated one
        self.k = opts.k

    def retrieve(self, queries: Sequence[str]) -> list[Ranked]:
        ranked = self.inner.retrieve(queries)
        rankings = [  # the first retrieval's order, as returned
            as_returned(r.candidates.ranking(self.mode, self.weight), r.rows, self.demotion) for r in ranked
        ]
        shown = {row.id for r in ranked for row in r.rows[: self.k]}
        texts = fetch_texts(
            self.index, ranked, shown | {i for ranking in rankings for i, _ in ranking[:COVERAGE_DEPTH]}
        )
        metadata = self.index.last_metadata or self.index.metadata()
        for lexical in (False, True):  # a query that was not encoded has BM25's side alone
            picked = [n for n, r in enumerate(ranked) if (r.candidates.vector is None) == lexical]
            if picked:
                load_confidence(metadata, lexical=lexical).annotate(
                    [ranked[n] for n in picked], [rankings[n] for n in picked], texts, self.k
                )
        return ranked
