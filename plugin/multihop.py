"""``Scout.search(..., hops=N)``: the hop loop, pruning, stop rule and merge (see :mod:`hopscout.hops`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InvalidArgumentError
from .filters import Where
from .hop_models import ARCHITECTURES, HopModel, weights_path
from .hops import HopInput, HopOperator, fill_slots, get_operator, merge
from .index import public_metadata
from .types import Hit

if TYPE_CHECKING:
    from .scout import Scout

MAX_HOPS = 4
TEXT_OPERATORS = frozenset({"entity", "bridge"})
_CANDIDATES = 20  # per spawned query


def operator_for(scout: Scout, name: str) -> HopOperator:
    """The named operator; learned ones load their weights for the scout's embedder (once)."""
    if name not in ARCHITECTURES:
        return get_operator(name, also_valid=ARCHITECTURES)
    cache: dict[str, HopOperator] = scout.__dict__.setdefault("_hop_models", {})
    if name not in cache:
        path = weights_path(name, scout.embedder.id, scout.settings.home)
        if not path.exists():
            raise InvalidArgumentError(
                f"No {name!r} hop weights for embedder {scout.embedder.id!r} (looked for {path}); run "
                f"`hopscout train-hop --arch {name}` or use hop_operator='identity', 'mix' or 'entity'."
            )
        cache[name] = HopModel.load(path, scout.embedder.id, scout.embedder.dim)
    return cache[name]


def hop_search(
    scout: Scout, queries: Sequence[str], k: int, *, where: Where | None, mode: Any, fusion_weight: float | None,
    collection: str | None, hops: int, beam: int | None, operator: str | None, augment: str | None = None,
    augmenter: str | None = None, expansion: str | None = None,
) -> list[list[Hit]]:
    """Multi-hop search for each query; returns one merged ranked list of ``k`` hits per query.

    The first hop is an ordinary search with the call's ``augment`` / ``augmenter`` / ``expansion``."""
    if isinstance(hops, bool) or not isinstance(hops, int) or not 1 <= hops <= MAX_HOPS:
        raise InvalidArgumentError(f"hops must be an integer from 1 to {MAX_HOPS}, got {hops!r}")
    beam = scout.settings.hop_beam if beam is None else beam
    if isinstance(beam, bool) or not isinstance(beam, int) or not 1 <= beam <= 50:
        raise InvalidArgumentError(f"beam must be an integer from 1 to 50, got {beam!r}")
    name = operator or scout.settings.hop_operator
    op = operator_for(scout, name)
    first = scout.search_batch(queries, k, where=where, mode=mode, fusion_weight=fusion_weight, collection=collection,
                               augment=augment, augmenter=augmenter, expansion=expansion)
    index = scout._index(collection)
    vectors = name not in TEXT_OPERATORS  # text operators read passages only: skip encodes and vector fetches
    q_vecs = scout.embedder.embed_queries(queries) if vectors else np.zeros((len(queries), 0), dtype=np.float32)
    fill = fill_slots(k, scout.settings.hop_fill)
    results = []
    for query, q_vec, hits in zip(queries, q_vecs, first):
        later = _later_hops(index, query, q_vec, hits, k - fill, hops, beam, op, where, vectors)
        merged = merge(hits, later, k, fill, key=lambda h: h.id)
        results.append([
            Hit(h.id, h.text, 1.0 - rank / k, h.metadata, {**h.scores, "hop_score": h.score}, h.hop, h.parent,
                h.note)
            for rank, h in enumerate(merged)
        ])
    return results


def _later_hops(index: Any, query: str, q_vec: np.ndarray, first: list[Hit], keep: int, hops: int, beam: int,
                op: HopOperator, where: Where | None, with_vectors: bool) -> list[Hit]:
    seen = {h.id for h in first[:keep]}
    frontier = first[:beam]
    found: list[Hit] = []
    for layer in range(2, hops + 1):
        stored = index.get([h.id for h in frontier], embeddings=with_vectors)
        best: dict[str, tuple[float, str]] = {}
        vectors, parents = [], []
        for parent in frontier:
            if parent.id not in stored:
                continue
            text, _, vec = stored[parent.id]
            c = np.asarray(vec, dtype=np.float32) if vec is not None else np.zeros(0, dtype=np.float32)
            spec = op(HopInput(query, q_vec, text, c))
            if spec.vector is not None:
                vectors.append(spec.vector)
                parents.append(parent.id)
            if spec.text:
                rows = index.lexical.search(spec.text, _CANDIDATES, where)
                top = rows[0][1] if rows else 1.0
                for doc_id, score in rows:
                    _keep_best(best, doc_id, score / top, parent.id, seen)
        if vectors:
            for parent_id, rows in zip(parents, index.dense(np.stack(vectors), _CANDIDATES, where)):
                for doc_id, score, _, _ in rows:
                    _keep_best(best, doc_id, score, parent_id, seen)
        if not best:
            break  # stop rule: this layer brought nothing new
        ranked = sorted(best.items(), key=lambda item: -item[1][0])
        docs = index.get([doc_id for doc_id, _ in ranked[: max(beam, keep)]])
        layer_hits = [
            Hit(doc_id, docs[doc_id][0], score, public_metadata(docs[doc_id][1]), {"hop": score}, layer, parent)
            for doc_id, (score, parent) in ranked if doc_id in docs
        ]
        found.extend(layer_hits)
        seen.update(h.id for h in layer_hits)
        frontier = layer_hits[:beam]
    return found


def _keep_best(best: dict[str, tuple[float, str]], doc_id: str, score: float, parent: str, seen: set[str]) -> None:
    if doc_id not in seen and (doc_id not in best or score > best[doc_id][0]):
        best[doc_id] = (score, parent)
