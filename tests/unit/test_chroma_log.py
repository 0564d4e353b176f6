"""hopscout.store.chroma_log on a hand-made SQLite file with the three tables of Chroma's it reads: what a graph
lacks is folded from the log rows after its position, and None says "reopen" whenever rows may be missing or
unreadable (the real Chroma across real processes: tests/test_shared_store.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from hopscout.store import chroma_log
from hopscout.store.chroma_log import Tail, collections_mark, cosine_matches, read_tail

COLLECTION = "c0ffee00-0000-4000-8000-000000000001"
OTHER = "c0ffee00-0000-4000-8000-000000000002"
ADD, UPDATE, UPSERT, DELETE = 0, 1, 2, 3


@pytest.fixture
def db(tmp_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(tmp_path / "chroma.sqlite3", isolation_level=None)
    conn.executescript(
        """
        CREATE TABLE embeddings_queue (seq_id INTEGER PRIMARY KEY, created_at TIMESTAMP, operation INTEGER NOT NULL,
            topic TEXT NOT NULL, id TEXT NOT NULL, vector BLOB, encoding TEXT, metadata TEXT);
        CREATE TABLE segments (id TEXT PRIMARY KEY, type TEXT, scope TEXT, collection TEXT);
        CREATE TABLE max_seq_id (segment_id TEXT PRIMARY KEY, seq_id);
        CREATE TABLE collections (id TEXT PRIMARY KEY, name TEXT);
        """
    )
    for collection in (COLLECTION, OTHER):
        conn.execute("INSERT INTO collections VALUES (?, ?)", (collection, collection[-4:]))
        conn.execute("INSERT INTO segments VALUES (?, 'hnsw', 'VECTOR', ?)", (f"v-{collection}", collection))
        conn.execute(
            "INSERT INTO segments VALUES (?, 'sqlite', 'METADATA', ?)", (f"m-{collection}", collection)
        )
    return conn


def log(
    db: sqlite3.Connection,
    seq: int,
    op: int,
    doc_id: str,
    vector: list[float] | None = None,
    collection: str = COLLECTION,
    encoding: str = "FLOAT32",
) -> None:
    blob = np.asarray(vector, dtype="<f4").tobytes() if vector is not None else None
    db.execute(
        "INSERT INTO embeddings_queue (seq_id, operation, topic, id, vector, encoding) VALUES (?, ?, ?, ?, ?, ?)",
        (seq, op, f"persistent://default/default/{collection}", doc_id, blob, encoding if blob else None),
    )


def saved(db: sqlite3.Connection, segment: str, seq: int) -> None:
    db.execute("INSERT OR REPLACE INTO max_seq_id VALUES (?, ?)", (segment, seq))


def tail_of(db: sqlite3.Connection, tail: Tail, collection: str = COLLECTION) -> Tail | None:
    """read_tail with the store's collections as they are (the graph loaded under this set)."""
    return read_tail(db, collection, tail, collections_mark(db))


def test_the_rows_after_the_graph_are_folded_per_id_and_only_this_collection_s(
    db: sqlite3.Connection,
) -> None:
    log(db, 5, ADD, "old", [1, 0])  # in the graph already (position 5)
    log(db, 6, ADD, "a", [0, 1])
    log(db, 7, UPSERT, "old", [1, 1])
    log(db, 8, ADD, "b", [1, 0])
    log(db, 9, DELETE, "b")
    log(db, 10, UPDATE, "a")  # metadata only: the vector stays
    log(db, 11, ADD, "x", [1, 0], collection=OTHER)
    saved(db, f"m-{COLLECTION}", 10)  # the metadata segment is always current; the graph never saved
    tail = tail_of(db, Tail(base=5, read_to=5))
    assert tail is not None and tail.read_to == 10
    assert tail.changed == {"a", "old", "b"}
    assert sorted(tail.vectors) == ["a", "old"]
    np.testing.assert_array_equal(tail.vectors["old"], [1, 1])

    log(db, 12, ADD, "c", [0, 1])  # read on from where the last call ended, once applied to the metadata
    assert tail_of(db, tail) == tail, (
        "a row not yet in the metadata segment has no text to show: not read yet"
    )
    saved(db, f"m-{COLLECTION}", 12)
    more = tail_of(db, tail)
    assert more is not None and more.read_to == 12 and more.changed == {"a", "old", "b", "c"}
    assert tail.changed == {"a", "old", "b"}, "a tail handed out is never changed"


