"""Fusing ranked lists: each method a small named function.

Two retrievers (``{id: score}`` from dense and from BM25): ``convex`` mixes min-max-normalised scores with a
lexical weight; the weight is fitted per collection by :mod:`hopscout.calibration` (fixed RRF and any one
fixed weight lose to the better single retriever on some collections). ``rrf`` is kept as the reference.

Many lists (one per query of a request, e.g. tool retrieval): :func:`max_lists` (a key's best score) and
:func:`rrf_lists`; both also say which list gave each key its place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

Scores = Mapping[str, float]
Fused = list[tuple[str, float]]
Sourced = dict[str, tuple[float, int]]  # key → (fused score, index of the list it is credited to)
RRF_K = 60


def minmax(scores: Scores) -> dict[str, float]:
    """Scores scaled to [0, 1] within the list (all 1.0 when they are equal)."""
    if not scores:
        return {}
    values = np.fromiter(scores.values(), dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    span = high - low
    if span <= 1e-12:
        return {key: 1.0 for key in scores}
    return {key: (value - low) / span for key, value in scores.items()}


def convex(dense: Scores, lexical: Scores, weight: float = 0.5) -> Fused:
    """``(1-w)·minmax(dense) + w·minmax(lexical)``; a document missing from one list gets 0 there."""
    d, lx = minmax(dense), minmax(lexical)
    fused = {
        key: (1.0 - weight) * d.get(key, 0.0) + weight * lx.get(key, 0.0) for key in d.keys() | lx.keys()
    }
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def rrf_term(rank: int, k: int = RRF_K, weight: float = 1.0) -> float:
    """The one reciprocal-rank formula: what place ``rank`` (0 = first) of a list adds, ``weight / (k + rank + 1)``."""
    return weight / (k + rank + 1)


def rrf_lists(lists: Sequence[Scores], weights: Sequence[float] | None = None, k: int = RRF_K) -> Sourced:
    """Reciprocal-rank fusion: ``Σ weight / (k + rank + 1)`` over the lists (weight 1 each by default).

    A key is credited to the first list it appears in."""
    out: Sourced = {}
    for n, scores in enumerate(lists):
        share = 1.0 if weights is None else weights[n]
        for rank, key in enumerate(sorted(scores, key=lambda x: -scores[x])):
            score, source = out.get(key, (0.0, n))
            out[key] = (score + rrf_term(rank, k, share), source)
    return out


def max_lists(lists: Sequence[Scores]) -> Sourced:
    """A key's best score over the lists, credited to the list that gave it (the first on a tie)."""
    out: Sourced = {}
    for n, scores in enumerate(lists):
        for key, score in scores.items():
            if key not in out or score > out[key][0]:
                out[key] = (score, n)
    return out


def rrf(dense: Scores, lexical: Scores, weight: float = 0.5, k: int = RRF_K) -> Fused:
    """Weighted reciprocal-rank fusion of two retrievers (``weight`` = lexical share; 0.5 is classic RRF)."""
    fused = rrf_lists([dense, lexical], [2.0 * (1.0 - weight), 2.0 * weight], k)
    return sorted(((key, score) for key, (score, _) in fused.items()), key=lambda item: (-item[1], item[0]))
