"""Where vectors, texts and metadata live: the :class:`VectorStore` interface and its backends.

:func:`open_store` builds the backend ``settings.store`` names from :data:`BACKENDS` (module path and class,
imported on use). Adding a backend: one module implementing :mod:`hopscout.store.base`, one line here."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from ..errors import InvalidArgumentError
from ..settings import Settings
from .base import CollectionRecord, Match, Records, StoreCollection, VectorStore, check_collection_name

BACKENDS: dict[str, str] = {
    "chroma": "hopscout.store.chroma:ChromaStore",  # embedded PersistentClient, or a `chroma run` server
}


def open_store(settings: Settings, client: Any = None) -> VectorStore:
    """The store ``settings.store`` names; ``client`` is that backend's own client, when the caller has one."""
    try:
        target = BACKENDS[settings.store]
    except KeyError:
        raise InvalidArgumentError(
            f"Unknown store {settings.store!r}; choose one of {sorted(BACKENDS)}"
        ) from None
    module, _, name = target.partition(":")
    store: VectorStore = getattr(import_module(module), name)(settings, client)
    return store


__all__ = [
    "BACKENDS",
    "CollectionRecord",
    "Match",
    "Records",
    "StoreCollection",
    "VectorStore",
    "check_collection_name",
    "open_store",
]
