"""A small logistic model over standardised features: fitted by Newton's method, stored as JSON, no dependency.

The augmentation gate and the confidence estimates are each one of these: a handful of features, a few hundred
labelled queries, and a probability that must stay calibrated."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike

from .errors import InvalidArgumentError


def fit_logistic(
    x: np.ndarray, y: np.ndarray, *, l2: float = 1.0, weights: np.ndarray | None = None, steps: int = 60
) -> tuple[np.ndarray, float]:
    """L2-regularised (weighted) logistic regression by Newton's method; the intercept is not penalised."""
    a = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(a.shape[1])
    sw = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
    penalty = np.full(a.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(a @ w)))
        grad = a.T @ (sw * (p - y)) + penalty * w
        hess = (a.T * (sw * p * (1 - p))) @ a + np.diag(penalty) + 1e-9 * np.eye(a.shape[1])
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w[:-1], float(w[-1])


@dataclass(frozen=True)
class Logistic:
    """``P = sigmoid(((x - mean) / scale) · coef + bias)``; ``source`` says where it came from."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    bias: float
    source: str = "default"

    @classmethod
    def fit(
        cls,
        x: ArrayLike,
        y: ArrayLike,
        *,
        l2: float = 1.0,
        weights: ArrayLike | None = None,
        source: str = "calibrated",
    ) -> Logistic:
        """Fit on features ``x`` and 0/1 labels ``y`` (optionally weighted)."""
        xs = np.asarray(x, dtype=np.float64)
        mean, scale = xs.mean(axis=0), xs.std(axis=0)
        scale[scale < 1e-9] = 1.0
        coef, bias = fit_logistic(
            (xs - mean) / scale,
            np.asarray(y, dtype=np.float64),
            l2=l2,
            weights=None if weights is None else np.asarray(weights),
        )
        return cls(tuple(mean), tuple(scale), tuple(float(c) for c in coef), bias, source)

    def probability(self, x: ArrayLike) -> np.ndarray:
        z = (np.asarray(x, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(self.scale)
        return 1.0 / (1.0 + np.exp(-(z @ np.asarray(self.coef) + self.bias)))

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str, width: int) -> Logistic:
        """A stored model with ``width`` features; InvalidArgumentError when it is unreadable or another shape."""
        try:
            raw = json.loads(text)
            model = cls(**{**raw, **{k: tuple(raw[k]) for k in ("mean", "scale", "coef")}})
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidArgumentError(
                f"a stored model is unreadable ({exc}); run hopscout calibrate again"
            ) from exc
        if not len(model.mean) == len(model.scale) == len(model.coef) == width:
            raise InvalidArgumentError(
                "a stored model has the wrong number of features; run hopscout calibrate again"
            )
        return model


def expected_calibration_error(p: ArrayLike, y: ArrayLike, bins: int = 10) -> float:
    """Mean |predicted − observed| over equal-width probability bins, weighted by how many fall in each."""
    ps, ys = np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64)
    which = np.minimum((ps * bins).astype(int), bins - 1)
    return float(
        sum(
            (which == b).mean() * abs(ps[which == b].mean() - ys[which == b].mean())
            for b in range(bins)
            if (which == b).any()
        )
    )


def auroc(scores: ArrayLike, labels: ArrayLike) -> float:
    """Area under the ROC curve (ties count half): the chance a positive scores above a negative."""
    from scipy.stats import rankdata

    s, y = np.asarray(scores, dtype=np.float64), np.asarray(labels) > 0
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if not n_pos or not n_neg:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
