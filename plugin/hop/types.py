"""What a hop operator sees and returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HopInput:
    """What an operator sees for one retrieved passage: the question, its embedding ``q``, the passage's
    text and its stored embedding ``c`` (empty for text-level operators, which read text only)."""

    question: str
    q: np.ndarray
    passage: str
    c: np.ndarray


@dataclass(frozen=True)
class HopQuery:
    """The next query: a dense vector, a BM25 text, or both."""

    vector: np.ndarray | None = None
    text: str | None = None


HopOperator = Callable[[HopInput], HopQuery]
