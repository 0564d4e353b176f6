"""The last stage: ranked rows become :class:`~hopscout.types.Hit` objects, fetching only the texts the
first retrieval did not already bring."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..index import CollectionIndex, public_metadata
from ..types import Hit
from .candidates import Ranked


def fetch_texts(index: CollectionIndex, ranked: Sequence[Ranked], ids: Iterable[str]) -> dict[str, str]:
    """The texts of ``ids``, read once (kept on the candidates, so :func:`to_hits` does not read them again)."""
    docs = {i: d for r in ranked for i, d in r.candidates.docs.items()}
    missing = sorted(set(ids) - docs.keys())
    fetched = {i: (t, m) for i, (t, m, _) in index.get(missing).items()}
    for r in ranked:
        r.candidates.docs.update(fetched)
    docs.update(fetched)
    return {i: t for i, (t, _) in docs.items()}


def to_hits(index: CollectionIndex, ranked: Sequence[Ranked], k: int) -> list[list[Hit]]:
    """The top ``k`` rows of each query as hits; a row whose document has gone since it was ranked is dropped."""
    fetch_texts(index, ranked, {row.id for r in ranked for row in r.rows[:k]})
    docs = {i: d for r in ranked for i, d in r.candidates.docs.items()}
    return [
        [
            Hit(
                row.id,
                docs[row.id][0],
                float(row.score),
                public_metadata(docs[row.id][1]),
                row.scores,
                row.hop,
                row.parent,
                r.note,
                r.confidence,
                row.relevance,
                row.flags,
            )
            for row in r.rows[:k]
            if row.id in docs
        ]
        for r in ranked
    ]
