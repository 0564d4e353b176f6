"""The first retrieval, written once: dense and BM25 candidates for a batch of queries, and the stage that
ranks them as the search mode says (the whole search when nothing else is asked for)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np

from .. import fusion
from ..analysis import term_set
from ..embedders import Embedder
from ..filters import Where
from ..index import CollectionIndex
from .candidates import Candidates, Ranked, Row
from .options import ResolvedSearch
from .signals import idf


class FirstRetrieval:
    """Dense and BM25 candidates from one collection. BM25 runs on ``pool`` while the query is encoded."""

    def __init__(self, index: CollectionIndex, embedder: Embedder, pool: Executor | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.pool = pool

    def run(
        self,
        queries: Sequence[str],
        *,
        mode: str,
        depth: int,
        where: Where | None = None,
        both: bool = False,
        with_signals: bool = False,
        vectors: np.ndarray | None = None,
    ) -> list[Candidates]:
        """The top ``depth`` of the retrievers ``mode`` uses (of both with ``both``). ``with_signals`` computes
        the confidence signals (from the retrievers that ran: a lexical search's read BM25 alone); ``vectors``
        are the queries' embeddings when the caller has them already (a second search of the same queries).
        Texts are read later, for the rows that need them (:mod:`.results`)."""
        use_dense = both or mode != "lexical"
        use_lexical = both or mode != "dense"
        lexical_job: Any = None
        if use_lexical and use_dense and self.pool is not None:
            lexical_job = self.pool.submit(self.index.lexical_search_many, list(queries), depth, where)
        if use_dense and vectors is None:
            vectors = self.embedder.embed_queries(list(queries))
        elif not use_dense:
            vectors = None
        dense_rows = self.index.dense(vectors, depth, where, documents=False) if vectors is not None else None
        if lexical_job is not None:
            lexical_rows = lexical_job.result()
        else:
            lexical_rows = (
                self.index.lexical_search_many(list(queries), depth, where) if use_lexical else None
            )
        out = []
        for n, query in enumerate(queries):
            drows = dense_rows[n] if dense_rows is not None else []
            lrows = lexical_rows[n] if lexical_rows is not None else []
            out.append(
                Candidates(
                    query=query,
                    vector=np.asarray(vectors[n], dtype=np.float32) if vectors is not None else None,
                    dense_scores={m.id: m.score for m in drows},
                    lexical_scores=dict(lrows),
                )
            )
        if with_signals:
            self._add_signals(out)
        return out

    def _add_signals(self, batch: list[Candidates]) -> None:
        total = self.index.indexed_count()
        terms = [sorted(term_set(c.query)) for c in batch]
        freqs = self.index.doc_freqs([t for ts in terms for t in ts])
        for c, ts in zip(batch, terms):
            c.term_idf = {t: idf(freqs.get(t, 0), total) for t in ts}
            c.with_signals()


class FirstStage:
    """The plain search: the first retrieval ranked by the mode. Single retrievers keep their own order; hybrid
    fuses each retriever's top ``depth`` (convex, lexical ``weight``). Scores: ``dense`` / ``lexical``, and
    for hybrid ``fused`` beside the parts. A dense or hybrid search runs both retrievers (BM25 on a worker
    thread): the confidence of the result reads them both (:mod:`.confidence`); a one-hop lexical one runs BM25
    alone. (An augmented search runs :class:`~hopscout.augment.AugmentStage` instead.)"""

    def __init__(self, first: FirstRetrieval, opts: ResolvedSearch, weight: float) -> None:
        self.first = first
        self.opts = opts
        self.mode = opts.mode
        self.weight = weight  # opts.fusion_weight, or the collection's calibrated one
        self.depth = max(opts.k, opts.depth)
        self.where = opts.where

    def retrieve(self, queries: Sequence[str]) -> list[Ranked]:
        both = not self.lexical_only
        batch = self.first.run(
            queries,
            mode=self.mode,
            depth=self.depth,
            where=self.where,
            both=both,
            with_signals=both or self.opts.confidence,
        )
        return [Ranked(c, self.rows(c)) for c in batch]

    @property
    def lexical_only(self) -> bool:
        """A lexical search with no further hop (hops start from the query's vector): the query is not encoded
        and the embedding model is never loaded. Its confidence estimate, when asked for, reads BM25 alone."""
        return self.mode == "lexical" and self.opts.hops == 1

    def rows(self, c: Candidates) -> list[Row]:
        if self.mode == "dense":
            return [Row(i, s, {"dense": s}) for i, s in c.dense_scores.items()]
        if self.mode == "lexical":
            return [Row(i, s, {"lexical": s}) for i, s in c.lexical_scores.items()]
        return [
            Row(
                i,
                s,
                {
                    "fused": s,
                    **({"dense": c.dense_scores[i]} if i in c.dense_scores else {}),
                    **({"lexical": c.lexical_scores[i]} if i in c.lexical_scores else {}),
                },
            )
            for i, s in fusion.convex(c.dense_scores, c.lexical_scores, self.weight)[: self.depth]
        ]
