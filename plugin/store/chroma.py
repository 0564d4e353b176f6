"""Chroma as hopscout's store: embedded ``PersistentClient`` under HOME by default, ``HttpClient`` for a
``chroma run`` server. Telemetry is off, and hopscout always passes its own vectors, so Chroma's default
embedding function (which downloads a model) never runs."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from ..errors import CollectionNotFoundError, InvalidArgumentError, StoreUnavailableError
from ..filters import Where
from ..settings import Settings
from .base import CollectionRecord, Match, Records, StoreCollection, VectorStore

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


class ChromaCollection(StoreCollection):
    """One Chroma collection."""

    def __init__(self, client: Any, collection: Any, data_file: Path | None = None) -> None:
        self._client = client
        self._collection = collection
        self._data_file = data_file
        self.name = str(collection.name)
        self.id = str(collection.id)

    def change_token(self) -> Any:
        """Embedded: the SQLite file's change counter (header bytes 24–27, bumped by every committed write in
        rollback-journal mode, whichever process makes it) with its inode, size and modification time. None for
        a file in WAL mode, where commits need not touch the main file."""
        if self._data_file is None:
            return None
        try:
            with open(self._data_file, "rb") as fh:
                header = fh.read(100)
                stat = os.fstat(fh.fileno())
        except OSError:
            return None
        if len(header) < 100 or header[18] != 1 or header[19] != 1:  # 2 = WAL
            return None
        return (header[24:28], stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def metadata(self) -> dict[str, Any]:
        try:
            return dict(self._client.get_collection(name=self.name, embedding_function=None).metadata or {})
        except Exception as exc:
            if _not_found(exc):
                raise CollectionNotFoundError(f"Collection {self.name!r} was deleted.") from None
            raise StoreUnavailableError(f"Chroma failed reading collection {self.name!r}: {exc}") from exc

    def replace_metadata(self, metadata: Mapping[str, Any]) -> None:
        self._collection.modify(metadata=dict(metadata))

    def count(self) -> int:
        return int(self._collection.count())

    def upsert(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        texts: Sequence[str],
        metadatas: Sequence[Mapping[str, Any]],
    ) -> None:
        self._collection.upsert(
            ids=list(ids),
            embeddings=np.asarray(vectors, dtype=np.float32),
            documents=list(texts),
            metadatas=[dict(m) for m in metadatas],
        )

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
        include = [
            name
            for name, wanted in (("documents", texts), ("metadatas", metadatas), ("embeddings", embeddings))
            if wanted
        ]
        got = self._collection.get(
            ids=list(ids) if ids is not None else None,
            where=where,
            include=include,
            limit=limit,
            offset=offset,
        )
        found = list(got["ids"])
        vectors = got.get("embeddings") if embeddings else None
        return Records(
            found,
            [t or "" for t in got["documents"]] if texts else [""] * len(found),
            [dict(m or {}) for m in got["metadatas"]] if metadatas else [{} for _ in found],
            [vectors[i] if vectors is not None else None for i in range(len(found))],
        )

    def query(
        self, vectors: np.ndarray, n: int, *, where: Where | None = None, documents: bool = False
    ) -> list[list[Match]]:
        out: list[list[Match]] = []
        step = max(1, _QUERY_HITS // max(1, n))
        for start in range(0, len(vectors), step):
            got = self._collection.query(
                query_embeddings=np.asarray(vectors[start : start + step], dtype=np.float32),
                n_results=n,
                where=where,
                include=["documents", "metadatas", "distances"] if documents else ["distances"],
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
        # our own embedded store: its SQLite file's stamp tells whether anything was written (see change_token)
        self._data_file = settings.home / "chroma" / "chroma.sqlite3" if client is None and not url else None
        self.location = f"server-{hashlib.sha256(url.encode()).hexdigest()[:12]}" if url else "embedded"

    @property
    def client(self) -> Any:
        """The Chroma client (opened on first use)."""
        if self._client is None:
            self._client = open_client(self._settings)
        return self._client

    def collection(self, name: str) -> StoreCollection:
        try:
            return ChromaCollection(
                self.client, self.client.get_collection(name=name, embedding_function=None), self._data_file
            )
        except Exception as exc:
            if not _not_found(exc):
                raise StoreUnavailableError(f"Chroma failed opening collection {name!r}: {exc}") from exc
        names = sorted(record.name for record in self.list_collections())
        raise CollectionNotFoundError(
            f"No collection {name!r}. Existing: {names or 'none'}. Add documents or ingest files to create it."
        )

    def create_collection(self, name: str, metadata: Mapping[str, Any]) -> StoreCollection:
        collection = self.client.get_or_create_collection(
            name=name,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
            metadata=dict(metadata),
        )
        return ChromaCollection(self.client, collection, self._data_file)

    def list_collections(self) -> list[CollectionRecord]:
        try:
            return [
                CollectionRecord(c.name, int(c.count()), dict(c.metadata or {}))
                for c in self.client.list_collections()
            ]
        except Exception as exc:
            raise StoreUnavailableError(f"Chroma failed listing collections: {exc}") from exc

    def delete_collection(self, name: str) -> None:
        self.client.delete_collection(name)
