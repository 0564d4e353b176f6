"""The last stage: ranked rows become :class:`~hopscout.types.Hit` objects, reading each document from the
store once (an earlier stage may have read it already: the candidates keep what was read)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..index import CollectionIndex, public_metadata
from ..types import Hit
from .candidates import Ranked


def fetch_texts(index: CollectionIndex, ranked: Sequence[Ranked], ids: Iterable[str]) -> dict[str, str]:
    """The texts of ``ids``, read once (kept on the candidates, so :func:`to_hits` does not read them again)."""
    docs = {i: d for r in ranked for i, d in r.candidates.docs.items()}
    missing = sorted(set(ids) - docs.keys())
    fetched = index.get(missing)
    for r in ranked:
        r.candidates.docs.update(fetched)
    docs.update(fetched)
    return {i: doc.text for i, doc in docs.items()}


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
