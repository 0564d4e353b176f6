"""The store interface: what hopscout needs from a vector store, declared in one place.

A backend implements :class:`VectorStore` (collections by name) and :class:`StoreCollection` (vectors, texts and
metadata of one collection: the store of record). Everything above this layer (the collection index, the
engine) speaks only this interface; :mod:`hopscout.store.chroma` is the implementation for Chroma, embedded
and server. A second backend is one new module plus one line in :data:`hopscout.store.BACKENDS`."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from ..errors import InvalidArgumentError
from ..filters import Where

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")


class Match(NamedTuple):
    """One nearest-neighbour match of a store query; ``text`` "" and ``metadata`` {} when not asked for."""

    id: str
    score: float  # cosine similarity
    text: str
    metadata: dict[str, Any]


@dataclass
class Records:
    """Documents read back by id or filter; a column not asked for is empty (texts "", metadata {}, None)."""

    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    metadatas: list[dict[str, Any]] = field(default_factory=list)
    embeddings: list[np.ndarray | None] = field(default_factory=list)


@dataclass(frozen=True)
class CollectionRecord:
    """A collection as the store lists it."""

    name: str
    count: int
    metadata: dict[str, Any]


class StoreCollection(ABC):
    """One collection: the source of truth for its documents' vectors, texts and metadata."""

    name: str
    id: str  # stable for the collection's life (names its lexical index file); a new one after a drop

    @abstractmethod
    def metadata(self) -> dict[str, Any]:
        """The collection's metadata, read fresh; raises CollectionNotFoundError once it was dropped."""

    def change_token(self) -> Any:
        """A value read without asking the store that changes whenever any write to it may have happened
        (an embedded store's file stamp), so a reader that saw the same value before may skip its checks. None:
        no such value here; ask the store."""
        return None

    def key_values(self, keys: Sequence[str]) -> list[tuple[str, dict[str, Any]]] | None:
        """Every document's id with the values it holds of metadata ``keys``, in one read where the store can
        give them so (an embedded store's file); None: page through :meth:`get` instead."""
        return None

    def write_group(self) -> AbstractContextManager[None]:
        """Hold the store's write lock across several calls (re-entrant), so that another process on the machine
        can tell a write in flight from one cut short (:meth:`writer_busy`). A server: nothing to hold."""
        return nullcontext()

    def writer_busy(self) -> bool:
        """True while another process holds the store's write lock (a write group in flight), read without
        waiting. A server, or a store without locks: False."""
        return False

    @abstractmethod
    def replace_metadata(self, metadata: Mapping[str, Any]) -> None:
        """Replace the collection's metadata whole."""

    def rename(self, name: str) -> None:
        """Give the collection a new name; its :attr:`id` (which names its lexical copy) stays. A backend that
        cannot rename says so with InvalidArgumentError."""
        raise InvalidArgumentError(f"{type(self).__name__} cannot rename collections")

    @abstractmethod
    def count(self) -> int:
        """How many documents it holds."""

    @abstractmethod
    def upsert(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        texts: Sequence[str],
        metadatas: Sequence[Mapping[str, Any]],
    ) -> None:
        """Write documents; an existing id is replaced."""

    @abstractmethod
    def delete(self, ids: Sequence[str]) -> None:
        """Remove documents by id; unknown ids are ignored."""

    @abstractmethod
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
        """Documents by id (those that exist) or by filter (a page of ``limit`` from ``offset``)."""

    @abstractmethod
    def query(
        self, vectors: np.ndarray, n: int, *, where: Where | None = None, documents: bool = False
    ) -> list[list[Match]]:
        """The ``n`` nearest documents to each vector by cosine, best first (``n`` at most :meth:`count`)."""


class VectorStore(ABC):
    """Collections by name. ``location`` names where the data lives (lexical replicas are kept per location)."""

    location: str

    @abstractmethod
    def collection(self, name: str) -> StoreCollection:
        """The collection called ``name``; raises CollectionNotFoundError listing the existing ones."""

    @abstractmethod
    def create_collection(self, name: str, metadata: Mapping[str, Any]) -> StoreCollection:
        """A cosine-space collection called ``name`` with ``metadata`` (the existing one if it is there)."""

    @abstractmethod
    def list_collections(self) -> list[CollectionRecord]:
        """Every collection in the store."""

    @abstractmethod
    def delete_collection(self, name: str) -> None:
        """Drop a collection and everything in it."""

    def close(self) -> None:
        """Release what the store holds open."""


def check_collection_name(name: Any) -> str:
    """Return ``name`` if every backend accepts it, else raise InvalidArgumentError saying what is allowed."""
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise InvalidArgumentError(
            f"Invalid collection name {name!r}: use 3-512 characters from a-z A-Z 0-9 . _ -, "
            "starting and ending with a letter or digit."
        )
    return name
