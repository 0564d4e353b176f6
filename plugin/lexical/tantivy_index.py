"""BM25 over tantivy segments: the terms in an on-disk tantivy index, ids, hashes, metadata and state in a small
SQLite table beside it (so ``where`` filters, hashes and versions read exactly as :class:`LexicalIndex` does).

Why tantivy: a write lands as a small new segment visible after one commit (no whole-index rebuild, no
in-memory copy), segments merge in the background, and every process opens the same files by memory map (one
writer at a time: tantivy's lock; readers anywhere). Terms are made by :func:`analyze` and indexed with
tantivy's ``whitespace`` tokenizer, so the analyser is the one FTS5 uses; ranking is tantivy's BM25 (k1 1.2,
b 0.75, as FTS5's) with each term boosted to FTS5's IDF (:func:`_idf_boost`), so scores are FTS5's bm25() but for
tantivy's one-byte document lengths.

A write, under SQLite's write lock (which serialises writers across processes): the tantivy changes are
committed (durable), then the SQLite rows with version and sequence number. A crash between the two leaves
tantivy ahead and the version unrecorded, so the next sync copies those documents again; every add first deletes
its id, so copying twice duplicates nothing. "Acknowledged" = :meth:`apply` returned: both commits are on disk."""

from __future__ import annotations

import json
import math
import os
import threading
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..analysis import analyze
from ..filters import Where, where_to_sql
from .index import LexicalIndex

try:
    import tantivy
except ImportError:  # pragma: no cover - exercised by a test that blanks the module
    tantivy = None  # type: ignore[assignment]

_DOCS_SCHEMA = """
PRAGMA journal_mode=WAL;
CREATE TABLE IF NOT EXISTS docs (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, hash TEXT NOT NULL,
                                 meta TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_WRITER_HEAP = 50_000_000  # bytes: one indexing thread (tantivy's floor is 15 MB; bigger batches flush less)
_LOCK_WAIT_S = 30.0  # as SQLite's busy timeout
_RELOAD_EVERY_S = 0.1  # a search reloads tantivy's reader at least this often (see refresh)
_IDLE_S = 0.25  # a writer is kept this long after a write: writes closer together do not wait for merges
_COMMON = 1e-6  # the boost of a term in over half the documents (FTS5 clamps its IDF to 1e-6)
# A filtered search checks the best hits in SQL, 4k then 16k ... up to this many, then restricts the query to
# every matching id (one SQL scan; a term set in tantivy). Set on the bench's clean synthetic chunks.
_WIDEST = 3200


@lru_cache(maxsize=65536)
def _folded(term: str) -> str:
    """``term`` without diacritics, as FTS5's unicode61 tokenizer folds it (José and Jose are one term)."""
    if term.isascii():
        return term
    return unicodedata.normalize(
        "NFC", "".join(c for c in unicodedata.normalize("NFD", term) if not unicodedata.combining(c))
    )


def _terms(text: str) -> list[str]:
    return [_folded(t) for t in analyze(text)]


def _idf_boost(df: int, total: int) -> float:
    """The factor that turns tantivy's IDF, ln(1 + (N - df + 0.5) / (df + 0.5)), into FTS5's Robertson IDF,
    ln((N - df + 0.5) / (df + 0.5)), clamped to ~0 for terms in over half the documents (as FTS5 clamps it): with
    it, scores are FTS5's bm25() but for tantivy's one-byte document lengths. Tantivy's IDF alone gave common
    terms more weight: lexical nDCG@10 fell 1.3 points on MuSiQue dev, 0.4 on HotpotQA dev."""
    odds = (total - df + 0.5) / (df + 0.5)
    return _COMMON if odds <= 1.0 else math.log(odds) / math.log1p(odds)


def _require_tantivy() -> Any:
    if tantivy is None:
        raise ImportError(
            "the tantivy lexical backend (the default) needs tantivy: pip install tantivy, "
            "or set HOPSCOUT_LEXICAL_BACKEND=fts5"
        )
    return tantivy


