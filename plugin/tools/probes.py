"""The catalog's own probes: the requests it was asked lately (:class:`RequestLog`, in memory), and from its
store each tool's document vector and the write that stored it, every view and every tool's document: the texts
the hubness measure searches as requests (:mod:`.hubness`)."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np

from ..index import CollectionIndex
from ..keys import TOOL_KEY
from .snapshot import Snapshot

_T = TypeVar("_T")
MAX_PROBES = 600  # probes searched per measure at most (an even sample beyond): the cost of a first search
MAX_REQUESTS = 300  # the last requests kept as probes; they take at most this many of MAX_PROBES
FIRST_MEASURE = 50  # requests logged before the measure is taken again with them, then at each doubling
# (100, 200, 400) and every MAX_REQUESTS after: a hub is one of the requests' top tools, and a catalog seen by
# a few requests has too few of them to tell


class RequestLog:
    """The last :data:`MAX_REQUESTS` requests searched (text and vector), and how many there were in all."""

    def __init__(self, size: int = MAX_REQUESTS) -> None:
        self._kept: deque[tuple[str, np.ndarray]] = deque(maxlen=size)
        self._lock = threading.Lock()
        self.total = 0

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        with self._lock:
            self._kept.extend(zip(texts, vectors))
            self.total += len(texts)

    def recent(self) -> list[tuple[str, np.ndarray]]:
        with self._lock:
            return list(self._kept)

    def due(self, measured_at: int) -> bool:
        """Whether the measure taken when ``measured_at`` requests had been logged is to be taken again."""
        total = self.total
        return total >= FIRST_MEASURE and total >= min(2 * max(measured_at, 1), measured_at + MAX_REQUESTS)


class CatalogProbes(NamedTuple):
    """A snapshot's tools as stored (``keys[i]``: the tool of ``vectors[i]``, unit length; ``first_seen``: the
    sequence number of the write that stored each), and its probes: ``texts[i]`` with ``probe_vectors[i]``,
    a logged request (owner "": no tool's own) or a view or document of the tool ``owners[i]``."""

    keys: list[str]
    vectors: np.ndarray
    first_seen: dict[str, int]
    texts: list[str]
    probe_vectors: np.ndarray
    owners: list[str]
    collection: str  # the store's id of the collection read (a dropped and made again one has another)
    hashes: dict[str, str]  # each tool's content hash as read


def read_probes(
    index: CollectionIndex,
    snap: Snapshot,
    requests: Sequence[tuple[str, np.ndarray]] = (),
    limit: int = MAX_PROBES,
    last: CatalogProbes | None = None,
) -> CatalogProbes:
    """The tools of ``snap`` as ``index`` stores them, and up to ``limit`` probes: the logged ``requests``
    (text, vector), then views, then documents (an even sample of each when there are more). The vectors of
    tools ``last`` read (an earlier call's answer) as the same collection's same write stored them (the same
    store id, sequence number and content hash) are taken from it: a catalog measured again after a write
    reads what the write changed, not every vector (50,000 tools: 6.6 s)."""
    collection = index.collection.id
    kept = _kept(snap, last, collection)
    read = index.get(sorted(key for key in snap.specs if key not in kept), embeddings=True)
    fresh = {key: doc.embedding for key, doc in read.items() if doc.embedding is not None}
    keys = sorted(set(kept) | set(fresh))
    vectors = _stacked(keys, kept, last, _unit([fresh[key] for key in keys if key not in kept]))
    first_seen = {key: snap.written.get(key, 0) for key in keys}
    asked = [("", text, vec) for text, vec in list(requests)[-MAX_REQUESTS:]]
    left = limit - len(asked)
    for_views = left - min(len(keys), left // 2)  # at least half of what is left, more when documents are few
    views = index.get(_even(sorted(snap.view_ids), for_views), embeddings=True)
    view_rows = [(str(doc.metadata.get(TOOL_KEY)), doc.text, doc.embedding) for doc in views.values()]
    view_rows = [row for row in view_rows if row[2] is not None]
    sample = _even(range(len(keys)), left - len(view_rows))
    texts = {key: doc.text for key, doc in read.items()}
    unread = [keys[i] for i in sample if keys[i] not in texts]
    texts.update((key, doc.text) for key, doc in index.get(unread).items())
    doc_rows = [(keys[i], texts[keys[i]], vectors[i]) for i in sample if keys[i] in texts]
    rows = asked + view_rows + doc_rows
    return CatalogProbes(
        keys=keys,
        vectors=vectors,
        first_seen=first_seen,
        texts=[text for _, text, _ in rows],
        probe_vectors=_unit([vec for _, _, vec in rows]) if rows else vectors[:0],
        owners=[owner for owner, _, _ in rows],
        collection=collection,
        hashes={key: snap.hashes.get(key, "") for key in keys},
    )


def _kept(snap: Snapshot, last: CatalogProbes | None, collection: str) -> dict[str, int]:
    """The tools of ``snap`` whose vectors ``last`` holds as the same write of collection ``collection`` stored
    them, the same tool (a server's writers may share a sequence number): key → row in it."""
    if last is None or last.collection != collection:
        return {}
    return {
        key: row
        for row, key in enumerate(last.keys)
        if key in snap.specs
        and 0 < snap.written.get(key, 0) == last.first_seen.get(key)
        and snap.hashes.get(key) == last.hashes.get(key)
    }


def _stacked(
    keys: Sequence[str], kept: dict[str, int], last: CatalogProbes | None, fresh: np.ndarray
) -> np.ndarray:
    """The vectors of ``keys`` in order: the ``kept`` ones' rows of ``last``, then ``fresh`` (unit rows of the
    others, in order)."""
    if not kept or last is None:
        return fresh
    out = np.empty((len(keys), last.vectors.shape[1]), dtype=np.float32)  # one embedder per collection
    at_kept = [i for i, key in enumerate(keys) if key in kept]
    out[at_kept] = last.vectors[[kept[keys[i]] for i in at_kept]]
    if len(fresh):
        out[[i for i, key in enumerate(keys) if key not in kept]] = fresh
    return out


def _even(items: Sequence[_T], n: int) -> list[_T]:
    """``n`` of ``items`` evenly spread (all of them when there are no more)."""
    if n <= 0:
        return []
    if len(items) <= n:
        return list(items)
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, n).round()]


def _unit(rows: Sequence[Any]) -> np.ndarray:
    matrix = np.asarray(rows, dtype=np.float32)
    if matrix.ndim != 2 or not len(matrix):
        return np.zeros((0, 0), dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)
