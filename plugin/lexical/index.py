"""BM25 over SQLite FTS5: incremental adds, updates and deletes, ACID on disk, filters in SQL.

Why FTS5: it ships with Python (no extra dependency), updates in place without re-indexing, survives a
crash mid-write (transactions), and is fast enough at 100K chunks. Terms are made by :func:`analyze`
(stemming, stopwords, camelCase) and stored pre-analysed, so FTS5's own tokenizer only splits on spaces."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from ..analysis import analyze, term_set
from ..filters import Where, where_to_sql
from .snapshot import Accelerator, Snapshot

_SCHEMA = """
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS docs (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, hash TEXT NOT NULL,
                                 meta TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS terms USING fts5(body, tokenize = 'unicode61');
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


OPEN_WAIT_S = 30.0  # how long opening waits for another process's write to the file


class IndexedValue(NamedTuple):
    """One metadata value of an indexed document, with the content hash it was read under."""

    hash: str
    value: str | None


class LexicalIndex:
    """One collection's BM25 index in one SQLite file. Thread-safe; several processes may share the file."""

    _SCHEMA = _SCHEMA  # a backend keeping its terms elsewhere creates the docs and state tables only

    def __init__(self, path: str | Path, accel_min_docs: int = 20_000) -> None:
        self.path = Path(path)
        self.accelerator = Accelerator(accel_min_docs)
        self._generation = 0
        self._count_key: Any = None
        self._count_value = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=OPEN_WAIT_S
        )
        self._create_schema()
        self._lock = threading.RLock()

    def _create_schema(self) -> None:
        """The schema, if another process has not made it yet. Its statements are idempotent, so one refused is
        run again: a journal-mode check meeting another process's write can fail at once with "database is
        locked" rather than wait out the busy timeout (seen when a process opens a collection another writes)."""
        deadline = time.monotonic() + OPEN_WAIT_S
        while True:
            try:
                self._db.executescript(self._SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- state -------------------------------------------------------------------------------------
    @property
    def version(self) -> str | None:
        """The Chroma collection version this index last matched (see :mod:`hopscout.index`)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key = 'version'").fetchone()
        return row[0] if row else None

    @property
    def seq(self) -> int | None:
        """The highest write sequence number of the store collection this index was caught up to (writes
        before it may still have been in flight then: catch-ups list from a few numbers earlier, see
        :mod:`hopscout.index`); None before the first write or catch-up that recorded one."""
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key = 'seq'").fetchone()
        return int(row[0]) if row else None

    @property
    def full_diff_at(self) -> float | None:
        """When (Unix time) a catch-up last compared every id and hash of the store with this index, in any
        process: the replica is shared, so one comparison vouches for it to every process that opens it."""
        with self._lock:
            row = self._db.execute("SELECT value FROM state WHERE key = 'full_diff_at'").fetchone()
        return float(row[0]) if row else None

    def mark_full_diff(self, at: float) -> None:
        """Record that a catch-up compared everything at ``at`` (Unix time)."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO state (key, value) VALUES ('full_diff_at', ?)", (repr(at),)
            )

    def hashes_of(self, ids: Sequence[str]) -> dict[str, str]:
        """The content hash of each of ``ids`` that is indexed."""
        return {doc_id: digest for doc_id, digest in self._by_id("hash", ids)}

    def _state(self) -> tuple[int, int]:
        """Changes whenever the index does: data_version moves when another connection commits, _generation
        when this one does. Call under the lock."""
        return (self._generation, int(self._db.execute("PRAGMA data_version").fetchone()[0]))

    def count(self) -> int:
        """Documents indexed (counted again only after a commit by this connection or another)."""
        with self._lock:
            return self._count_cached(self._state())

    def searchable_count(self) -> int:
        """Documents a search ranks over (what BM25's IDF counts): :meth:`count` here. Cheaper where the
        engine keeps the number itself (tantivy: a SQLite count is a scan, ~5 ms at 1M rows)."""
        return self.count()

    def hashes(self) -> dict[str, str]:
        """Every indexed id with the content hash it was indexed at."""
        with self._lock:
            return dict(self._db.execute("SELECT id, hash FROM docs").fetchall())

    # -- writes ------------------------------------------------------------------------------------
    def apply(
        self,
        upserts: Iterable[tuple[str, str, str, Mapping[str, Any]]] = (),
        deletes: Iterable[str] = (),
        version: str | None = None,
        seq: int | None = None,
    ) -> None:
        """In one transaction: upsert ``(id, hash, text, metadata)`` rows, delete ids, record ``version`` and
        ``seq`` (the write sequence number now held; a lower one than recorded is ignored).

        A row whose id and hash are already indexed is skipped, so re-applying a batch costs little."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                for doc_id in deletes:
                    self._delete_one(doc_id)
                for doc_id, digest, text, meta in upserts:
                    row = db.execute("SELECT rowid, hash FROM docs WHERE id = ?", (doc_id,)).fetchone()
                    if row and row[1] == digest:
                        continue
                    if row:
                        self._delete_one(doc_id)
                    cur = db.execute(
                        "INSERT INTO docs (id, hash, meta) VALUES (?, ?, ?)",
                        (doc_id, digest, json.dumps(dict(meta), ensure_ascii=False)),
                    )
                    db.execute(
                        "INSERT INTO terms (rowid, body) VALUES (?, ?)",
                        (cur.lastrowid, " ".join(analyze(text))),
                    )
                if version is not None:
                    db.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('version', ?)", (version,))
                if seq is not None:
                    db.execute(
                        "INSERT INTO state (key, value) VALUES ('seq', ?) ON CONFLICT (key) DO UPDATE SET "
                        "value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                        (str(seq),),
                    )
                db.execute("COMMIT")
                self._generation += 1
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _delete_one(self, doc_id: str) -> None:
        row = self._db.execute("SELECT rowid FROM docs WHERE id = ?", (doc_id,)).fetchone()
        if row:
            self._db.execute("DELETE FROM terms WHERE rowid = ?", (row[0],))
            self._db.execute("DELETE FROM docs WHERE rowid = ?", (row[0],))

    # -- reads -------------------------------------------------------------------------------------
    def search(self, query: str, k: int, where: Where | None = None) -> list[tuple[str, float]]:
        """Top ``k`` ``(id, bm25)`` pairs for one query, best first; BM25 is positive, higher is better."""
        terms = sorted(term_set(query))
        if not terms or k <= 0:
            return []
        if not where:
            snapshot = self._snapshot()
            if snapshot is not None:
                return snapshot.search(terms, k)
        match = " OR ".join(f'"{t}"' for t in terms)
        sql = "SELECT d.id, -terms.rank FROM terms JOIN docs d ON d.rowid = terms.rowid WHERE terms MATCH ?"
        params: list[Any] = [match]
        if where:
            clause, args = where_to_sql(where, "d.meta")
            sql += f" AND {clause}"
            params.extend(args)
        sql += " ORDER BY terms.rank LIMIT ?"
        params.append(k)
        with self._lock:
            return [(doc_id, float(score)) for doc_id, score in self._db.execute(sql, params)]

    def _snapshot(self) -> Snapshot | None:
        with self._lock:
            key = self._state()
            count = self._count_cached(key)
        return self.accelerator.current(key, count, self._bodies)

    def _count_cached(self, key: Any) -> int:
        if self._count_key != key:
            self._count_key, self._count_value = (
                key,
                int(self._db.execute("SELECT count(*) FROM docs").fetchone()[0]),
            )
        return self._count_value

    def _bodies(self) -> list[tuple[str, str]]:
        reader = sqlite3.connect(self.path, timeout=30)  # its own connection: searches go on meanwhile
        try:
            return reader.execute(
                "SELECT d.id, t.body FROM docs d JOIN terms t ON t.rowid = d.rowid"
            ).fetchall()
        finally:
            reader.close()

    def search_many(
        self, queries: Sequence[str], k: int, where: Where | None = None
    ) -> list[list[tuple[str, float]]]:
        """:meth:`search` for each query."""
        return [self.search(q, k, where) for q in queries]

    def doc_freqs(self, terms: Sequence[str]) -> dict[str, int]:
        """Documents containing each analysed term: from the BM25 snapshot while it is current, else FTS5's own
        counts via a per-connection fts5vocab table (which reads each term's whole posting list: ~8 ms a query
        at 1M chunks)."""
        wanted = sorted(set(terms))
        if not wanted:
            return {}
        with self._lock:
            key = self._state()
        snapshot = self.accelerator.peek(key)  # not a reason to build one: writers ask too (key phrases)
        if snapshot is not None:
            return {t: int(snapshot.df[snapshot.vocab[t]]) for t in wanted if t in snapshot.vocab}
        with self._lock:
            self._db.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.hs_vocab USING fts5vocab(main, terms, 'row')"
            )
            marks = ",".join("?" * len(wanted))
            rows = self._db.execute(
                f"SELECT term, doc FROM temp.hs_vocab WHERE term IN ({marks})", wanted
            ).fetchall()
        return {term: int(doc) for term, doc in rows}

    def values(self, key: str, ids: Sequence[str]) -> dict[str, IndexedValue]:
        """``IndexedValue(content hash, metadata value as a string)`` of each indexed id (value None where the
        document has no such key)."""
        rows = self._by_id("hash, json_extract(meta, ?)", ids, f"$.{key}")
        return {i: IndexedValue(h, None if v is None else str(v)) for i, h, v in rows}

    def _by_id(self, columns: str, ids: Sequence[str], *args: Any) -> list[tuple[Any, ...]]:
        """``(id, *columns)`` of the indexed ``ids``, 500 per statement (``args``: the columns' parameters)."""
        wanted = sorted(set(ids))
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            sql = f"SELECT id, {columns} FROM docs WHERE id IN ({','.join('?' * len(chunk))})"
            with self._lock:
                rows.extend(self._db.execute(sql, [*args, *chunk]).fetchall())
        return rows
