"""Confidence signals of a first retrieval: what its dense and BM25 lists already say about the query.

The dense top score, its gap to the 2nd and 10th hit and the spread of the top 10, how far BM25's top falls
by the 10th, whether dense and BM25 agree (top-10 overlap, same top-1), and the query's length and IDF
(document frequencies from FTS5). The augmentation gate reads them (:mod:`hopscout.augment.gate`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

SIGNALS = (
    "dense_top",
    "dense_margin",
    "dense_gap",
    "dense_spread",
    "lexical_drop",
    "agreement",
    "top1_agree",
    "query_terms",
    "idf_mean",
    "idf_max",
)
DEPTH = 10


def idf(doc_freq: int, total_docs: int) -> float:
    """A term's IDF as the signals read it: ``log(1 + N / (1 + df))``."""
    return math.log(1 + max(total_docs, 1) / (1 + doc_freq))


def signals(
    dense: Sequence[float],
    lexical: Sequence[float],
    dense_ids: Sequence[str],
    lexical_ids: Sequence[str],
    term_idf: Sequence[float],
) -> list[float]:
    """The signals of one query (in :data:`SIGNALS` order) from its ranked dense/BM25 scores and ids and its
    BM25 terms' IDF (:func:`idf`)."""
    d = list(dense[:DEPTH]) or [0.0]
    lx = list(lexical[:DEPTH])
    top_d, top_l = set(dense_ids[:DEPTH]), set(lexical_ids[:DEPTH])
    idf_values = list(term_idf) or [0.0]
    return [
        d[0],
        d[0] - d[1] if len(d) > 1 else 0.0,
        d[0] - d[-1],
        float(np.std(d)),
        (lx[0] - lx[-1]) / lx[0] if lx and lx[0] > 0 else 0.0,
        len(top_d & top_l) / DEPTH,
        float(bool(dense_ids) and bool(lexical_ids) and dense_ids[0] == lexical_ids[0]),
        math.log1p(len(term_idf)),
        float(np.mean(idf_values)),
        float(np.max(idf_values)),
    ]
