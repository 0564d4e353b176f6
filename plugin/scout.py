"""``Scout``: hopscout's one entry point. Add, ingest, search, delete and list collections."""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import fusion
from .embedders import Embedder, make_embedder
from .errors import (
    HopscoutError,
    InvalidArgumentError,
    InvalidQueryError,
    StoreUnavailableError,
)
from .filters import Where, validate_where
from .index import META_DIM, META_EMBEDDER, CollectionIndex, public_metadata
from .settings import SearchMode, Settings
from .store import check_collection_name, lexical_dir, open_client
from .types import Document, Hit, IngestReport

META_FUSION_WEIGHT = "hopscout:fusion_weight"
DEFAULT_FUSION_WEIGHT = 0.5
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class CollectionInfo:
    """A collection in the store: its name, document count and the embedder that built it."""

    name: str
    count: int
    embedder: str | None
    dim: int | None
    fusion_weight: float | None = None


class Scout:
    """Hybrid (dense + BM25) retrieval over Chroma.

    >>> scout = Scout(home="/tmp/hs")                      # embedded store, bundled MiniLM, offline
    >>> scout.add(["Paris is the capital of France."])
    >>> scout.search("French capital", k=3)

    Give either settings (a :class:`Settings` or its fields as keywords) or injected components
    (``embedder=``, ``client=`` a Chroma client), not both for the same part."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        client: Any = None,
        **overrides: Any,
    ) -> None:
        if settings is not None and overrides:
            raise InvalidArgumentError(f"Pass settings or keyword settings, not both (got {sorted(overrides)})")
        if embedder is not None and "embedder" in overrides:
            raise InvalidArgumentError("Pass embedder= (an Embedder) or the embedder setting, not both")
        self.settings = settings or Settings(**overrides)
        self.embedder = embedder or make_embedder(self.settings)
        self._client = client
        self._indexes: dict[str, CollectionIndex] = {}
        self._lock = threading.RLock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hopscout")

    # -- plumbing ---------------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The Chroma client (opened on first use)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = open_client(self.settings)
        return self._client

    def _index(self, collection: str | None, *, create: bool = False) -> CollectionIndex:
        name = check_collection_name(collection or self.settings.collection)
        with self._lock:
            index = self._indexes.get(name)
            if index is None:
                index = CollectionIndex.open(
                    self.client, name, embedder_id=self.embedder.id,
                    dim=lambda: self.embedder.dim, lexical_root=lexical_dir(self.settings),
                    create=create, sync_interval=self.settings.sync_interval,
                )
                self._indexes[name] = index
            return index

    def close(self) -> None:
        """Release the lexical index files and worker threads."""
        with self._lock:
            for index in self._indexes.values():
                index.lexical.close()
            self._indexes.clear()
        self._pool.shutdown(wait=False)

    def __enter__(self) -> Scout:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- collections ------------------------------------------------------------------------------
    def collections(self) -> list[CollectionInfo]:
        """Every hopscout collection in the store."""
        try:
            found = self.client.list_collections()
        except Exception as exc:
            raise StoreUnavailableError(f"Chroma failed listing collections: {exc}") from exc
        infos = []
        for col in found:
            meta = col.metadata or {}
            if META_EMBEDDER not in meta:
                continue
            infos.append(
                CollectionInfo(col.name, col.count(), meta.get(META_EMBEDDER), meta.get(META_DIM), meta.get(META_FUSION_WEIGHT))
            )
        return sorted(infos, key=lambda info: info.name)

    def drop_collection(self, collection: str) -> None:
        """Delete a whole collection, vectors and lexical index."""
        index = self._index(collection)
        with self._lock:
            self._indexes.pop(index.name, None)
        index.lexical.close()
        self.client.delete_collection(index.name)
        index.lexical.path.unlink(missing_ok=True)

    def set_fusion_weight(self, weight: float, *, collection: str | None = None) -> None:
        """Store the lexical weight hybrid search uses on this collection (see ``hopscout calibrate``)."""
        if not 0.0 <= float(weight) <= 1.0:
            raise InvalidArgumentError(f"fusion weight must be in [0, 1], got {weight}")
        self._index(collection).update_metadata(**{META_FUSION_WEIGHT: float(weight)})

    # -- writing ----------------------------------------------------------------------------------
    def add(
        self,
        documents: Iterable[str | Document | Mapping[str, Any]],
        metadatas: Sequence[Mapping[str, Any] | None] | None = None,
        ids: Sequence[str] | None = None,
        *,
        collection: str | None = None,
        progress: Progress | None = None,
    ) -> list[str]:
        """Embed and index texts (or :class:`Document` / ``{"text", "metadata", "id"}``); returns their ids.

        Ids default to a hash of text and metadata, so adding the same document twice stores it once."""
        docs = _as_documents(documents, metadatas, ids)
        index = self._index(collection, create=True)
        self._write(index, [d.id for d in docs], [d.text for d in docs], [dict(d.metadata) for d in docs], progress)
        return [d.id for d in docs]  # type: ignore[misc]

    def _write(
        self, index: CollectionIndex, ids: Sequence[Any], texts: Sequence[str],
        metadatas: Sequence[Mapping[str, Any]], progress: Progress | None = None,
    ) -> None:
        """Embed in batches while a writer thread stores the previous batch (encoding dominates)."""
        size = self.settings.batch_size * 4
        pending: queue.Queue[Any] = queue.Queue(maxsize=2)
        failure: list[BaseException] = []

        def writer() -> None:
            while (item := pending.get()) is not None:
                if failure:
                    continue
                try:
                    index.upsert(*item)
                except BaseException as exc:  # surfaced in the caller's thread below
                    failure.append(exc)

        thread = threading.Thread(target=writer, name="hopscout-writer", daemon=True)
        thread.start()
        done = 0
        try:
            for start in range(0, len(ids), size):
                if failure:
                    break
                batch = slice(start, start + size)
                vectors = self.embedder.embed_documents(texts[batch])
                pending.put((ids[batch], texts[batch], vectors, metadatas[batch]))
                done += len(texts[batch])
                if progress:
                    progress(done, len(ids))
        finally:
            pending.put(None)
            thread.join()
        if failure:
            raise failure[0]

    def ingest(
        self, path: str | Path, *, collection: str | None = None, progress: Progress | None = None
    ) -> IngestReport:
        """Index a file or a folder (text, Markdown, HTML, PDF, code) in overlapping token-sized chunks.

        Re-ingesting a folder skips unchanged files, replaces changed ones and removes deleted ones."""
        from .ingest.pipeline import ingest_path

        name = check_collection_name(collection or self.settings.collection)
        existed = name in self._indexes or name in {c.name for c in self.client.list_collections()}
        index = self._index(name, create=True)
        try:
            return ingest_path(self, index, Path(path), progress=progress)
        except HopscoutError:
            if not existed and index.count() == 0:
                self.drop_collection(name)  # a failed first ingest leaves no empty collection behind
            raise

    def delete(
        self, ids: Sequence[str] | None = None, *, where: Where | None = None, collection: str | None = None
    ) -> int:
        """Delete documents by id and/or by metadata filter; returns how many existed and were removed."""
        if ids is None and not where:
            raise InvalidArgumentError("delete needs ids or a where filter (to drop a collection: drop_collection)")
        if ids is not None and (isinstance(ids, str) or not all(isinstance(i, str) for i in ids)):
            raise InvalidArgumentError("ids must be a list of strings")
        where = validate_where(where)
        index = self._index(collection)
        targets = set(index.get(list(ids)).keys()) if ids is not None else None
        if where:
            matched = set(index.ids(where))
            targets = matched if targets is None else targets & matched
        index.delete(sorted(targets or ()))
        return len(targets or ())

    # -- searching --------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 10,
        *,
        where: Where | None = None,
        mode: SearchMode | None = None,
        fusion_weight: float | None = None,
        collection: str | None = None,
        hops: int = 1,
        beam: int | None = None,
        hop_operator: str | None = None,
        augment: str | None = None,
        augmenter: str | None = None,
        expansion: str | None = None,
    ) -> list[Hit]:
        """The ``k`` best hits for one query (see :meth:`search_batch`)."""
        return self.search_batch([query], k, where=where, mode=mode, fusion_weight=fusion_weight,
                                 collection=collection, hops=hops, beam=beam, hop_operator=hop_operator,
                                 augment=augment, augmenter=augmenter, expansion=expansion)[0]

    def search_batch(
        self,
        queries: Sequence[str],
        k: int = 10,
        *,
        where: Where | None = None,
        mode: SearchMode | None = None,
        fusion_weight: float | None = None,
        collection: str | None = None,
        hops: int = 1,
        beam: int | None = None,
        hop_operator: str | None = None,
        augment: str | None = None,
        augmenter: str | None = None,
        expansion: str | None = None,
    ) -> list[list[Hit]]:
        """The ``k`` best hits for each query: ``dense`` (cosine), ``lexical`` (BM25) or ``hybrid`` (fused).

        ``hops > 1`` adds multi-hop retrieval (:mod:`hopscout.multihop`): each of the top ``beam`` passages
        spawns a next query through ``hop_operator``, and what later hops find fills the last slots of the list.

        ``augment`` (``never`` / ``always`` / ``auto``; default HOPSCOUT_AUGMENT) adds query augmentation
        (:mod:`hopscout.augment`) with ``augmenter`` (default HOPSCOUT_AUGMENTER) or the caller's ``expansion``
        text; ``auto`` augments only where the collection's calibrated gate expects a gain (rocchio and rm3
        augment nothing under ``auto`` until ``hopscout calibrate DIR --augment`` has fitted one)."""
        queries = self._check_queries(queries)
        k = self._check_k(k)
        where = validate_where(where)
        if hops != 1:
            from .multihop import hop_search

            return hop_search(self, queries, k, where=where, mode=mode, fusion_weight=fusion_weight,
                              collection=collection, hops=hops, beam=beam, operator=hop_operator,
                              augment=augment, augmenter=augmenter, expansion=expansion)
        if expansion is not None or (augment or self.settings.augment) != "never":
            from .augment import augmented_search

            return augmented_search(self, queries, k, where=where, mode=mode, fusion_weight=fusion_weight,
                                    collection=collection, augment=augment, augmenter=augmenter, expansion=expansion)
        mode = mode or self.settings.search_mode
        if mode not in ("dense", "lexical", "hybrid"):
            raise InvalidArgumentError(f"mode must be dense, lexical or hybrid, got {mode!r}")
        index = self._index(collection)
        index.sync()
        n = k if mode != "hybrid" else max(k, self.settings.candidates)
        lexical_future = (
            self._pool.submit(index.lexical.search_many, queries, n, where) if mode != "dense" else None
        )
        vectors = self.embedder.embed_queries(queries) if mode != "lexical" else None
        # Hybrid fetches only scores for its candidates, then texts for the k it returns.
        dense = index.dense(vectors, n, where, documents=mode == "dense") if vectors is not None else None
        lexical = lexical_future.result() if lexical_future else None
        if mode == "dense":
            return [[Hit(i, t, s, public_metadata(m), {"dense": s}) for i, s, t, m in rows] for rows in dense]  # type: ignore[union-attr]
        if mode == "lexical":
            ranked = [[(i, s, {"lexical": s}) for i, s in rows] for rows in lexical]  # type: ignore[union-attr]
        else:
            weight = self._fusion_weight(index, fusion_weight)
            ranked = []
            for dense_rows, lexical_rows in zip(dense, lexical):  # type: ignore[arg-type]
                d = {i: s for i, s, _, _ in dense_rows}
                lx = dict(lexical_rows)
                ranked.append([
                    (i, s, {"fused": s, **({"dense": d[i]} if i in d else {}), **({"lexical": lx[i]} if i in lx else {})})
                    for i, s in fusion.convex(d, lx, weight)[:k]
                ])
        docs = {i: (t, m) for i, (t, m, _) in index.get(list({i for rows in ranked for i, _, _ in rows})).items()}
        return [[_hit(i, s, docs, parts) for i, s, parts in rows if i in docs] for rows in ranked]

    def fusion_weight(self, collection: str | None = None) -> float:
        """The lexical weight hybrid search uses on ``collection`` now."""
        return self._fusion_weight(self._index(collection), None)

    def _fusion_weight(self, index: CollectionIndex, override: float | None) -> float:
        for value in (override, self.settings.fusion_weight):
            if value is not None:
                if not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
                    raise InvalidArgumentError(f"fusion_weight must be a number in [0, 1], got {value!r}")
                return float(value)
        stored = (index.last_metadata or index.metadata()).get(META_FUSION_WEIGHT)
        return float(stored) if stored is not None else DEFAULT_FUSION_WEIGHT

    def _check_queries(self, queries: Any) -> list[str]:
        if isinstance(queries, str) or not isinstance(queries, Sequence):
            raise InvalidQueryError(f"queries must be a list of strings, got {type(queries).__name__}")
        if not queries:
            raise InvalidQueryError("queries is empty: pass at least one query")
        limit = self.settings.max_query_chars
        for q in queries:
            if not isinstance(q, str):
                raise InvalidQueryError(f"a query must be a string, got {type(q).__name__}: {q!r:.80}")
            if not q.strip():
                raise InvalidQueryError("a query is empty or whitespace: say what to look for")
            if len(q) > limit:
                raise InvalidQueryError(
                    f"a query has {len(q)} characters, over the limit of {limit} (HOPSCOUT_MAX_QUERY_CHARS); "
                    "shorten it to the question itself"
                )
        return list(queries)

    def _check_k(self, k: Any) -> int:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise InvalidArgumentError(f"k must be an integer, got {type(k).__name__}")
        if not 1 <= int(k) <= self.settings.max_k:
            raise InvalidArgumentError(f"k must be between 1 and {self.settings.max_k} (HOPSCOUT_MAX_K), got {k}")
        return int(k)


def _hit(doc_id: str, score: float, docs: Mapping[str, tuple[str, dict[str, Any]]], scores: dict[str, float]) -> Hit:
    text, meta = docs[doc_id]
    return Hit(doc_id, text, float(score), public_metadata(meta), scores)


_SCALAR = (str, int, float, bool)


def _as_documents(
    documents: Iterable[Any], metadatas: Sequence[Mapping[str, Any] | None] | None, ids: Sequence[str] | None
) -> list[Document]:
    if isinstance(documents, (str, bytes, Document)) or not isinstance(documents, Iterable):
        raise InvalidArgumentError("documents must be a list of strings, Documents or {'text': ...} dicts")
    docs = list(documents)
    if metadatas is not None and len(metadatas) != len(docs):
        raise InvalidArgumentError(f"{len(metadatas)} metadatas for {len(docs)} documents")
    if ids is not None and len(ids) != len(docs):
        raise InvalidArgumentError(f"{len(ids)} ids for {len(docs)} documents")
    out: list[Document] = []
    for n, item in enumerate(docs):
        if isinstance(item, str):
            item = Document(item)
        elif isinstance(item, Mapping):
            if not isinstance(item.get("text"), str):
                raise InvalidArgumentError(f"document {n} has no 'text' string")
            item = Document(item["text"], item.get("metadata") or {}, item.get("id"))
        elif not isinstance(item, Document):
            raise InvalidArgumentError(f"document {n} is a {type(item).__name__}, not a string or Document")
        if not item.text.strip():
            raise InvalidArgumentError(f"document {n} is empty")
        meta = _check_metadata(n, {**item.metadata, **((metadatas[n] or {}) if metadatas is not None else {})})
        doc_id = ids[n] if ids is not None else item.id
        if doc_id is None:
            doc_id = hashlib.sha256(repr((item.text, sorted(meta.items()))).encode()).hexdigest()[:32]
        if not isinstance(doc_id, str) or not doc_id:
            raise InvalidArgumentError(f"document {n} has an invalid id {doc_id!r}: ids are non-empty strings")
        out.append(Document(item.text, meta, doc_id))
    if len({d.id for d in out}) != len(out):
        raise InvalidArgumentError("duplicate ids in one add() call")
    return out


def _check_metadata(n: int, meta: Mapping[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in meta.items():
        if not isinstance(key, str) or not key or key.startswith("hs_") or key.startswith("hopscout:"):
            raise InvalidArgumentError(f"document {n}: metadata key {key!r} is invalid or reserved (hs_*, hopscout:*)")
        if value is None:
            continue
        if not isinstance(value, _SCALAR):
            raise InvalidArgumentError(
                f"document {n}: metadata {key!r} is a {type(value).__name__}; values must be str, int, float or bool"
            )
        clean[key] = value
    return clean
