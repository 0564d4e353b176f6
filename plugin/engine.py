"""The engine under :class:`~hopscout.Scout`: it owns the store, the per-collection indexes, fusion weights,
writes, the LLM and its cache, the hop operators and the passage prior, and runs every search as the pipeline
:func:`hopscout.pipeline.build_pipeline` assembles from the resolved options:

    validate → first retrieval → [augment] → [hop] → [prior] → [confidence] → hits

Writes overlap embedding through :mod:`hopscout.writer`. Features built on the core (tool
retrieval, ingestion, calibration, evaluation) use the engine's public methods, never its private state."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .embedders import Embedder
from .errors import CollectionNotFoundError, InvalidArgumentError
from .hop import HopOperator, PassagePhrases, get_operator
from .index import CollectionIndex, content_hash
from .keys import KIND_TOOLS, META_DIM, META_EMBEDDER, META_FUSION_WEIGHT, META_KIND
from .llm import LLM, CachedLLM, LLMCache, LLMClient
from .pipeline import build_pipeline
from .retrieval import FirstRetrieval, SearchOptions, check_queries, to_hits
from .retrieval.options import check_fusion_weight
from .retrieval.prior import PassagePrior
from .settings import Settings
from .store import VectorStore, check_collection_name
from .types import CollectionInfo, Hit
from .writer import Progress, Writer

DEFAULT_FUSION_WEIGHT = 0.5


class Engine:
    """What a :class:`~hopscout.Scout` runs on. Thread-safe; one per store."""

    def __init__(
        self, settings: Settings, embedder: Embedder, store: VectorStore, llm: LLM | None = None
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.store = store
        self.writer = Writer(embedder, settings.batch_size)
        self.pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hopscout")
        self._llm = llm
        self._llm_made = llm is not None
        self._llm_cache: LLMCache | None = None
        self._indexes: dict[str, CollectionIndex] = {}
        self._hop_operators: dict[str, HopOperator] = {}
        self.passage_prior = PassagePrior(settings.flagged_demotion)
        self._lock = threading.RLock()

    # -- collections ------------------------------------------------------------------------------
    def index(self, collection: str | None = None, *, create: bool = False) -> CollectionIndex:
        """The collection's index (opened once; created when ``create``); CollectionNotFoundError otherwise."""
        name = check_collection_name(collection or self.settings.collection)
        with self._lock:
            index = self._indexes.get(name)
            if index is None:
                index = CollectionIndex.open(
                    self.store,
                    name,
                    embedder_id=self.embedder.id,
                    dim=lambda: self.embedder.dim,
                    lexical_root=self.settings.home / "lexical" / self.store.location,
                    create=create,
                    sync_interval=self.settings.sync_interval,
                    lexical_backend=self.settings.lexical_backend,
                )
                self._indexes[name] = index
            return index

    def exists(self, name: str) -> bool:
        """Whether the store has a collection called ``name`` (opened here or not)."""
        return name in self._indexes or name in {c.name for c in self.store.list_collections()}

    def tool_catalog(self, collection: str | None, *, fresh: bool = True) -> str | None:
        """Whether ``collection`` belongs to a tool catalog, and how: ``"catalog"`` when it is marked
        ``hopscout:kind = "tools"`` (:class:`~hopscout.tools.ToolCatalog` marks the collections it writes),
        ``"reserved"`` when it is not but is named ``settings.tools_collection`` (the default catalog's name:
        nobody may fill it with documents first; catalogs made before the mark), None otherwise. ``fresh=False``
        trusts the metadata the collection's latest sync read (a search then costs no store call)."""
        name = check_collection_name(collection or self.settings.collection)
        try:
            index = self.index(name)
        except CollectionNotFoundError:
            index = None
        if index is not None:
            meta = index.last_metadata if not fresh and index.last_metadata is not None else index.metadata()
            if meta.get(META_KIND) == KIND_TOOLS:
                return "catalog"
        return "reserved" if name == self.settings.tools_collection else None

    def collections(self) -> list[CollectionInfo]:
        """Every hopscout collection in the store (those with an embedder recorded), by name."""
        infos = [
            CollectionInfo(
                c.name,
                c.count,
                c.metadata.get(META_EMBEDDER),
                c.metadata.get(META_DIM),
                c.metadata.get(META_FUSION_WEIGHT),
            )
            for c in self.store.list_collections()
            if META_EMBEDDER in c.metadata
        ]
        return sorted(infos, key=lambda info: info.name)

    def drop(self, collection: str) -> None:
        """Delete a whole collection: vectors, lexical index and key phrases."""
        index = self.index(collection)
        with self._lock:
            self._indexes.pop(index.name, None)
        index.drop(self.store)

    def rename(self, collection: str, new_name: str) -> CollectionIndex:
        """Give a collection a new name (refused if that name is taken); its documents, lexical copy and key
        phrases stay. Another process that opened it by its old name must open it again."""
        new_name = check_collection_name(new_name)
        index = self.index(collection)
        with self._lock:
            if new_name != index.name and self.exists(new_name):
                raise InvalidArgumentError(f"A collection {new_name!r} already exists; choose another name")
            old = index.name
            index.rename(new_name)
            self._indexes.pop(old, None)
            self._indexes[new_name] = index
        return index

    def phrases(self, index: CollectionIndex) -> PassagePhrases:
        """The collection's key phrases (:mod:`hopscout.hop.phrases`), stored in the index's phrase table."""
        return PassagePhrases(index, self.embedder, index.phrase_table)

    # -- fusion weight ----------------------------------------------------------------------------
    def fusion_weight(self, index: CollectionIndex, override: float | None = None) -> float:
        """The lexical weight hybrid search uses: the call's, else HOPSCOUT_FUSION_WEIGHT, else the collection's
        calibrated one (as its latest sync read it), else 0.5."""
        for value in (override, self.settings.fusion_weight):
            if value is not None:
                return check_fusion_weight(value)
        stored = (index.last_metadata or index.metadata()).get(META_FUSION_WEIGHT)
        return float(stored) if stored is not None else DEFAULT_FUSION_WEIGHT

    def set_fusion_weight(self, index: CollectionIndex, weight: float) -> None:
        """Store the lexical weight hybrid search uses on this collection."""
        if not 0.0 <= float(weight) <= 1.0:
            raise InvalidArgumentError(f"fusion weight must be in [0, 1], got {weight}")
        index.update_metadata(**{META_FUSION_WEIGHT: float(weight)})

    # -- writing ----------------------------------------------------------------------------------
    def write(
        self,
        index: CollectionIndex,
        ids: Sequence[str],
        texts: Sequence[str],
        metadatas: Sequence[Mapping[str, Any]],
        progress: Progress | None = None,
        *,
        phrases: bool | None = None,
        vectors: np.ndarray | None = None,
    ) -> None:
        """Embed and store documents; a writer thread stores each group of batches while the next is embedded.
        ``progress(done, total)`` follows every embedding batch. Then, unless ``phrases`` is False (default:
        HOPSCOUT_INDEX_PHRASES), the passages' key phrases are encoded for the ``phrase`` hop.

        ``vectors``: the documents' vectors, from :meth:`embed` (one row per text): then nothing is embedded
        here and the write itself is short (the tool catalog embeds first and holds its lock only to write)."""
        stored = self.writer.write(index, ids, texts, metadatas, progress, vectors=vectors)
        if self.settings.index_phrases if phrases is None else phrases:
            hashes = [content_hash(t, m) for t, m in zip(texts, stored)]
            self.phrases(index).add(ids, texts, hashes)

    def embed(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """The documents' vectors, one row per text, embedded in batches of HOPSCOUT_BATCH_SIZE (to pass to
        :meth:`write` later: the tool catalog embeds before it takes its lock)."""
        return self.writer.embed(texts, progress)

    # -- the LLM and the hop operators ----------------------------------------------------------------
    @property
    def llm(self) -> LLM | None:
        """The LLM given to the Scout, else one for HOPSCOUT_LLM_* (made on first use), else None."""
        if not self._llm_made:
            with self._lock:
                if not self._llm_made:
                    self._llm = LLMClient.from_settings(self.settings)
                    self._llm_made = True
        return self._llm

    @property
    def llm_cache(self) -> LLMCache:
        """The disk cache of LLM replies under ``HOME/cache`` (opened on first use)."""
        if self._llm_cache is None:
            with self._lock:
                if self._llm_cache is None:
                    self._llm_cache = LLMCache(self.settings.home / "cache" / "llm.sqlite")
        return self._llm_cache

    def completions(self, llm: LLM | None = None, cache: LLMCache | None = None) -> CachedLLM | None:
        """``llm`` (default: :attr:`llm`) with replies cached (default: :attr:`llm_cache`); None without an LLM."""
        model = llm if llm is not None else self.llm
        if model is None:
            return None
        return CachedLLM(
            model, cache if cache is not None else self.llm_cache, max_tokens=self.settings.llm_max_tokens
        )

    def hop_operator(self, name: str) -> HopOperator:
        """The hop operator called ``name``; trained ones load their weights for this embedder once."""
        spec = get_operator(name)
        with self._lock:
            if name not in self._hop_operators:
                self._hop_operators[name] = spec.load(self.embedder.id, self.embedder.dim, self.settings.home)
            return self._hop_operators[name]

    # -- searching --------------------------------------------------------------------------------
    def first_retrieval(self, index: CollectionIndex) -> FirstRetrieval:
        """The first retrieval over ``index`` (what every search pipeline starts from)."""
        return FirstRetrieval(index, self.embedder, self.pool)

    def search(self, queries: Sequence[str], options: SearchOptions) -> list[list[Hit]]:
        """The search pipeline, one hit list per query. Everything is checked before the store is touched."""
        queries = check_queries(queries, self.settings)
        opts = options.resolve(self.settings)
        pipeline = build_pipeline(opts, self)
        return to_hits(pipeline.index, pipeline.retrieve(queries), opts.k)

    def close(self) -> None:
        """Release the lexical index files, the LLM cache and worker threads."""
        with self._lock:
            for index in self._indexes.values():
                index.close()
            self._indexes.clear()
            if self._llm_cache is not None:
                self._llm_cache.close()
                self._llm_cache = None
        self.store.close()
        self.pool.shutdown(wait=False)
