"""What this process's HNSW graph lacks: the writes other processes made to a collection since embedded Chroma
loaded the graph, read from Chroma's write-ahead log (the ``embeddings_queue`` table of its SQLite file).

Embedded Chroma applies another process's write to the SQLite side at once (``get``, ``count`` and metadata
read it) but never to a graph already in memory, and reopening the client reloads the graph from disk: seconds
at 1M vectors, and under a steady writer every query would pay it. A log row holds the written vector, so a
query instead scores the rows written since its graph loaded exactly, beside the graph's own results, and drops
the graph's entries for the ids those rows changed (:class:`Tail`).

Chroma keeps a row until a writer saves the graph files (every ``hnsw:sync_threshold`` writes, 1000 by default)
and then deletes the rows before the save. :func:`read_tail` returns None when rows it needs may be gone, when
a row is in an encoding it cannot read, or when the tail has grown past :data:`TAIL_LIMIT`: the caller reopens
the client then, as it did for every write before."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

TAIL_LIMIT = 20_000  # ids changed since the graph loaded: past this a reopen is cheaper than scoring them all
# Chroma's operation codes in embeddings_queue (chromadb's Operation: ADD, UPDATE, UPSERT, DELETE)
_ADD, _UPDATE, _UPSERT, _DELETE = 0, 1, 2, 3


@dataclass(frozen=True)
class Tail:
    """One collection's writes since the graph loaded at log position ``base``, folded up to ``read_to``."""

    base: int
    read_to: int
    vectors: Mapping[str, np.ndarray] = field(default_factory=dict)  # the latest vector of each id written
    changed: frozenset[str] = frozenset()  # every id written or deleted: the graph's entries are stale

    def __bool__(self) -> bool:
        return bool(self.changed)


EMPTY = Tail(base=0, read_to=0)


def collections_mark(db: sqlite3.Connection) -> str | None:
    """The store's set of collections, as one string: dropping a collection deletes its log rows, so later writes
    can take log positions a graph already counted (the log's numbers are reused); a graph loaded under another
    set of collections reloads. None where the table cannot be read."""
    try:
        rows = db.execute("SELECT id FROM collections ORDER BY id").fetchall()
    except sqlite3.Error:
        return None
    return ",".join(str(r[0]) for r in rows)


def read_tail(db: sqlite3.Connection, collection_id: str, tail: Tail, mark: str | None) -> Tail | None:
    """``tail`` with the log rows of ``collection_id`` written after ``tail.read_to`` folded in; None when the
    log cannot give them all (see the module's docstring), or the store's collections are no longer ``mark``
    (the set the graph was loaded under). Only rows already applied to the metadata segment are read (Chroma
    commits a row, then applies it), so a tail hit's text and metadata can always be read. One read
    transaction, so the purge point and the rows are seen at the same moment."""
    where = "WHERE seq_id > ? AND seq_id <= ? AND topic LIKE ?"
    try:
        db.execute("BEGIN")
        try:
            if collections_mark(db) != mark:
                return None
            purged_below, applied = db.execute(
                "SELECT min(coalesce(m.seq_id, 0)), max(CASE WHEN s.scope = 'METADATA' THEN m.seq_id END) "
                "FROM segments s LEFT JOIN max_seq_id m ON m.segment_id = s.id WHERE s.collection = ?",
                (collection_id,),
            ).fetchone()
            purged_below, applied = _number(purged_below), _number(applied)
            # rows before the point every segment of the collection has saved (one that never saved: 0) are gone
            if purged_below is not None and purged_below > tail.read_to + 1:
                return None
            upto = applied if applied is not None else tail.read_to
            args = (tail.read_to, upto, f"%/{collection_id}")
            pending = db.execute(f"SELECT count(*) FROM embeddings_queue {where}", args).fetchone()[0]
            if len(tail.changed) + int(pending) > TAIL_LIMIT:
                return None
            rows = db.execute(
                f"SELECT seq_id, operation, id, vector, encoding FROM embeddings_queue {where} ORDER BY seq_id",
                args,
            ).fetchall()
        finally:
            db.execute("COMMIT")
    except sqlite3.Error:
        return None
    vectors, changed, read_to = dict(tail.vectors), set(tail.changed), tail.read_to
    for seq_id, operation, doc_id, blob, encoding in rows:
        read_to = max(read_to, int(seq_id))
        if operation == _DELETE:
            vectors.pop(doc_id, None)
            changed.add(doc_id)
        elif operation in (_ADD, _UPSERT, _UPDATE):
            if blob is None:
                if operation == _UPDATE:
                    continue  # metadata only: the graph's vector still holds, and metadata is read fresh
                return None
            if str(encoding).upper() != "FLOAT32":
                return None
            vectors[doc_id] = np.frombuffer(blob, dtype="<f4")
            changed.add(doc_id)
        else:
            return None
    return Tail(tail.base, read_to, vectors, frozenset(changed))


def _number(value: object) -> int | None:
    """A log position as Chroma stores it (some versions: big-endian bytes)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return int.from_bytes(value, "big")
    return int(value)  # type: ignore[call-overload]


def cosine_matches(
    tail: Tail, queries: np.ndarray, n: int, allowed: set[str] | None = None
) -> list[list[tuple[str, float]]]:
    """The ``n`` tail vectors nearest each query, ``(id, cosine)`` best first (only ``allowed`` ids if given):
    exact, as the graph's cosine space scores them."""
    ids = [i for i in tail.vectors if allowed is None or i in allowed]
    if not ids or n <= 0:
        return [[] for _ in range(len(queries))]
    matrix = np.stack([tail.vectors[i] for i in ids]).astype(np.float32)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    q = np.asarray(queries, dtype=np.float32)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    scores = q @ matrix.T
    out = []
    for row in scores:
        best = np.argsort(-row)[:n]
        out.append([(ids[j], float(row[j])) for j in best])
    return out
