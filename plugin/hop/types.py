"""What a hop operator sees and returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HopInput:
    """What an operator sees for one retrieved passage: the question, its embedding ``q``, the passage's
    text and its stored embedding ``c`` (empty for text-level operators, which read text only), and for
    operators that ask for them the passage's key phrases and their vectors (one row each; see
    :mod:`hopscout.hop.phrases`)."""

    question: str
    q: np.ndarray
    passage: str
    c: np.ndarray
    phrases: tuple[str, ...] = ()
    phrase_vectors: np.ndarray | None = None


@dataclass(frozen=True)
class HopQuery:
    """The next query: a dense vector (or several, one per row: a passage scores its best match), a BM25
    text, or both (their ranked lists are fused by reciprocal rank)."""

    vector: np.ndarray | None = None
    text: str | None = None


HopOperator = Callable[[HopInput], HopQuery]
