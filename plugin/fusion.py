"""Hybrid fusion: each method a small named function over two ``{id: score}`` maps, picked by name.

``convex`` mixes min-max-normalised scores with a lexical weight; the weight is fitted per collection by
:mod:`hopscout.calibration` (fixed RRF and any one fixed weight lose to the better single retriever on some
collections). ``rrf`` is kept as the reference."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .errors import InvalidArgumentError

Scores = Mapping[str, float]
Fused = list[tuple[str, float]]


def _minmax(scores: Scores) -> dict[str, float]:
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
    d, lx = _minmax(dense), _minmax(lexical)
    fused = {key: (1.0 - weight) * d.get(key, 0.0) + weight * lx.get(key, 0.0) for key in d.keys() | lx.keys()}
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def rrf(dense: Scores, lexical: Scores, weight: float = 0.5, k: int = 60) -> Fused:
    """Weighted reciprocal-rank fusion (``weight`` = lexical share; 0.5 is classic RRF)."""
    fused: dict[str, float] = {}
    for scores, share in ((dense, 1.0 - weight), (lexical, weight)):
        ranked = sorted(scores.items(), key=lambda item: -item[1])
        for rank, (key, _) in enumerate(ranked):
            fused[key] = fused.get(key, 0.0) + 2.0 * share / (k + rank + 1)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


FUSIONS: dict[str, Callable[..., Fused]] = {"convex": convex, "rrf": rrf}


def get_fusion(name: str) -> Callable[..., Fused]:
    """The fusion function called ``name``; raises InvalidArgumentError listing the valid names."""
    try:
        return FUSIONS[name]
    except KeyError:
        raise InvalidArgumentError(f"Unknown fusion {name!r}; choose one of {sorted(FUSIONS)}") from None
