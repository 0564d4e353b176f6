"""The last stage: ranked rows become :class:`~hopscout.types.Hit` objects, reading each document from the
store once (an earlier stage may have read it already: the candidates keep what was read)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..index import CollectionIndex, public_metadata
from ..types import Hit
from .candidates import Ranked, Row


def fetch_texts(index: CollectionIndex, ranked: Sequence[Ranked], ids: Iterable[str]) -> dict[str, str]:
    """The texts of ``ids``, read once (kept on the candidates, so :func:`to_hits` does not read them again)."""
    docs = {i: d for r in ranked for i, d in r.candidates.docs.items()}
    missing = sorted(set(ids) - docs.keys())
    fetched = index.get(missing)
    for r in ranked:
        r.candidates.docs.update(fetched)
    docs.update(fetched)
    return {i: doc.text for i, doc in docs.items()}


def demoted(score: float, demotion: float) -> float:
    """``score`` times ``demotion`` (at most 1), down whatever its sign: the passage prior's demotion."""
    return min(score * demotion, score * (2.0 - demotion))


def as_returned(
    ranking: Sequence[tuple[str, float]], rows: Sequence[Row], demotion: float
) -> list[tuple[str, float]]:
    """The first retrieval's ``ranking`` as the search returns it: the passages flagged on ``rows`` demoted
    as the passage prior demoted them (``demotion``; 1: not at all), best first again. What the confidence
    estimate reads, so that ``confidence`` (of the top hit) and ``relevance`` describe the list the caller gets,
    not one with a demoted passage still on top. Unchanged when nothing is flagged."""
    flagged = {row.id for row in rows if row.flags}
    if demotion >= 1.0 or not flagged.intersection(i for i, _ in ranking):
        return list(ranking)
    scored = [(i, demoted(s, demotion) if i in flagged else s) for i, s in ranking]
    return sorted(scored, key=lambda item: -item[1])  # stable: ties keep the first retrieval's order


def to_hits(index: CollectionIndex, ranked: Sequence[Ranked], k: int) -> list[list[Hit]]:
    """The top ``k`` rows of each query as hits; a row whose document has gone since it was ranked is dropped."""
    fetch_texts(index, ranked, {row.id for r in ranked for row in r.rows[:k]})
    docs = {i: d for r in ranked for i, d in r.candidates.docs.items()}
    return [
        [
            Hit(
                id=row.id,
                text=docs[row.id].text,
                score=float(row.score),
                metadata=public_metadata(docs[row.id].metadata),
                scores=row.scores,
                hop=row.hop,
                parent=row.parent,
                note=r.note,
                confidence=r.confidence,
                relevance=row.relevance,
                flags=row.flags,
            )
            for row in r.rows[:k]
            if row.id in docs
        ]
        for r in ranked
    ]
