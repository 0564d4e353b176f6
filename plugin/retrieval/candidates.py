"""What flows through the search pipeline: a query's first-retrieval :class:`Candidates`, and the
:class:`Ranked` rows each stage hands to the next (texts are fetched once, at the end)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .. import fusion


@dataclass
class Candidates:
    """One query's first retrieval: its vector (when encoded), dense and BM25 ``{id: score}`` (best first),
    texts and metadata the dense query returned, and confidence signals (when asked for)."""

    query: str
    vector: np.ndarray | None
    dense: dict[str, float]
    lexical: dict[str, float]
    docs: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    features: list[float] | None = None

    def ranking(self, mode: str, weight: float) -> list[tuple[str, float]]:
        """The mode's ranking of these candidates (ties by id); hybrid fuses them with lexical ``weight``."""
        if mode == "dense":
            return sorted(self.dense.items(), key=lambda item: (-item[1], item[0]))
        if mode == "lexical":
            return sorted(self.lexical.items(), key=lambda item: (-item[1], item[0]))
        return fusion.convex(self.dense, self.lexical, weight)


@dataclass
class Row:
    """One result before its text is fetched: id, score, the score's parts, and multi-hop provenance."""

    id: str
    score: float
    scores: dict[str, float]
    hop: int = 1
    parent: str | None = None


@dataclass
class Ranked:
    """One query's ranked rows as a stage leaves them, with its candidates and a note for the caller."""

    candidates: Candidates
    rows: list[Row]
    note: str | None = None


class Stage(Protocol):
    """A step of the search pipeline: queries in, one :class:`Ranked` per query out. Stages wrap one another
    (the hop stage runs the stage before it as its first hop)."""

    def retrieve(self, queries: Sequence[str]) -> list[Ranked]: ...
