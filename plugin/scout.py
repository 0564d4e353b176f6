"""``Scout``: hopscout's one entry point. Add, ingest, search, delete and list collections.

A thin facade over :class:`~hopscout.engine.Engine`, which does the work."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from typing_extensions import Self, Unpack

from .documents import as_documents
from .embedders import Embedder, make_embedder
from .engine import Engine, Progress
from .errors import HopscoutError, InvalidArgumentError, ToolCatalogCollectionError
from .filters import Where, validate_where
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


def engine_of(scout: Scout | Engine) -> Engine:
    """The engine a feature built on the core (tool catalog, calibration, evaluation, benchmarks) runs on: the
    one seam between :class:`Scout`, which is for users, and the engine, which features take explicitly."""
    if isinstance(scout, Engine):
        return scout
    if not isinstance(scout, Scout):
        raise InvalidArgumentError(f"expected a Scout, got {type(scout).__name__}")
    return scout._engine
