"""Vector helpers shared by the embedders, the hop operators and the augmenters."""

from __future__ import annotations

import numpy as np


def unit(vector: np.ndarray) -> np.ndarray:
    """``vector`` scaled to length 1 (as float32); a zero vector is returned unchanged."""
    vector = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (as float32); zero rows are left as they are."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms
