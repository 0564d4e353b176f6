"""Chroma as hopscout's store: embedded ``PersistentClient`` under HOME by default, ``HttpClient`` for a
``chroma run`` server. Telemetry is off, and hopscout always passes its own vectors, so Chroma's default
embedding function (which downloads a model) never runs."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urlparse

import numpy as np

from ..errors import CollectionNotFoundError, InvalidArgumentError, StoreUnavailableError
from ..filters import Where
from ..settings import Settings
from .base import CollectionRecord, Match, Records, StoreCollection, VectorStore
from .chroma_log import EMPTY, Tail, cosine_matches
from .embedded import EmbeddedChroma, acquire, file_stamp, release

_QUERY_HITS = 20_000  # Chroma fetches all hits of a query batch in one SQL statement: bound its size


def open_client(settings: Settings) -> Any:
    """A Chroma client for ``settings``: HttpClient if ``chroma_url`` is set, else PersistentClient."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise InvalidArgumentError(
                f"HOPSCOUT_CHROMA_URL={settings.chroma_url!r} is not an http(s) URL like http://127.0.0.1:8000"
            )
        headers = {"Authorization": f"Bearer {settings.chroma_token}"} if settings.chroma_token else None
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 80),
                ssl=url.scheme == "https",
                headers=headers,
                settings=chroma_settings,
            )
        except Exception as exc:
            raise StoreUnavailableError(
                f"Cannot reach the Chroma server at {settings.chroma_url}: {exc}. "
                "Start it with `chroma run --path DIR --port PORT`, or unset HOPSCOUT_CHROMA_URL for the embedded store."
            ) from exc
    path = settings.home / "chroma"
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise StoreUnavailableError(f"Cannot open the embedded Chroma store at {path}: {exc}") from exc


def _not_found(exc: Exception) -> bool:
    return type(exc).__name__ == "NotFoundError" or "does not exist" in str(exc)


_Method = TypeVar("_Method", bound=Callable[..., Any])
_R = TypeVar("_R")


def _guarded(kind: str) -> Callable[[_Method], _Method]:
    """A ChromaCollection method that calls Chroma: ``"read"`` on a client no reopen replaces meanwhile,
    ``"write"`` also holding the store's write lock on an up-to-date client (see :mod:`hopscout.store.embedded`).
    ``"graph"`` reads the HNSW graph, the one part that goes stale when another process writes: the method gets
    ``tail=`` the writes its graph lacks (:mod:`hopscout.store.chroma_log`), and runs again after a reopen when
    the log cannot give them or the method raises :class:`_GraphBehind`."""

    def decorate(method: _Method) -> _Method:
        @functools.wraps(method)
        def guarded(self: ChromaCollection, *args: Any, **kwargs: Any) -> Any:
            embedded = self._embedded
            if embedded is None:
                return method(self, *args, **kwargs)
            if kind != "graph":
                with embedded.writing() if kind == "write" else nullcontext(), embedded.calls():
                    return method(self, *args, **kwargs)
            tail = embedded.tail(self.id)
            for _ in range(_GRAPH_TRIES):
                if tail is not None:
                    try:
                        with embedded.calls():
                            return method(self, *args, tail=tail, **kwargs)
                    except _GraphBehind:
                        pass
                embedded.refresh(wait=True)
                tail = embedded.tail(self.id)
            raise StoreUnavailableError(
                f"Chroma's graph of collection {self.name!r} stayed behind its writes through "
                f"{_GRAPH_TRIES} reloads (other processes writing without pause?); try again."
            )

        return guarded  # type: ignore[return-value]

    return decorate


_GRAPH_TRIES = 3


class _Get(NamedTuple):
    """What a ``get`` asks for (see :meth:`StoreCollection.get`), vectors apart."""

    ids: Sequence[str] | None
    where: Where | None = None
    texts: bool = False
    metadatas: bool = False
    limit: int | None = None
    offset: int | None = None


class _GraphBehind(Exception):
    """The graph lacks an id the query needs (a filter matched a document written since it loaded)."""


