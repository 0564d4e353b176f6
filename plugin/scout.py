"""``Scout``: hopscout's one entry point. Add, ingest, search, delete and list collections.

A thin facade over :class:`~hopscout.engine.Engine`, which does the work."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from typing_extensions import Self, Unpack

from .documents import DocumentPage, StoredDocument, as_documents, check_metadata, merge_metadata
from .embedders import Embedder, make_embedder
from .engine import Engine, Progress
from .errors import HopscoutError, InvalidArgumentError, ToolCatalogCollectionError
from .filters import Where, validate_where
from .index import public_metadata
from .keys import FLAGS_KEY, META_DIM, META_EMBEDDER, META_FUSION_WEIGHT
from .llm import LLM
from .retrieval import DEFAULT_SEARCH_K, SearchKwargs, SearchOptions
from .settings import Settings, load_settings
from .store import VectorStore, check_collection_name, open_store
from .types import CollectionInfo, Document, Hit, IngestReport


class Scout:
    """Hybrid (dense + BM25) retrieval over Chroma, with multi-hop search and adaptive query augmentation.

    >>> scout = Scout(home="/tmp/hs")                      # embedded store, bundled MiniLM, offline
    >>> scout.add(["Paris is the capital of France."])
    >>> scout.search("French capital", k=3)

    Give either settings (a :class:`Settings` or its fields as keywords) or injected components
    (``embedder=``, ``store=`` a :class:`~hopscout.store.VectorStore` or ``client=`` a Chroma client,
    ``llm=`` anything with ``complete(prompt)``), not both for the same part."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        embedder: Embedder | None = None,
        store: VectorStore | None = None,
        client: Any = None,
        llm: LLM | None = None,
        **overrides: Any,
    ) -> None:
        if settings is not None and overrides:
            raise InvalidArgumentError(
                f"Pass settings or keyword settings, not both (got {sorted(overrides)})"
            )
        for name, given in (("embedder", embedder), ("llm", llm)):
            if given is not None and name in overrides:
                raise InvalidArgumentError(f"Pass {name}= (a component) or the {name} setting, not both")
        if store is not None and client is not None:
            raise InvalidArgumentError("Pass store= (a VectorStore) or client= (a Chroma client), not both")
        if llm is not None and not callable(getattr(llm, "complete", None)):
            raise InvalidArgumentError(f"llm must have a complete(prompt) method, got {type(llm).__name__}")
        resolved = settings or load_settings(**overrides)
        self._engine = Engine(
            resolved, embedder or make_embedder(resolved), store or open_store(resolved, client), llm
        )

    @property
    def settings(self) -> Settings:
        return self._engine.settings

    @property
    def embedder(self) -> Embedder:
        return self._engine.embedder

    @property
    def store(self) -> VectorStore:
        """Where the collections live (Chroma, embedded or a server, by default)."""
        return self._engine.store

    def close(self) -> None:
        """Release the lexical index files, caches and worker threads."""
        self._engine.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- collections ------------------------------------------------------------------------------
    def collections(self) -> list[CollectionInfo]:
        """Every hopscout collection in the store."""
        return self._engine.collections()

    def drop_collection(self, collection: str) -> None:
        """Delete a whole collection, vectors and lexical index (a tool catalog's too: dropping removes, it
        cannot forge a tool, and it is how a catalog's name is freed)."""
        self._engine.drop(collection)

    def fusion_weight(self, collection: str | None = None) -> float:
        """The lexical weight hybrid search uses on ``collection`` now."""
        return self._engine.fusion_weight(self._engine.index(collection))

    def set_fusion_weight(self, weight: float, *, collection: str | None = None) -> None:
        """Store the lexical weight hybrid search uses on this collection (see ``hopscout calibrate``)."""
        self._engine.set_fusion_weight(self._engine.index(collection), weight)

    def count(self, collection: str | None = None) -> int:
        """How many documents (chunks) the collection holds."""
        return self._engine.index(collection).count()

    def collection_info(self, collection: str | None = None) -> CollectionInfo:
        """One collection's name, document count, embedder, dimension and calibrated fusion weight."""
        index = self._engine.index(collection)
        meta = index.metadata()
        return CollectionInfo(
            index.name,
            index.count(),
            meta.get(META_EMBEDDER),
            meta.get(META_DIM),
            meta.get(META_FUSION_WEIGHT),
        )

    def collection_metadata(self, collection: str | None = None) -> dict[str, Any]:
        """The metadata the collection's user gave it (hopscout's own ``hopscout:*`` keys left out)."""
        return self._engine.index(collection).user_metadata()

    def create_collection(self, name: str, metadata: Mapping[str, Any] | None = None) -> CollectionInfo:
        """Create an empty collection with the user's ``metadata`` (flat str/int/float/bool values); refused if
        one of that name exists (adding documents creates a missing collection too)."""
        name = check_collection_name(name)
        meta = check_metadata(0, metadata or {}, what=f"collection {name!r}")
        self._documents_only(name, "create")
        if self._engine.exists(name):
            raise InvalidArgumentError(
                f"Collection {name!r} already exists; change it with modify_collection, or choose another name"
            )
        index = self._engine.index(name, create=True)
        if meta:
            index.replace_user_metadata(meta)
        return self.collection_info(name)

    def modify_collection(
        self,
        collection: str | None = None,
        *,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
    ) -> CollectionInfo:
        """Change a collection's user metadata (keys given are set, a key set to None is removed) and/or rename
        it to ``name`` (refused if taken); documents, vectors and lexical index stay as they are."""
        if metadata is None and name is None:
            raise InvalidArgumentError("modify_collection needs metadata to change and/or a new name")
        current = collection or self.settings.collection
        self._documents_only(current, "modify")
        index = self._engine.index(current)
        renaming = name is not None and name != index.name
        if renaming:  # checked before anything changes
            self._documents_only(check_collection_name(name), "rename a collection to")
            if self._engine.exists(str(name)):
                raise InvalidArgumentError(f"A collection {name!r} already exists; choose another name")
        if metadata is not None:
            check_metadata(0, metadata, what=f"collection {index.name!r}")  # every key, those set to None too
            merged = merge_metadata(index.user_metadata(), metadata)
            index.replace_user_metadata(check_metadata(0, merged, what=f"collection {index.name!r}"))
        if renaming:
            index = self._engine.rename(index.name, str(name))
        return self.collection_info(index.name)

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
        docs = as_documents(documents, metadatas, ids, max_chars=self.settings.max_document_chars)
        ids_out = [str(d.id) for d in docs]
        self._documents_only(collection, "add documents to")
        index = self._engine.index(collection, create=True)
        self._engine.write(index, ids_out, [d.text for d in docs], [dict(d.metadata) for d in docs], progress)
        return ids_out

    def update(
        self,
        ids: Sequence[str],
        texts: Sequence[str | None] | None = None,
        metadatas: Sequence[Mapping[str, Any] | None] | None = None,
        *,
        collection: str | None = None,
        progress: Progress | None = None,
    ) -> list[str]:
        """Change existing documents: a new text (None: keep it) is embedded again; metadata changes merge into
        the stored metadata (a key set to None is removed). Dense and lexical indexes change together. Every id
        must exist: nothing is written otherwise (new documents go through :meth:`add`)."""
        if isinstance(ids, str) or not ids or not all(isinstance(i, str) for i in ids):
            raise InvalidArgumentError("ids must be a non-empty list of strings")
        if texts is None and metadatas is None:
            raise InvalidArgumentError("update needs new texts and/or metadatas for the ids")
        for given, label in ((texts, "texts"), (metadatas, "metadatas")):
            if given is not None and (isinstance(given, str) or len(given) != len(ids)):
                raise InvalidArgumentError(f"update needs one of {label} per id ({len(ids)}), or none")
        self._documents_only(collection, "update documents in")
        index = self._engine.index(collection)
        stored = index.get(list(ids), embeddings=True)
        missing = [i for i in ids if i not in stored]
        if missing:
            raise InvalidArgumentError(
                f"{len(missing)} of {len(ids)} ids are not in collection {index.name!r}: "
                f"{', '.join(repr(i) for i in missing[:10])}{' ...' if len(missing) > 10 else ''}. update "
                "changes existing documents only; add new ones with add (add_documents)"
            )
        items = []
        for n, doc_id in enumerate(ids):
            changes = metadatas[n] if metadatas is not None else None
            if changes is not None:
                check_metadata(n, changes)  # every key, those set to None too
            new_text = texts[n] if texts is not None else None
            items.append(
                {
                    "id": doc_id,
                    "text": stored[doc_id].text if new_text is None else new_text,
                    "metadata": merge_metadata(public_metadata(stored[doc_id].metadata), changes),
                }
            )
        docs = as_documents(items, None, None, max_chars=self.settings.max_document_chars)
        # unchanged texts keep their stored vectors: a metadata change embeds nothing
        vectors: list[Any] = [
            stored[str(d.id)].embedding if d.text == stored[str(d.id)].text else None for d in docs
        ]
        fresh = [n for n, vec in enumerate(vectors) if vec is None]
        if fresh:
            for n, vec in zip(fresh, self._engine.embed([docs[n].text for n in fresh], progress)):
                vectors[n] = vec
        ids_out = [str(d.id) for d in docs]
        self._engine.write(
            index,
            ids_out,
            [d.text for d in docs],
            [dict(d.metadata) for d in docs],
            vectors=np.stack([np.asarray(v, dtype=np.float32) for v in vectors]),
        )
        return ids_out

    def ingest(
        self,
        path: str | Path,
        *,
        collection: str | None = None,
        progress: Progress | None = None,
        parsed: Progress | None = None,
        roots: Sequence[str | Path] | None = None,
    ) -> IngestReport:
        """Index a file or a folder (text, Markdown, HTML, PDF, code) in overlapping token-sized chunks.

        Re-ingesting a folder skips unchanged files, replaces changed ones and removes deleted ones. The report
        names every file passed over and why. ``parsed(files done, files)`` reports reading and chunking,
        ``progress(chunks done, chunks)`` embedding.

        ``roots``: the folders it may read (the MCP server's HOPSCOUT_ROOTS); None: ``path`` itself. Every file
        is read only if it resolves (symlinks followed) inside them; a link leading out, a broken link or a
        file over HOPSCOUT_MAX_FILE_BYTES is skipped and named in the report (:mod:`hopscout.ingest.pipeline`)."""
        from .ingest.pipeline import ingest_path

        name = check_collection_name(collection or self.settings.collection)
        self._documents_only(name, "ingest files into")
        existed = self._engine.exists(name)
        index = self._engine.index(name, create=True)
        try:
            return ingest_path(self._engine, index, Path(path), progress=progress, parsed=parsed, roots=roots)
        except HopscoutError:
            if not existed and index.count() == 0:
                self._engine.drop(name)  # a failed first ingest leaves no empty collection behind
            raise

    def delete(
        self, ids: Sequence[str] | None = None, *, where: Where | None = None, collection: str | None = None
    ) -> int:
        """Delete documents by id and/or by metadata filter; returns how many existed and were removed."""
        if ids is None and not where:
            raise InvalidArgumentError(
                "delete needs ids or a where filter (to drop a collection: drop_collection)"
            )
        if ids is not None and (isinstance(ids, str) or not all(isinstance(i, str) for i in ids)):
            raise InvalidArgumentError("ids must be a list of strings")
        where = validate_where(where)
        self._documents_only(collection, "delete documents from")
        index = self._engine.index(collection)
        targets = set(index.get(list(ids)).keys()) if ids is not None else None
        if where:
            matched = set(index.ids(where))
            targets = matched if targets is None else targets & matched
        index.delete(sorted(targets or ()))
        return len(targets or ())

    # -- reading ----------------------------------------------------------------------------------
    def get(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: Where | None = None,
        limit: int | None = None,
        offset: int = 0,
        collection: str | None = None,
    ) -> DocumentPage:
        """Documents by id (in the order given) and/or metadata filter, ``limit`` of them (None: all) from
        ``offset``; the page says where the next one starts and which ids were not found."""
        if ids is not None and (isinstance(ids, str) or not all(isinstance(i, str) for i in ids)):
            raise InvalidArgumentError("ids must be a list of strings")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise InvalidArgumentError(f"limit must be a positive integer or None (all), got {limit!r}")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InvalidArgumentError(f"offset must be an integer >= 0, got {offset!r}")
        where = validate_where(where)
        self._documents_only(collection, "read documents from")
        index = self._engine.index(collection)
        missing: tuple[str, ...] = ()
        if ids is not None:  # every match, to name the missing ones (as many as the ids asked for)
            rows = index.documents(ids, where=where)
            found = {doc_id for doc_id, _ in rows}
            missing = tuple(i for i in dict.fromkeys(ids) if i not in found)
            rows = rows[offset:]
        else:
            rows = index.documents(where=where, limit=None if limit is None else limit + 1, offset=offset)
        more = limit is not None and len(rows) > limit
        page = rows[:limit] if limit is not None else rows
        return DocumentPage(
            index.name,
            tuple(_stored_document(doc_id, doc.text, doc.metadata) for doc_id, doc in page),
            offset,
            offset + len(page) if more else None,
            missing,
        )

    def peek(self, limit: int = 5, *, collection: str | None = None) -> tuple[StoredDocument, ...]:
        """The collection's first ``limit`` documents, to see what it holds."""
        return self.get(limit=limit, collection=collection).documents

    # -- searching --------------------------------------------------------------------------------
    def search(self, query: str, k: int = DEFAULT_SEARCH_K, **options: Unpack[SearchKwargs]) -> list[Hit]:
        """The ``k`` best hits for one query (see :meth:`search_batch` for the options)."""
        return self.search_batch([query], k, **options)[0]

    def search_batch(
        self, queries: Sequence[str], k: int = DEFAULT_SEARCH_K, **options: Unpack[SearchKwargs]
    ) -> list[list[Hit]]:
        """The ``k`` best hits for each query. Options (:class:`~hopscout.retrieval.SearchOptions`; unset ones
        follow the ``HOPSCOUT_*`` settings):

        - ``mode``: ``dense`` (cosine), ``lexical`` (BM25) or ``hybrid`` (fused with ``fusion_weight``, default
          the collection's calibrated weight); ``where``: a Chroma-syntax metadata filter; ``collection``.
        - ``hops > 1``: multi-hop retrieval (:mod:`hopscout.hop`): each of the top ``beam`` passages spawns a next
          query through ``hop_operator``, and what later hops find fills the last ``hop_fill`` share of slots.
        - ``augment`` (``never`` / ``always`` / ``auto``) with ``augmenter``, or the caller's ``expansion`` text:
          query augmentation (:mod:`hopscout.augment`); ``auto`` augments only where the collection's calibrated
          gate expects a gain (rocchio and rm3 augment nothing under ``auto`` until ``hopscout calibrate DIR
          --augment`` has fitted one)."""
        built = SearchOptions.build(k, dict(options))
        self._documents_only(built.collection, "search", fresh=False)
        return self._engine.search(queries, built)

    def _documents_only(self, collection: str | None, action: str, *, fresh: bool = True) -> None:
        """Refuse a tool catalog's collection: its documents are tools only :class:`~hopscout.ToolCatalog` may
        write (a forged one would replace a tool and its trust) and read (it skips what it cannot parse)."""
        state = self._engine.tool_catalog(collection, fresh=fresh)
        if state is not None:
            name = collection or self.settings.collection
            why = (
                "it holds a tool catalog"
                if state == "catalog"
                else "that name is reserved for the tool catalog (HOPSCOUT_TOOLS_COLLECTION)"
            )
            raise ToolCatalogCollectionError(
                f"cannot {action} collection {name!r}: {why}. Tools are found with find_tools (agents, over "
                "MCP) or hopscout.ToolCatalog (Python: register, remove, find_tools); choose another collection "
                "for documents"
            )


def _stored_document(doc_id: str, text: str, metadata: Mapping[str, Any]) -> StoredDocument:
    flags = str(metadata.get(FLAGS_KEY) or "")
    return StoredDocument(doc_id, text, public_metadata(metadata), tuple(f for f in flags.split(",") if f))


def engine_of(scout: Scout | Engine) -> Engine:
    """The engine a feature built on the core (tool catalog, calibration, evaluation, benchmarks) runs on: the
    one seam between :class:`Scout`, which is for users, and the engine, which features take explicitly."""
    if isinstance(scout, Engine):
        return scout
    if not isinstance(scout, Scout):
        raise InvalidArgumentError(f"expected a Scout, got {type(scout).__name__}")
    return scout._engine
