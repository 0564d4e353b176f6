"""What flows through the search pipeline: a query's first-retrieval :class:`Candidates`, and the
:class:`Ranked` rows each stage hands to the next (texts are fetched once, at the end)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .. import fusion
from ..index import StoredDoc
from .signals import signals


@dataclass
class Candidates:
    """One query's first retrieval: its vector (when encoded), dense and BM25 ``{id: score}`` (best first),
    the stored documents read so far (the dense query's when it brought them, then those fetched for the
    results: each is read once), and confidence signals (when asked for)."""

    query: str
    vector: np.ndarray | None
    dense_scores: dict[str, float]
    lexical_scores: dict[str, float]
    docs: dict[str, StoredDoc] = field(default_factory=dict)
    features: list[float] | None = None
    term_idf: dict[str, float] = field(
        default_factory=dict
    )  # the query's BM25 terms and their IDF (with signals)

    def with_signals(self) -> Candidates:
        """These candidates with their confidence signals computed (from the lists and ``term_idf``)."""
        self.features = signals(
            list(self.dense_scores.values()),
            list(self.lexical_scores.values()),
            list(self.dense_scores),
            list(self.lexical_scores),
            list(self.term_idf.values()),
        )
        return self

    def without(self, ids: set[str]) -> Candidates:
        """These candidates as if the documents ``ids`` were not in the collection (signals recomputed)."""
        return Candidates(
            query=self.query,
            vector=self.vector,
            dense_scores={i: s for i, s in self.dense_scores.items() if i not in ids},
            lexical_scores={i: s for i, s in self.lexical_scores.items() if i not in ids},
            term_idf=dict(self.term_idf),
        ).with_signals()

    def ranking(self, mode: str, weight: float) -> list[tuple[str, float]]:
        """The mode's ranking of these candidates (ties by id); hybrid fuses them with lexical ``weight``."""
        if mode == "dense":
            return sorted(self.dense_scores.items(), key=lambda item: (-item[1], item[0]))
        if mode == "lexical":
            return sorted(self.lexical_scores.items(), key=lambda item: (-item[1], item[0]))
        return fusion.convex(self.dense_scores, self.lexical_scores, weight)


@dataclass
class Row:
    """One result before its text is fetched: id, score, the score's parts, and multi-hop provenance."""

    id: str
    score: float
    scores: dict[str, float]
    hop: int = 1
    parent: str | None = None
    relevance: float | None = None
    flags: tuple[str, ...] = ()  # hostile-text signs (hopscout.suspicion), set by the passage prior stage


@dataclass
class Ranked:
    """One query's ranked rows as a stage leaves them, with its candidates and a note for the caller."""

    candidates: Candidates
    rows: list[Row]
    note: str | None = None
    confidence: float | None = None


class Stage(Protocol):
    """A step of the search pipeline: queries in, one :class:`Ranked` per query out. Stages wrap one another
    (the hop stage runs the stage before it as its first hop)."""

    def retrieve(self, queries: Sequence[str]) -> list[Ranked]: ...
