"""The last stage: ranked rows become :class:`~hopscout.types.Hit` objects, fetching only the texts the
first retrieval did not already bring."""

from __future__ import annotations

from collections.abc import Sequence

from ..index import CollectionIndex, public_metadata
from ..types import Hit
from .candidates import Ranked


def to_hits(index: CollectionIndex, ranked: Sequence[Ranked], k: int) -> list[list[Hit]]:
    """The top ``k`` rows of each query as hits; a row whose document has gone since it was ranked is dropped."""
    docs = {i: d for r in ranked for i, d in r.candidates.docs.items()}
    missing = sorted({row.id for r in ranked for row in r.rows[:k]} - docs.keys())
    docs.update({i: (t, m) for i, (t, m, _) in index.get(missing).items()})
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
            )
            for row in r.rows[:k]
            if row.id in docs
        ]
        for r in ranked
    ]
