"""Weighted L2 logistic regression on sparse rows by L-BFGS (scipy's), the gradient computed in numpy."""

from __future__ import annotations

import numpy as np

from .features import Rows

_MEMORY = 10  # L-BFGS curvature pairs kept
_TOLERANCE = 1e-6  # stop when the gradient's largest entry is this small (relative to the total weight)


def fit_sparse_logistic(
    x: Rows, y: np.ndarray, weight: np.ndarray, *, l2: float, max_steps: int = 300
) -> tuple[np.ndarray, float]:
    """Coefficients and intercept minimising weighted log-loss + ``l2``/2 · |coef|² (intercept unpenalised)."""
    row_of = np.repeat(np.arange(len(x.indptr) - 1), np.diff(x.indptr))

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x.dot(w[:-1]) + w[-1]
        r = weight * (1.0 / (1.0 + np.exp(-np.clip(z, -40, 40))) - y)
        grad = np.bincount(x.indices, weights=x.values * r[row_of], minlength=x.width) + l2 * w[:-1]
        value = weight @ (np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * w[:-1] @ w[:-1]
        return float(value), np.append(grad, r.sum())

    # scipy's L-BFGS-B (a dependency already): a hand-rolled optimiser would be one more thing to get right
    from scipy.optimize import minimize

    result = minimize(
        loss,
        np.zeros(x.width + 1),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_steps, "maxcor": _MEMORY, "gtol": _TOLERANCE * float(weight.sum())},
    )
    w = np.asarray(result.x, dtype=np.float64)
    return w[:-1], float(w[-1])