class ChromaCollection(StoreCollection):
    """One Chroma collection. Embedded, its handle follows the client's reopens (see
    :mod:`hopscout.store.embedded`)."""

    def __init__(
        self,
        client: Any,
        collection: Any,
        data_file: Path | None = None,
        embedded: EmbeddedChroma | None = None,
    ) -> None:
        self._given_client = client
        self._handle = collection
        self._embedded = embedded
        self._generation = embedded.generation if embedded is not None else 0
        self._data_file = data_file
        self.name = str(collection.name)
        self.id = str(collection.id)

    @property
    def _client(self) -> Any:
        return self._embedded.client if self._embedded is not None else self._given_client

    @property
    def _collection(self) -> Any:
        """The Chroma collection on the current client (fetched again after a reopen)."""
        embedded = self._embedded
        if embedded is not None and self._generation != embedded.generation:
            generation = embedded.generation
            self._handle = embedded.client.get_collection(name=self.name, embedding_function=None)
            self._generation = generation
        return self._handle

    def key_values(self, keys: Sequence[str]) -> list[tuple[str, dict[str, Any]]] | None:
        """Embedded: read from the SQLite file in one scan (paging through Chroma's get costs more per page the
        further it goes: minutes for 1M ids)."""
        return self._embedded.key_values(self.id, keys) if self._embedded is not None else None

    def write_group(self) -> AbstractContextManager[None]:
        """Embedded: the directory's write lock, held across the calls of one hopscout write."""
        return self._embedded.writing() if self._embedded is not None else nullcontext()

    def writer_busy(self) -> bool:
        """Embedded: another process holds the directory's write lock right now."""
        return self._embedded.busy() if self._embedded is not None else False

    def change_token(self) -> Any:
        """Embedded: the SQLite file's stamp (:func:`~hopscout.store.embedded.file_stamp`), which every committed
        write changes, whichever process makes it. None for a server, or a file in WAL mode."""
        return file_stamp(self._data_file) if self._data_file is not None else None

    @_guarded("read")
    def metadata(self) -> dict[str, Any]:
        try:
            return dict(self._client.get_collection(name=self.name, embedding_function=None).metadata or {})
        except Exception as exc:
            if _not_found(exc):
                raise CollectionNotFoundError(f"Collection {self.name!r} was deleted.") from None
            raise StoreUnavailableError(f"Chroma failed reading collection {self.name!r}: {exc}") from exc

    @_guarded("write")
    def replace_metadata(self, metadata: Mapping[str, Any]) -> None:
        self._collection.modify(metadata=dict(metadata))

    @_guarded("write")
    def rename(self, name: str) -> None:
        try:
            self._collection.modify(name=name)
        except Exception as exc:
            if _not_found(exc):
                raise CollectionNotFoundError(f"Collection {self.name!r} was deleted.") from None
            if "already exists" in str(exc):
                raise InvalidArgumentError(
                    f"A collection {name!r} already exists; choose another name"
                ) from None
            raise StoreUnavailableError(
                f"Chroma failed renaming collection {self.name!r} to {name!r}: {exc}"
            ) from exc
        self.name = name

    def count(self) -> int:
        counted = self._embedded.count(self.id) if self._embedded is not None else None
        return counted if counted is not None else self._count()

    @_guarded("read")
    def _count(self) -> int:
        return int(self._collection.count())

    @_guarded("write")
    def upsert(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        texts: Sequence[str],
        metadatas: Sequence[Mapping[str, Any]],
    ) -> None:
        metas: list[dict[str, Any]] = [dict(m) for m in metadatas]
        # Chroma merges an existing record's metadata with the new one: a key the new one drops is set to None
        # (which Chroma removes), so an existing id is replaced whole, as StoreCollection.upsert promises
        held = self._collection.get(ids=list(ids), include=["metadatas"])
        where = {doc_id: n for n, doc_id in enumerate(ids)}
        for doc_id, old in zip(held["ids"], held["metadatas"]):
            new = metas[where[doc_id]]
            new.update({key: None for key in old or {} if key not in new})
        self._collection.upsert(
            ids=list(ids),
            embeddings=np.asarray(vectors, dtype=np.float32),
            documents=list(texts),
            metadatas=metas,
        )

    @_guarded("write")
    def delete(self, ids: Sequence[str]) -> None:
        self._collection.delete(ids=list(ids))

    def get(
        self,
        ids: Sequence[str] | None = None,
        *,
        where: Where | None = None,
        texts: bool = False,
        metadatas: bool = False,
        embeddings: bool = False,
        limit: int | None = None,
        offset: int | None = None,
    ) -> Records:
        asked = _Get(ids, where, texts, metadatas, limit, offset)
        if embeddings:
            return self._get_vectors(asked)
        found = self._from_file(asked)
        return found if found is not None else self._get(asked)

    def _from_file(self, asked: _Get) -> Records | None:
        """Embedded, by ids alone: the documents read from the SQLite file without Chroma (see
        :mod:`hopscout.chroma_sqlite`); None otherwise, or when the file cannot give them."""
        if (
            self._embedded is None
            or asked.ids is None
            or asked.where is not None
            or asked.limit is not None
            or asked.offset
        ):
            return None
        wanted = list(dict.fromkeys(asked.ids))
        docs = self._embedded.documents(self.id, wanted)
        if docs is None:
            return None
        found = [i for i in wanted if i in docs]
        return Records(
            found,
            [docs[i][0] for i in found] if asked.texts else [""] * len(found),
            [dict(docs[i][1]) for i in found] if asked.metadatas else [{} for _ in found],
            [None] * len(found),
        )

    @_guarded("read")
    def _get(self, asked: _Get) -> Records:
        return self._records(asked)

    def _by_id(self, asked: _Get) -> Records:
        """Documents by id without vectors, inside a guard: from the file when it can give them."""
        found = self._from_file(asked)
        return found if found is not None else self._records(asked)

    def _records(self, asked: _Get, *, embeddings: bool = False) -> Records:
        """Chroma's ``get`` (call it inside a guard)."""
        if asked.ids is not None and not len(asked.ids):
            return Records()
        wanted = (("documents", asked.texts), ("metadatas", asked.metadatas), ("embeddings", embeddings))
        got = self._collection.get(
            ids=list(asked.ids) if asked.ids is not None else None,
            where=asked.where,
            include=[name for name, want in wanted if want],
            limit=asked.limit,
            offset=asked.offset,
        )
        found = list(got["ids"])
        vectors = got.get("embeddings") if embeddings else None
        return Records(
            found,
            [t or "" for t in got["documents"]] if asked.texts else [""] * len(found),
            [dict(m or {}) for m in got["metadatas"]] if asked.metadatas else [{} for _ in found],
            [vectors[i] if vectors is not None else None for i in range(len(found))],
        )

    @_guarded("graph")
    def _get_vectors(self, asked: _Get, *, tail: Tail = EMPTY) -> Records:
        """``get`` with vectors, which Chroma reads from the graph: an id written since the graph loaded takes
        its vector from the log's tail (a page by filter cannot be split so, and reopens)."""
        if not tail:
            return self._graph_call(lambda: self._records(asked, embeddings=True))
        if asked.ids is None:
            raise _GraphBehind
        whole = asked._replace(limit=None, offset=None)
        older = whole._replace(ids=[i for i in asked.ids if i not in tail.changed])
        got = self._graph_call(lambda: self._records(older, embeddings=True))
        fresh = self._by_id(whole._replace(ids=[i for i in asked.ids if i in tail.vectors]))
        got.ids += fresh.ids
        got.texts += fresh.texts
        got.metadatas += fresh.metadatas
        got.embeddings += [tail.vectors[i] for i in fresh.ids]
        start = asked.offset or 0
        stop = None if asked.limit is None else start + asked.limit
        return Records(
            got.ids[start:stop], got.texts[start:stop], got.metadatas[start:stop], got.embeddings[start:stop]
        )

    @_guarded("graph")
    def query(
        self,
        vectors: np.ndarray,
        n: int,
        *,
        where: Where | None = None,
        documents: bool = False,
        tail: Tail = EMPTY,
    ) -> list[list[Match]]:
        vectors = np.asarray(vectors, dtype=np.float32)
        if not tail:
            return self._graph_query(vectors, n, where, documents)
        # the graph's hits, less those the tail changed (fetching more when they crowd the list) ...
        fetch = n + min(len(tail.changed), n)
        graph = self._graph_query(vectors, fetch, where, documents)
        kept = [[m for m in hits if m.id not in tail.changed] for hits in graph]
        if fetch < n + len(tail.changed) and any(len(k) < n and len(g) == fetch for k, g in zip(kept, graph)):
            graph = self._graph_query(vectors, n + len(tail.changed), where, documents)
            kept = [[m for m in hits if m.id not in tail.changed] for hits in graph]
        # ... beside the tail's, scored exactly (only those passing the filter), the best n of both
        allowed = None
        if where is not None and tail.vectors:
            allowed = set(self._records(_Get(list(tail.vectors), where)).ids)
        newer = cosine_matches(tail, vectors, n, allowed)
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        if documents:
            wanted = sorted({i for hits in newer for i, _ in hits})
            got = self._by_id(_Get(wanted, texts=True, metadatas=True))
            found = {i: (t, m) for i, t, m in zip(got.ids, got.texts, got.metadatas)}
        out = []
        for old, new in zip(kept, newer):
            fresh = [
                Match(i, score, *found.get(i, ("", {})))
                for i, score in new
                if not documents or i in found  # deleted since the tail was read: no text to show
            ]
            out.append(sorted(old + fresh, key=lambda m: -m.score)[:n])
        return out

    def _graph_call(self, call: Callable[[], _R]) -> _R:
        """``call()``, a read of the graph as loaded. Embedded, the graph may lack ids another process wrote
        since, and Chroma's "Error finding id" (a filter or an id matched one) is :class:`_GraphBehind`."""
        try:
            return call()
        except Exception as exc:
            if self._embedded is not None and "finding id" in str(exc):
                raise _GraphBehind from exc
            raise

    def _graph_query(
        self, vectors: np.ndarray, n: int, where: Where | None, documents: bool
    ) -> list[list[Match]]:
        """Chroma's query on the graph as loaded (see :meth:`_graph_call`)."""
        out: list[list[Match]] = []
        step = max(1, _QUERY_HITS // max(1, n))
        for start in range(0, len(vectors), step):
            got = self._graph_call(
                functools.partial(
                    self._collection.query,
                    query_embeddings=vectors[start : start + step],
                    n_results=n,
                    where=where,
                    include=["documents", "metadatas", "distances"] if documents else ["distances"],
                )
            )
            texts = got["documents"] if documents else [[""] * len(ids) for ids in got["ids"]]
            metas = got["metadatas"] if documents else [[{}] * len(ids) for ids in got["ids"]]
            out.extend(
                [
                    Match(i, 1.0 - float(dist), doc or "", dict(meta or {}))
                    for i, dist, doc, meta in zip(ids, dists, docs, ms)
                ]
                for ids, dists, docs, ms in zip(got["ids"], got["distances"], texts, metas)
            )
        return out


class ChromaStore(VectorStore):
    """Chroma, embedded (``PersistentClient`` under ``HOME/chroma``) or a server (``HOPSCOUT_CHROMA_URL``).

    Give ``client=`` to use a Chroma client of your own instead of the one ``settings`` describe."""

    def __init__(self, settings: Settings, client: Any = None) -> None:
        self._settings = settings
        self._client = client
        url = settings.chroma_url
        # our own embedded store: shared with this machine's other processes (see hopscout.store.embedded)
        self._embedded = (
            acquire(settings.home / "chroma", functools.partial(open_client, settings))
            if client is None and not url
            else None
        )
        self._data_file = self._embedded.data_file if self._embedded is not None else None
        self.location = f"server-{hashlib.sha256(url.encode()).hexdigest()[:12]}" if url else "embedded"

    @property
    def client(self) -> Any:
        """The Chroma client (opened on first use; embedded, the current one: another process's write reopens it)."""
        if self._embedded is not None:
            return self._embedded.client
        if self._client is None:
            self._client = open_client(self._settings)
        return self._client

    @contextmanager
    def _calls(self) -> Iterator[Any]:
        """The client, which no reopen replaces until the block ends."""
        if self._embedded is None:
            yield self.client
            return
        with self._embedded.calls() as client:
            yield client

    @property
    def reopens(self) -> int:
        """Embedded: how often this process reopened the client because another process wrote and Chroma's log
        could not give the writes its graph lacked (0 for a server)."""
        return self._embedded.reopens if self._embedded is not None else 0

    def close(self) -> None:
        """Embedded: this store's hold on the shared client; the last one in the process closes it."""
        if self._embedded is not None:
            embedded, self._embedded = self._embedded, None
            release(embedded)

    def collection(self, name: str) -> StoreCollection:
        try:
            with self._calls() as client:
                return ChromaCollection(
                    client,
                    client.get_collection(name=name, embedding_function=None),
                    self._data_file,
                    self._embedded,
                )
        except Exception as exc:
            if not _not_found(exc):
                raise StoreUnavailableError(f"Chroma failed opening collection {name!r}: {exc}") from exc
        names = sorted(record.name for record in self.list_collections())
        raise CollectionNotFoundError(
            f"No collection {name!r}. Existing: {names or 'none'}. Add documents or ingest files to create it."
        )

    def create_collection(self, name: str, metadata: Mapping[str, Any]) -> StoreCollection:
        with self._calls() as client:
            collection = client.get_or_create_collection(
                name=name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata=dict(metadata),
            )
            return ChromaCollection(client, collection, self._data_file, self._embedded)

    def list_collections(self) -> list[CollectionRecord]:
        try:
            with self._calls() as client:
                return [
                    CollectionRecord(c.name, int(c.count()), dict(c.metadata or {}))
                    for c in client.list_collections()
                ]
        except Exception as exc:
            raise StoreUnavailableError(f"Chroma failed listing collections: {exc}") from exc

    def delete_collection(self, name: str) -> None:
        with self._calls() as client:
            client.delete_collection(name)