class TantivyLexicalIndex(LexicalIndex):
    """One collection's BM25 index: the SQLite file ``path`` (ids, hashes, metadata, state) and the tantivy
    folder beside it (``path`` with suffix ``.tantivy``). The interface of :class:`LexicalIndex`; a search never
    builds anything, and sees every commit of any process within 0.1 s (at once when tantivy's ``meta.json``
    changed: :meth:`refresh`)."""

    _SCHEMA = _DOCS_SCHEMA

    def __init__(self, path: str | Path, accel_min_docs: int = 20_000) -> None:
        tv = _require_tantivy()
        super().__init__(path, accel_min_docs)
        self.segments = self.path.with_suffix(".tantivy")
        lost = not (self.segments / "meta.json").is_file()  # tantivy writes it when any process first opens
        self.segments.mkdir(parents=True, exist_ok=True)
        builder = tv.SchemaBuilder()
        builder.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
        builder.add_text_field("body", tokenizer_name="whitespace", index_option="freq")
        self._schema = builder.build()
        self._tv = tv.Index(self._schema, path=str(self.segments), reuse=True)
        self._tv.config_reader("Manual", 0)
        if lost:
            self._forget_rows()
        self._read_lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None  # tantivy's meta.json at the last reload (refresh)
        self._reloaded = 0.0
        self._writer_lock = (
            threading.Lock()
        )  # guards the four below; never held while waiting for another lock
        self._held: Any = None  # tantivy's writer while this process writes (see _release_later)
        self._in_use = False
        self._releaser: threading.Thread | None = None
        self._last_write = 0.0

    # -- writes ------------------------------------------------------------------------------------
    def apply(
        self,
        upserts: Iterable[tuple[str, str, str, Mapping[str, Any]]] = (),
        deletes: Iterable[str] = (),
        version: str | None = None,
        seq: int | None = None,
    ) -> None:
        """As :meth:`LexicalIndex.apply`: tantivy committed first, then the SQLite rows and state."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            writer = None
            try:
                gone = list(deletes)
                changed: dict[str, tuple[str, str, str, Mapping[str, Any]]] = {}
                for doc_id, digest, text, meta in upserts:
                    if doc_id in changed:  # twice in one batch: as FTS5 does, a new hash replaces
                        if changed[doc_id][1] != digest:
                            changed[doc_id] = (doc_id, digest, text, meta)
                        continue
                    row = db.execute("SELECT hash FROM docs WHERE id = ?", (doc_id,)).fetchone()
                    if not (row and row[0] == digest):
                        changed[doc_id] = (doc_id, digest, text, meta)
                fresh = list(changed.values())
                if gone or fresh:
                    writer = self._writer()
                    for doc_id in gone:
                        writer.delete_documents_by_term("id", doc_id)
                    for doc_id, _, text, _ in fresh:
                        writer.delete_documents_by_term("id", doc_id)  # an update, or a copy after a crash
                        writer.add_document(tantivy.Document(id=doc_id, body=" ".join(_terms(text))))
                    writer.commit()
                for doc_id in gone:
                    db.execute("DELETE FROM docs WHERE id = ?", (doc_id,))
                for doc_id, digest, _, meta in fresh:
                    db.execute(
                        "INSERT OR REPLACE INTO docs (id, hash, meta) VALUES (?, ?, ?)",
                        (doc_id, digest, json.dumps(dict(meta), ensure_ascii=False)),
                    )
                self._record(version, seq)
                db.execute("COMMIT")
                self._generation += 1
                self._seen = None  # this process's next search reloads, whatever the file looks like
            except BaseException:
                if writer is not None:
                    writer.rollback()
                db.execute("ROLLBACK")
                raise
            finally:
                if writer is not None:
                    self._release_later()

    def _forget_rows(self) -> None:
        """Tantivy's files are gone while the SQLite file beside them still lists documents: forget those rows
        and the recorded version, so the next sync copies the collection from the store again (else BM25 would
        answer nothing while the copy looked current)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if self._db.execute("SELECT 1 FROM docs LIMIT 1").fetchone():
                    self._db.execute("DELETE FROM docs")
                    self._db.execute("DELETE FROM state")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _record(self, version: str | None, seq: int | None) -> None:
        if version is not None:
            self._db.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('version', ?)", (version,))
        if seq is not None:
            self._db.execute(
                "INSERT INTO state (key, value) VALUES ('seq', ?) ON CONFLICT (key) DO UPDATE SET "
                "value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                (str(seq),),
            )

    def _writer(self) -> Any:
        """tantivy's writer, marked in use: this process's while it writes, else a new one once no other process
        holds tantivy's lock (a writer keeps it for _IDLE_S after its last write, then while its merges finish).
        Called under the SQLite write lock: the releaser never waits for that lock, so two processes cannot
        wait for each other."""
        deadline = time.monotonic() + _LOCK_WAIT_S
        while True:
            with self._writer_lock:
                if self._held is None:
                    try:
                        self._held = self._tv.writer(heap_size=_WRITER_HEAP, num_threads=1)
                    except ValueError as exc:
                        if "LockBusy" not in str(exc) or time.monotonic() > deadline:
                            raise
                if self._held is not None:
                    self._in_use = True
                    return self._held
            time.sleep(0.01)

    def _release_later(self) -> None:
        """Keep the writer (its merges run in the background) until no write came for _IDLE_S."""
        with self._writer_lock:
            self._in_use, self._last_write = False, time.monotonic()
            if self._releaser is None:
                self._releaser = threading.Thread(
                    target=self._release_when_idle, name="hopscout-tantivy", daemon=True
                )
                self._releaser.start()

    def _release_when_idle(self) -> None:
        while True:
            time.sleep(_IDLE_S)
            with self._writer_lock:
                if self._in_use or time.monotonic() - self._last_write < _IDLE_S:
                    continue
                writer, self._held, self._releaser = self._held, None, None
            if writer is not None:
                writer.wait_merging_threads()  # its merges finish, then tantivy's lock is free for other processes
            return

    def close(self) -> None:
        """Finish this process's merges, free tantivy's lock, close the SQLite file."""
        with self._lock, self._writer_lock:
            writer, self._held = self._held, None
        if writer is not None:
            writer.wait_merging_threads()
        super().close()

    # -- reads ------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """See the latest commit of any process. Every commit (and merge) replaces tantivy's ``meta.json``: when
        that file is as at the last reload, and that was under _RELOAD_EVERY_S ago, nothing is reloaded (a
        search reads the index up to three times: one stat instead of three reloads). The time bound covers a
        replaced file that looks the same (a reused inode, a coarse clock)."""
        try:
            meta = os.stat(self.segments / "meta.json")
            stamp: tuple[int, int, int] | None = (meta.st_ino, meta.st_mtime_ns, meta.st_size)
        except OSError:
            stamp = None
        with self._read_lock:
            now = time.monotonic()
            if stamp is not None and stamp == self._seen and now - self._reloaded < _RELOAD_EVERY_S:
                return
            self._tv.reload()  # after the stat: a commit that lands meanwhile changes the file again
            self._seen, self._reloaded = stamp, now

    def search(self, query: str, k: int, where: Where | None = None) -> list[tuple[str, float]]:
        """Top ``k`` ``(id, bm25)`` pairs for one query, best first; BM25 is positive, higher is better."""
        terms = sorted(set(_terms(query)))
        if not terms or k <= 0:
            return []
        self.refresh()
        searcher = self._tv.searcher()
        total, schema = searcher.num_docs, self._schema
        clauses = []
        for term in terms:
            df = searcher.doc_freq("body", term)
            if df:
                matched = tantivy.Query.term_query(schema, "body", term, "freq")
                clauses.append(
                    (tantivy.Occur.Should, tantivy.Query.boost_query(matched, _idf_boost(df, total)))
                )
        if not clauses:
            return []
        text_query = tantivy.Query.boolean_query(clauses)
        if not where:
            return [
                (self._id(searcher, a), float(score))
                for score, a in searcher.search(text_query, k, count=False).hits
            ]
        return self._filtered(searcher, text_query, k, where)

    @staticmethod
    def _id(searcher: Any, address: Any) -> str:
        return str(searcher.doc(address)["id"][0])

    def _filtered(self, searcher: Any, text_query: Any, k: int, where: Where) -> list[tuple[str, float]]:
        """The best ``k`` hits matching ``where``: the best hits checked in SQL, widening while too few pass (a
        filter matching much of the collection); past _WIDEST hits, the query restricted to the matching ids."""
        clause, args = where_to_sql(where, "meta")
        limit, out = 4 * k, []
        while limit <= _WIDEST:
            hits = searcher.search(text_query, limit, count=False).hits
            ids = [(self._id(searcher, a), float(score)) for score, a in hits]
            passing = self._passing([i for i, _ in ids], clause, args)
            out = [(i, score) for i, score in ids if i in passing][:k]
            if len(out) == k or len(hits) < limit:
                return out
            limit *= 4
        with self._lock:
            allowed = [row[0] for row in self._db.execute(f"SELECT id FROM docs WHERE {clause}", args)]
        if not allowed:
            return []
        restrict = tantivy.Query.term_set_query(self._schema, "id", allowed)
        both = tantivy.Query.boolean_query([(tantivy.Occur.Must, text_query), (tantivy.Occur.Must, restrict)])
        return [
            (self._id(searcher, a), float(score)) for score, a in searcher.search(both, k, count=False).hits
        ]

    def _passing(self, ids: list[str], clause: str, args: list[Any]) -> set[str]:
        passing: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            sql = f"SELECT id FROM docs WHERE id IN ({','.join('?' * len(chunk))}) AND {clause}"
            with self._lock:
                passing.update(row[0] for row in self._db.execute(sql, [*chunk, *args]))
        return passing

    def searchable_count(self) -> int:
        """Documents in tantivy's latest commit (kept by tantivy: no scan)."""
        self.refresh()
        return int(self._tv.searcher().num_docs)

    def doc_freqs(self, terms: Sequence[str]) -> dict[str, int]:
        """Documents containing each analysed term (tantivy's term dictionary: no scan), keyed as asked (a
        term with diacritics counts the documents of its folded form)."""
        wanted = sorted(set(terms))
        if not wanted:
            return {}
        self.refresh()
        searcher = self._tv.searcher()
        freqs = {t: int(searcher.doc_freq("body", _folded(t))) for t in wanted}
        return {t: n for t, n in freqs.items() if n}

    def disk_bytes(self) -> int:
        """Bytes on disk: the tantivy segments and the SQLite file (with its write-ahead log)."""
        files = [*self.segments.iterdir(), self.path, Path(f"{self.path}-wal")]
        return sum(f.stat().st_size for f in files if f.is_file())