def test_rows_a_saved_graph_may_have_deleted_or_that_cannot_be_read_mean_reopen(
    db: sqlite3.Connection,
) -> None:
    log(db, 6, ADD, "a", [0, 1])
    saved(db, f"m-{COLLECTION}", 6)  # the metadata segment is always current: the graph's save decides
    saved(db, f"v-{COLLECTION}", 4)
    assert tail_of(db, Tail(base=5, read_to=5)) is not None  # saved before the graph's position
    saved(db, f"v-{COLLECTION}", 6)  # rows below 6 may be gone: none this one needs (it reads from 6)
    assert tail_of(db, Tail(base=5, read_to=5)) is not None
    saved(db, f"m-{COLLECTION}", 7)
    saved(db, f"v-{COLLECTION}", 7)  # row 6 may be gone, unread
    assert tail_of(db, Tail(base=5, read_to=5)) is None
    saved(db, f"v-{OTHER}", 99)
    saved(db, f"m-{OTHER}", 99)  # another collection's save deletes none of this one's rows
    assert tail_of(db, Tail(base=6, read_to=6)) is not None

    log(db, 8, ADD, "f16", [0, 1], encoding="FLOAT16")
    saved(db, f"m-{COLLECTION}", 8)
    assert tail_of(db, Tail(base=6, read_to=6)) is None
    assert tail_of(db, Tail(base=6, read_to=6), "not-a-collection") == Tail(base=6, read_to=6)


def test_a_tail_past_the_limit_means_reopen(db: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    for seq in range(1, 5):
        log(db, seq, ADD, f"d{seq}", [1, 0])
    saved(db, f"m-{COLLECTION}", 4)
    assert tail_of(db, Tail(base=0, read_to=0)) is not None
    monkeypatch.setattr(chroma_log, "TAIL_LIMIT", 3)
    assert tail_of(db, Tail(base=0, read_to=0)) is None


def test_tail_vectors_are_scored_by_cosine_best_first_within_the_allowed_ids() -> None:
    tail = Tail(
        base=0,
        read_to=3,
        vectors={"east": np.array([2.0, 0.0]), "north": np.array([0.0, 5.0]), "ne": np.array([1.0, 1.0])},
        changed=frozenset({"east", "north", "ne", "gone"}),
    )
    (hits,) = cosine_matches(tail, np.array([[1.0, 0.1]]), 2)
    assert [i for i, _ in hits] == ["east", "ne"]
    assert hits[0][1] == pytest.approx(1 / np.sqrt(1.01))
    (hits,) = cosine_matches(tail, np.array([[1.0, 0.1]]), 5, allowed={"north", "gone"})
    assert [i for i, _ in hits] == ["north"]
    assert cosine_matches(Tail(base=0, read_to=0), np.ones((2, 2)), 3) == [[], []]


def test_a_dropped_collection_means_reopen(db: sqlite3.Connection) -> None:
    """Dropping a collection deletes its log rows, and the log reuses their numbers: rows after a graph's
    position can then sit below it, unseen. A graph loaded under another set of collections reloads."""
    log(db, 6, ADD, "a", [0, 1])
    saved(db, f"m-{COLLECTION}", 6)
    mark = collections_mark(db)
    assert read_tail(db, COLLECTION, Tail(base=5, read_to=5), mark) is not None
    db.execute("DELETE FROM collections WHERE id = ?", (OTHER,))
    assert read_tail(db, COLLECTION, Tail(base=5, read_to=5), mark) is None
