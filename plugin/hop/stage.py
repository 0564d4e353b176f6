"""The hop stage of a search (``hops > 1``): the hop loop, pruning, stop rule and merge.

The stage before it (plain or augmented) is the first hop. Each of its top ``beam`` passages spawns a next query
through a hop operator (:mod:`hopscout.hop.registry`); each layer keeps its best unseen candidates by score and
stops when it brings nothing new; what later hops find fills the last ``fill`` slots of one merged list."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np

from .. import fusion
from ..embedders import Embedder
from ..index import CollectionIndex
from ..retrieval import Ranked, Row, Stage
from ..retrieval.options import ResolvedSearch
from .phrases import PassagePhrases
from .registry import OperatorSpec
from .types import HopInput, HopOperator, HopQuery

HOP_DEPTH = 20  # candidates per retriever of each spawned query (a search's own depth is HOPSCOUT_CANDIDATES)
# The hop stage has always fused with 1 / (60 + rank), rank from 0: fusion's formula with k = 59, kept so the
# hop rankings stay as they were (fusion.RRF_K = 60 elsewhere).
HOP_RRF_K = 59


def fill_slots(k: int, fill_ratio: float) -> int:
    """How many of the ``k`` result slots later hops may take (the rest keep the first hop's order)."""
    return max(1, min(k - 1, round(k * fill_ratio))) if k > 1 else 0


def merge(first: list[Any], later: list[Any], k: int, fill: int, key: Callable[[Any], str]) -> list[Any]:
    """Keep the first hop's top ``k - fill``, then the best unseen later-hop results, then the first hop's rest."""
    kept = first[: k - fill]
    seen = {key(h) for h in kept}
    out = list(kept)
    for hit in later + first[k - fill :]:
        if len(out) >= k:
            break
        if key(hit) not in seen:
            out.append(hit)
            seen.add(key(hit))
    return out


class HopStage:
    """Multi-hop search over ``inner`` (the first hop). Rows are rescored by merged rank (``1 - rank / k``) and
    keep their own score as ``hop_score``; later-hop rows say their ``hop`` and ``parent`` passage."""

    def __init__(
        self,
        inner: Stage,
        opts: ResolvedSearch,
        *,
        index: CollectionIndex,
        embedder: Embedder,
        spec: OperatorSpec,
        operator: HopOperator,
        phrases: PassagePhrases | None = None,
        pool: Executor | None = None,
    ) -> None:
        self.inner = inner
        self.opts = opts
        self.index = index
        self.embedder = embedder
        self.operator = operator  # spec's operator, with its weights loaded for this embedder
        self.text_level = spec.text_level
        self.passage_vectors = spec.passage_vectors
        self.phrases = phrases  # the operator reads key phrases: these are the collection's
        self.pool = pool
        self.hops = opts.hops
        self.beam = opts.beam
        self.k = opts.k
        self.fill = fill_slots(opts.k, opts.hop_fill)
        self.where = opts.where

    def retrieve(self, queries: Sequence[str]) -> list[Ranked]:
        firsts = self.inner.retrieve(queries)
        q_vecs = self._query_vectors(queries, firsts)
        out = []
        for query, q_vec, ranked in zip(queries, q_vecs, firsts):
            later = self._later_hops(query, q_vec, ranked)
            merged = merge(ranked.rows[: self.k], later, self.k, self.fill, key=lambda row: row.id)
            rows = [
                Row(r.id, 1.0 - rank / self.k, {**r.scores, "hop_score": r.score}, hop=r.hop, parent=r.parent)
                for rank, r in enumerate(merged)
            ]
            out.append(Ranked(ranked.candidates, rows, note=ranked.note))
        return out

    def _query_vectors(self, queries: Sequence[str], firsts: Sequence[Ranked]) -> Sequence[np.ndarray]:
        if self.text_level:  # text operators read passages only: no encode, no vector fetch
            return [np.zeros(0, dtype=np.float32)] * len(queries)
        known = [r.candidates.vector for r in firsts]
        if all(v is not None for v in known):
            return known  # type: ignore[return-value]
        return list(self.embedder.embed_queries(list(queries)))

    def _later_hops(self, query: str, q_vec: np.ndarray, first: Ranked) -> list[Row]:
        keep = self.k - self.fill
        frontier = first.rows[: self.beam]
        # a passage is never found again from the layer it spawned from (no hit is its own parent)
        seen = {row.id for row in first.rows[:keep]} | {row.id for row in frontier}
        found: list[Row] = []
        for layer in range(2, self.hops + 1):
            stored = self.index.get([row.id for row in frontier], embeddings=self.passage_vectors)
            phrases = self.phrases.lookup(stored) if self.phrases else {}
            best: dict[str, tuple[float, str]] = {}
            specs: list[tuple[str, HopQuery]] = []
            for parent in frontier:
                if parent.id not in stored:
                    continue
                doc = stored[parent.id]
                c = (
                    np.asarray(doc.embedding, dtype=np.float32)
                    if doc.embedding is not None
                    else np.zeros(0, dtype=np.float32)
                )
                own = phrases.get(parent.id)
                inp = HopInput(
                    question=query,
                    q=q_vec,
                    passage=doc.text,
                    c=c,
                    phrases=tuple(own.phrases) if own else (),
                    phrase_vectors=own.vectors if own else None,
                )
                specs.append((parent.id, self.operator(inp)))
            texts = [(parent_id, spec.text) for parent_id, spec in specs if spec.text]
            # BM25 queries run on the pool while the store answers the vectors (both release the GIL)
            job = self.pool.submit(self._lexical, texts) if self.pool is not None and texts else None
            dense = self._dense_per_parent(specs)
            lexical = job.result() if job is not None else self._lexical(texts)
            for parent_id, spec in specs:
                lists = []
                if parent_id in lexical:
                    lists.append(lexical[parent_id])
                if parent_id in dense:
                    lists.append(dense[parent_id])
                for doc_id, score in lists[0] if len(lists) == 1 else reciprocal_rank_fusion(lists):
                    _keep_best(best, doc_id, score, parent_id, seen)
            if not best:
                break  # stop rule: this layer brought nothing new
            ranked = sorted(best.items(), key=lambda item: -item[1][0])
            docs = self.index.get([doc_id for doc_id, _ in ranked[: max(self.beam, keep)]])
            first.candidates.docs.update(docs)
            layer_rows = [
                Row(doc_id, score, {"hop": score}, hop=layer, parent=parent)
                for doc_id, (score, parent) in ranked
                if doc_id in docs
            ]
            found.extend(layer_rows)
            seen.update(row.id for row in layer_rows)
            frontier = layer_rows[: self.beam]
        return found

    def _lexical(self, texts: list[tuple[str, str]]) -> dict[str, list[tuple[str, float]]]:
        """Each parent's BM25 query, scores scaled so its best is 1."""
        out = {}
        for parent_id, text in texts:
            rows = self.index.lexical_search(text, HOP_DEPTH, self.where)
            top = rows[0][1] if rows else 1.0
            out[parent_id] = [(doc_id, score / top) for doc_id, score in rows]
        return out

    def _dense_per_parent(self, specs: list[tuple[str, HopQuery]]) -> dict[str, list[tuple[str, float]]]:
        """Every parent's query vectors searched in one store call; a passage scores its best cosine over the
        parent's vectors, best ``HOP_DEPTH`` first."""
        vectors: list[np.ndarray] = []
        owners: list[str] = []
        for parent_id, spec in specs:
            if spec.vector is not None:
                rows = np.atleast_2d(spec.vector)
                vectors.extend(rows)
                owners.extend([parent_id] * len(rows))
        if not vectors:
            return {}
        scores: dict[str, dict[str, float]] = {}
        for parent_id, matches in zip(
            owners, self.index.dense(np.stack(vectors), HOP_DEPTH, self.where, documents=False)
        ):
            mine = scores.setdefault(parent_id, {})
            for match in matches:
                mine[match.id] = max(match.score, mine.get(match.id, -np.inf))
        return {
            parent_id: sorted(mine.items(), key=lambda item: -item[1])[:HOP_DEPTH]
            for parent_id, mine in scores.items()
        }


def reciprocal_rank_fusion(
    lists: Sequence[Sequence[tuple[str, float]]], depth: int = HOP_DEPTH, c: int = HOP_RRF_K
) -> list[tuple[str, float]]:
    """Equal-weight RRF of ranked ``(id, score)`` lists, scaled so the best is 1 (so parents compare); the
    best ``depth``."""
    fused: dict[str, float] = {}
    for ranked in lists:
        for rank, (doc_id, _) in enumerate(ranked):
            fused[doc_id] = fused.get(doc_id, 0.0) + fusion.rrf_term(rank, c)
    top = max(fused.values(), default=1.0)
    return sorted(((d, s / top) for d, s in fused.items()), key=lambda item: -item[1])[:depth]


def _keep_best(
    best: dict[str, tuple[float, str]], doc_id: str, score: float, parent: str, seen: set[str]
) -> None:
    if doc_id not in seen and (doc_id not in best or score > best[doc_id][0]):
        best[doc_id] = (score, parent)
