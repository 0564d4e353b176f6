"""One collection = a store collection (vectors, texts, metadata: the source of truth) plus a local BM25 index
kept in step with it.

Consistency: every write first stamps a fresh random version and the next write sequence number into the store
collection's metadata, then writes the store (each document carrying that number), then the lexical index
together with both. A reader whose lexical index holds another version than the store (another process wrote,
or a crash cut a write short) lists the documents written since a few numbers before the highest it holds and
catches up; when that leaves the counts apart (a delete, a writer without numbers), or its last full comparison
is older than ``_FULL_DIFF_SECONDS`` (a write whose documents landed long after later writes' stamps; recorded in the
replica, so one comparison serves every process sharing it), it diffs
every id and content hash with the store. A document count that differs from the store's forces a catch-up."""

from __future__ import annotations

import glob
import hashlib
import json
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .errors import CollectionNotFoundError, EmbedderMismatchError
from .filters import Where
from .keys import (
    FLAGS_KEY,
    HASH_KEY,
    META_DIM,
    META_EMBEDDER,
    META_SEQ,
    META_VERSION,
    RESERVED_PREFIXES,
    SEQ_KEY,
)
from .lexical import DEFAULT_BACKEND, IndexedValue, LexicalIndex, PhraseTable, open_lexical
from .store import StoreCollection, VectorStore
from .store.base import Match


class IndexFiles(NamedTuple):
    """A collection's local files, beside the store's vectors."""

    bm25: Path  # the BM25 copy (SQLite FTS5; with HOPSCOUT_LEXICAL_BACKEND=tantivy, its rows, segments beside it)
    phrases: Path  # the key phrases of the phrase hop
    tool_pairs: Path  # a tool catalog's twins as last paired (hopscout.tools.pair_cache)
    tool_judgements: Path  # the judgements a read of a tool catalog made (hopscout.tools.judge_cache)
    tool_measure: Path  # a tool catalog's first measure over no requests (hopscout.tools.measure_cache)


class StoredDoc(NamedTuple):
    """A document as the store holds it."""

    text: str
    metadata: dict[str, Any]
    embedding: Any  # the stored vector, None unless asked for


_PAGE = 2000
_SEQ_SLACK = 4  # a catch-up lists the writes from (held seq - this): a write takes its number before its
# documents land, so racing writers' documents can arrive after a later number was seen
_FULL_DIFF_SECONDS = 600.0  # the backstop: a catch-up compares everything if the last full one is older
_COUNT_CHECK_SECONDS = 5.0


def content_hash(text: str, metadata: Mapping[str, Any]) -> str:
    """Stable hash of a document's text and metadata (detects updates)."""
    payload = json.dumps([text, dict(metadata)], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def public_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """Metadata without hopscout's internal ``hs_`` keys."""
    return {k: v for k, v in (metadata or {}).items() if not k.startswith("hs_")}


class CollectionIndex:
    """Dense (the store) and lexical (FTS5) access to one collection, kept consistent."""

    def __init__(
        self,
        collection: StoreCollection,
        lexical: LexicalIndex,
        sync_interval: float = 0.0,
        dim: int | None = None,
    ) -> None:
        self.dim = dim
        self.collection = collection
        self.name: str = collection.name
        self._lexical = lexical
        self._phrases: PhraseTable | None = None  # opened on first use, beside the lexical file
        self.sync_interval = sync_interval
        self._last_sync = 0.0
        self._last_count_check = 0.0
        self._clean_token: Any = None  # the store's change token when the index was last found in step
        self.last_metadata: dict[str, Any] | None = None  # as read by the latest sync(): saves a round trip
        # documents this process's catch-ups copied or deleted (0: it found the shared index in step)
        self.copied = 0
        self.listed = (
            0  # ids this process's catch-ups listed from the store (a full comparison lists them all)
        )
        self._lock = threading.RLock()

    @classmethod
    def open(
        cls,
        store: VectorStore,
        name: str,
        *,
        embedder_id: str,
        dim: Callable[[], int],
        lexical_root: Path,
        create: bool,
        sync_interval: float = 0.0,
        lexical_backend: str = DEFAULT_BACKEND,
    ) -> CollectionIndex:
        """Open ``name``, creating it if ``create``; refuse one built with another embedder."""
        try:
            collection = store.collection(name)
        except CollectionNotFoundError:
            if not create:
                raise
            collection = store.create_collection(
                name, {META_EMBEDDER: embedder_id, META_DIM: int(dim()), META_VERSION: uuid.uuid4().hex}
            )
        meta = collection.metadata()
        stored_id, stored_dim = meta.get(META_EMBEDDER), meta.get(META_DIM)
        if stored_id is None:
            raise EmbedderMismatchError(
                f"Collection {name!r} was not made by hopscout (no embedder recorded); use another name."
            )
        if stored_id != embedder_id:
            raise EmbedderMismatchError(
                f"Collection {name!r} was built with embedder {stored_id!r} (dim {stored_dim}); this hopscout uses "
                f"{embedder_id!r}. Set HOPSCOUT_EMBEDDER={stored_id!r} to read it, or use another collection."
            )
        lexical = open_lexical(Path(lexical_root) / collection.id, lexical_backend)
        return cls(collection, lexical, sync_interval, int(stored_dim) if stored_dim is not None else None)

    # -- metadata and versions ----------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """The collection's metadata, read fresh from the store."""
        return self.collection.metadata()

    def update_metadata(self, **updates: Any) -> None:
        """Merge ``updates`` into the collection's metadata (stores replace it whole)."""
        self._write_metadata({**self.metadata(), **updates})

    def remove_metadata(self, *keys: str) -> None:
        """Remove ``keys`` from the collection's metadata (absent ones are ignored)."""
        with self._lock:
            meta = self.metadata()
            if any(key in meta for key in keys):
                self._write_metadata({k: v for k, v in meta.items() if k not in keys})

    def user_metadata(self) -> dict[str, Any]:
        """The collection's own metadata, given by its user: every key outside hopscout's namespaces."""
        return {k: v for k, v in self.metadata().items() if not k.startswith(RESERVED_PREFIXES)}

    def replace_user_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Replace the user's keys whole (a key left out is removed); hopscout's own keys stay."""
        with self._lock:
            kept = {k: v for k, v in self.metadata().items() if k.startswith(RESERVED_PREFIXES)}
            self._write_metadata({**dict(metadata), **kept})

    def _write_metadata(self, meta: dict[str, Any]) -> None:
        self.collection.replace_metadata(meta)
        self.last_metadata = meta

    def _stamp(self) -> tuple[str | None, int]:
        """A fresh version and the next write sequence number, recorded in the store before the write. The
        version to record in the lexical index with the write is None when the store held another version than
        the index before it (a write cut short inside its group, say): recording the new one would hide that
        the index misses something, so the next sync still catches up."""
        version, meta = uuid.uuid4().hex, self.metadata()
        seq = int(meta.get(META_SEQ, 0)) + 1
        self._write_metadata({**meta, META_VERSION: version, META_SEQ: seq})
        return (version if meta.get(META_VERSION) == self._lexical.version else None), seq

    def refresh(self) -> None:
        """See what other processes wrote and acknowledged on the lexical side (a backend that caches a reader
        reloads it). Cheap when nothing was written; :meth:`sync` (every search) calls it. The store needs no
        call: embedded Chroma's one stale part, the HNSW graph, is caught up by the dense query itself (see
        :mod:`hopscout.store.embedded`), so a lexical search never waits for it."""
        # a backend that caches a reader reloads it (tantivy); FTS5 and its snapshot follow data_version unasked
        reload = getattr(self._lexical, "refresh", None)
        if reload is not None:
            reload()

    def sync(self, force: bool = False) -> None:
        """Bring the lexical index up to date with the store if another writer (or a crash) left it behind."""
        now = time.monotonic()
        if not force and self.sync_interval and now - self._last_sync < self.sync_interval:
            return
        self.refresh()
        with self._lock:
            token = self.collection.change_token()  # read first: a write after it changes the next one
            if not force and token is not None and token == self._clean_token:
                self._last_sync = now  # nothing was written to the store since it was last found in step
                return
            self.last_metadata = self.metadata()
            remote = self.last_metadata.get(META_VERSION)
            if not force and remote == self._lexical.version:
                # A count check catches a write whose version stamp another writer overwrote (every few s).
                fresh = now - self._last_count_check < _COUNT_CHECK_SECONDS
                if not fresh:
                    self._last_count_check = now
                if fresh or self.collection.count() == self._lexical.count():
                    self._last_sync = now
                    self._clean_token = token if not fresh else None
                    return
            if not force and self.collection.writer_busy():
                # another process is inside a write group (store, then this index, under the store's write
                # lock): it leaves the two in step, so search what it acknowledged rather than copy its write.
                # (A process keeping an index of its own, another backend's, catches up when it finds the lock
                # free: a writer leaves it free between groups.) Copying instead cost a full comparison at 1M.
                return
            held = self._lexical.seq
            compared = self._lexical.full_diff_at  # by any process sharing this replica
            recent = compared is not None and 0 <= time.time() - compared < _FULL_DIFF_SECONDS
            if not force and held is not None and recent:
                # the writes since the last one held (a metadata filter: costs what changed, not the
                # collection's size); the counts then agree unless something was deleted or missed
                changed = self._pages({SEQ_KEY: {"$gte": held - _SEQ_SLACK}}, metadatas=True)
                local = self._lexical.hashes_of([i for i, _ in changed])
                stale = [i for i, m in changed if local.get(i) != m.get(HASH_KEY)]
                newest = max(
                    (written_seq(m) for _, m in changed), default=0
                )  # none newer: a delete, or a writer
                added = sum(1 for i, _ in changed if i not in local)  # without numbers
                whole = newest > held and self.collection.count() == self._lexical.count() + added
                # version and number are recorded only when the catch-up is whole
                self._copy(changed, stale, [], remote if whole else None, newest if whole else None)
                if whole:
                    self._last_sync = now
                    self._clean_token = token
                    return
            started = time.time()  # what the comparison vouches for: the store as it was listed from here on
            remote_rows = self.collection.key_values((HASH_KEY, SEQ_KEY))
            if remote_rows is None:
                remote_rows = self._pages(None, metadatas=True)
            else:
                self.listed += len(remote_rows)
            remote_hashes = {i: str(m.get(HASH_KEY, "")) for i, m in remote_rows}
            local_hashes = self._lexical.hashes()
            deletes = [i for i in local_hashes if i not in remote_hashes]
            stale = [i for i, h in remote_hashes.items() if local_hashes.get(i) != h]
            newest = max((written_seq(m) for _, m in remote_rows), default=0)
            self._copy(remote_rows, stale, deletes, remote, newest or None)
            self._lexical.mark_full_diff(started)
            self._last_sync = now
            self._clean_token = token

    def _copy(
        self,
        rows: list[tuple[str, dict[str, Any]]],
        stale: list[str],
        deletes: list[str],
        version: Any,
        seq: int | None,
    ) -> None:
        """Copy the ``stale`` documents of ``rows`` (``(id, store metadata)``) from the store into the lexical
        index and delete ``deletes``, recording ``version`` and ``seq`` (None: leave as they are)."""
        hashes = {i: str(m.get(HASH_KEY, "")) for i, m in rows}
        upserts = []
        for start in range(0, len(stale), _PAGE):
            got = self.collection.get(stale[start : start + _PAGE], texts=True, metadatas=True)
            for doc_id, text, meta in zip(got.ids, got.texts, got.metadatas):
                kept = {
                    **public_metadata(meta),
                    **({FLAGS_KEY: meta[FLAGS_KEY]} if FLAGS_KEY in meta else {}),
                }
                upserts.append((doc_id, hashes[doc_id], text, kept))
        self._lexical.apply(upserts, deletes, version=version, seq=seq)
        self.copied += len(upserts) + len(deletes)

    def _own(self, seq: int) -> int | None:
        """The number to record for this process's own write ``seq``: only the next one after those held (with
        a gap, another writer's documents may still be on their way; a catch-up records them)."""
        return seq if seq == (self._lexical.seq or 0) + 1 else None

    def _pages(self, where: Where | None, *, metadatas: bool) -> list[tuple[str, dict[str, Any]]]:
        """``(id, metadata)`` of every document matching ``where`` (metadata {} unless asked), page by page."""
        rows: list[tuple[str, dict[str, Any]]] = []
        offset = 0
        while True:
            got = self.collection.get(where=where, metadatas=metadatas, limit=_PAGE, offset=offset)
            rows.extend(zip(got.ids, got.metadatas))
            self.listed += len(got.ids)
            if len(got.ids) < _PAGE:
                return rows
            offset += _PAGE

    def _check_dim(self, vectors: np.ndarray) -> None:
        width = int(np.asarray(vectors).shape[1]) if len(vectors) else self.dim
        if self.dim is not None and width != self.dim:
            raise EmbedderMismatchError(
                f"Collection {self.name!r} holds {self.dim}-d vectors but the embedder gives {width}-d ones; "
                "use the embedder the collection was built with, or another collection."
            )

    # -- writes -----------------------------------------------------------------------------------
    def upsert(
        self,
        ids: Sequence[str],
        texts: Sequence[str],
        vectors: np.ndarray,
        metadatas: Sequence[Mapping[str, Any]],
    ) -> None:
        """Write documents to the store and the lexical index (same ids replace)."""
        if not ids:
            return
        self._check_dim(vectors)
        with self._lock:
            self.sync()  # a catch-up (after a crash: maybe a full comparison) holds no other process's writes
            with self.collection.write_group():  # another process sees stamp, store and lexical as one write
                version, seq = self._stamp()
                hashes = [content_hash(t, m) for t, m in zip(texts, metadatas)]
                self.collection.upsert(
                    ids, vectors, texts, [{**m, HASH_KEY: h, SEQ_KEY: seq} for m, h in zip(metadatas, hashes)]
                )
                self._lexical.apply(zip(ids, hashes, texts, metadatas), version=version, seq=self._own(seq))

    def delete(self, ids: Sequence[str]) -> None:
        """Remove documents by id from both indexes (unknown ids are ignored)."""
        if not ids:
            return
        with self._lock:
            self.sync()
            with self.collection.write_group():
                version, seq = self._stamp()
                for start in range(0, len(ids), _PAGE):
                    self.collection.delete(list(ids[start : start + _PAGE]))
                self._lexical.apply(deletes=ids, version=version, seq=self._own(seq))

    # -- reads ------------------------------------------------------------------------------------
    def ids(self, where: Where | None = None) -> list[str]:
        """Ids of every document (matching ``where``)."""
        return [doc_id for doc_id, _ in self._pages(where, metadatas=False)]

    def metadatas(self, where: Where) -> list[tuple[str, dict[str, Any]]]:
        """``(id, metadata)`` of every document matching ``where``."""
        return self._pages(where, metadatas=True)

    def key_values(self, keys: Sequence[str]) -> list[tuple[str, dict[str, Any]]] | None:
        """Every document's id with the values it holds of metadata ``keys``, in one read where the store can
        give them so (an embedded store's file: 50,000 documents in 1 s, where paging through :meth:`metadatas`
        takes 8 s); None: it cannot, read :meth:`metadatas` instead."""
        return self.collection.key_values(keys)

    def get(self, ids: Sequence[str], *, embeddings: bool = False) -> dict[str, StoredDoc]:
        """``id → StoredDoc(text, metadata, embedding or None)`` for the ids that exist."""
        out: dict[str, StoredDoc] = {}
        for start in range(0, len(ids), _PAGE):
            got = self.collection.get(
                list(ids[start : start + _PAGE]), texts=True, metadatas=True, embeddings=embeddings
            )
            for doc_id, text, meta, vec in zip(got.ids, got.texts, got.metadatas, got.embeddings):
                out[doc_id] = StoredDoc(text, meta, vec)
        return out

    def documents(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: Where | None = None,
        limit: int | None = None,
        offset: int = 0,
        embeddings: bool = False,
    ) -> list[tuple[str, StoredDoc]]:
        """``(id, StoredDoc)`` of the documents with these ids (in the order given; those that exist) and/or
        matching ``where``, ``limit`` of them (None: all) from ``offset``: by ids in their order, else in the
        store's, which is stable between writes, so pages follow on."""
        if ids is not None:
            found: dict[str, StoredDoc] = {}
            wanted = list(dict.fromkeys(ids))
            for start in range(0, len(wanted), _PAGE):
                got = self.collection.get(
                    wanted[start : start + _PAGE],
                    where=where,
                    texts=True,
                    metadatas=True,
                    embeddings=embeddings,
                )
                for doc_id, text, meta, vec in zip(got.ids, got.texts, got.metadatas, got.embeddings):
                    found[doc_id] = StoredDoc(text, meta, vec)
            ordered = [(doc_id, found[doc_id]) for doc_id in wanted if doc_id in found]
            return ordered[offset : None if limit is None else offset + limit]
        rows: list[tuple[str, StoredDoc]] = []
        while limit is None or len(rows) < limit:
            step = _PAGE if limit is None else min(_PAGE, limit - len(rows))
            got = self.collection.get(
                where=where,
                texts=True,
                metadatas=True,
                embeddings=embeddings,
                limit=step,
                offset=offset + len(rows),
            )
            rows.extend(
                (doc_id, StoredDoc(text, meta, vec))
                for doc_id, text, meta, vec in zip(got.ids, got.texts, got.metadatas, got.embeddings)
            )
            if len(got.ids) < step:
                break
        return rows

    def dense(
        self, vectors: np.ndarray, n: int, where: Where | None = None, *, documents: bool = True
    ) -> list[list[Match]]:
        """Nearest ``n`` per query vector: ``(id, cosine, text, metadata)``, best first (text "" and metadata {}
        when ``documents`` is False: cheaper when only the scores are needed)."""
        self._check_dim(vectors)
        # the lexical copy's count: in step with the store after sync(), and far cheaper to ask (its rows are
        # counted when the BM25 engine holds none: an empty collection, or tantivy's files lost)
        total = self._lexical.searchable_count() or self._lexical.count()
        if total == 0 or len(vectors) == 0:
            return [[] for _ in range(len(vectors))]
        return self.collection.query(vectors, min(n, total), where=where, documents=documents)

    def count(self) -> int:
        """Documents in the store (a store call)."""
        return self.collection.count()

    # -- lexical reads (the BM25 copy: no store call) ----------------------------------------------------
    def indexed_count(self) -> int:
        """Documents in the lexical copy (the N of IDF): in step with the store after :meth:`sync`, and far
        cheaper to ask."""
        return self._lexical.searchable_count()

    def lexical_search(self, text: str, n: int, where: Where | None = None) -> list[tuple[str, float]]:
        """Top ``n`` ``(id, bm25)`` pairs for one query, best first."""
        return self._lexical.search(text, n, where)

    def lexical_search_many(
        self, texts: Sequence[str], n: int, where: Where | None = None
    ) -> list[list[tuple[str, float]]]:
        """:meth:`lexical_search` for each text."""
        return self._lexical.search_many(texts, n, where)

    def doc_freqs(self, terms: Sequence[str]) -> dict[str, int]:
        """Documents holding each analysed term (IDF for signals, key phrases and PRF)."""
        return self._lexical.doc_freqs(terms)

    def stored_values(self, key: str, ids: Sequence[str]) -> dict[str, IndexedValue]:
        """``IndexedValue(hash, value)`` of metadata ``key`` for each indexed id, from the lexical copy (no store
        call; value None where the document has no such key)."""
        return self._lexical.values(key, ids)

    def warm_lexical(self, timeout: float) -> None:
        """Start the in-memory BM25 snapshot's build (a big collection's) and wait for it (benchmarks)."""
        self._lexical.search("warm", 1)
        self._lexical.accelerator.wait(timeout=timeout)

    # -- the collection's files: vectors (the store's), lexical copy, key phrases ------------------------
    @property
    def files(self) -> IndexFiles:
        """Where the collection's local files are (the vectors live in the store)."""
        bm25 = self._lexical.path  # <id>.sqlite (fts5) or <id>.bm25.sqlite (tantivy)
        # named from the collection's id alone, so a change of lexical backend keeps the stored key phrases
        own = bm25.parent / bm25.name.split(".", 1)[0]
        return IndexFiles(
            bm25,
            own.with_name(f"{own.name}.phrases.sqlite"),
            own.with_name(f"{own.name}.pairs.npz"),
            own.with_name(f"{own.name}.judged.npz"),
            own.with_name(f"{own.name}.measure.npz"),
        )

    @property
    def phrase_table(self) -> PhraseTable:
        """The collection's stored key phrases and their vectors (for the ``phrase`` hop), opened once."""
        with self._lock:
            if self._phrases is None:
                path = self.files.phrases
                earlier = self._lexical.path.with_suffix(".phrases.sqlite")  # <id>.bm25.phrases.sqlite
                if earlier != path and earlier.is_file() and not path.exists():
                    earlier.rename(path)  # named so by tantivy copies before the name followed the id alone
                self._phrases = PhraseTable(path)
            return self._phrases

    def close(self) -> None:
        """Release the local files (the lexical copy and the key phrases); the store's collection stays."""
        with self._lock:
            self._lexical.close()
            if self._phrases is not None:
                self._phrases.close()
                self._phrases = None

    def rename(self, name: str) -> None:
        """Rename the store's collection; the lexical copy and key phrases stay (their files follow its id)."""
        with self._lock:
            self.collection.rename(name)
            self.name = name

    def drop(self, store: VectorStore) -> None:
        """Delete the collection: its vectors in ``store``, then its local files — every file named from its id
        (a UUID): either lexical backend's copy (a collection opened with both has both), their SQLite journals,
        tantivy's segments, the key phrases."""
        self.close()
        store.delete_collection(self.name)
        for path in self.files.bm25.parent.glob(f"{glob.escape(self.collection.id)}.*"):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def written_seq(meta: Mapping[str, Any]) -> int:
    """The write sequence number a document was stored with (0: none, written before numbers existed)."""
    value = meta.get(SEQ_KEY)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
