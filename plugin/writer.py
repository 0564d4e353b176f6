"""Writes that overlap embedding: :class:`Writer` embeds documents in batches and a writer thread stores each
group of rows while the next is embedded (the store's write and the embedder's batches then share the time
instead of adding up). Every document's hostile-text signs are read once, here, as it is written."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .embedders import Embedder
from .errors import InvalidArgumentError
from .index import CollectionIndex
from .keys import FLAGS_KEY
from .suspicion import text_flags

Progress = Callable[[int, int], None]

Group = tuple[Sequence[str], Sequence[str], np.ndarray, Sequence[Any]]  # ids, texts, vectors, metadatas


def store_while_embedding(store: Callable[..., None], groups: Iterable[Group]) -> None:
    """Call ``store(*group)`` on a writer thread for each group, in order, while the next group is made (an
    iterator of groups embeds lazily). The first failure stops the groups not yet made and is re-raised here."""
    pending: queue.Queue[Group | None] = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def writer() -> None:
        while (item := pending.get()) is not None:
            if failure:
                continue
            try:
                store(*item)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread below
                failure.append(exc)

    thread = threading.Thread(target=writer, name="hopscout-writer", daemon=True)
    thread.start()
    try:
        made = iter(groups)
        while not failure and (group := next(made, None)) is not None:
            pending.put(group)
    finally:
        pending.put(None)
        thread.join()
    if failure:
        raise failure[0]


class Writer:
    """Embeds and stores documents in one collection index, ``batch_size`` texts per embedding batch and four
    batches per store write."""

    def __init__(self, embedder: Embedder, batch_size: int) -> None:
        self.embedder = embedder
        self.batch_size = batch_size

    def embed(
        self,
        texts: Sequence[str],
        progress: Progress | None = None,
        *,
        done: int = 0,
        total: int | None = None,
    ) -> np.ndarray:
        """The documents' vectors, one row per text; ``progress(done + embedded, total)`` follows every batch."""
        size = self.batch_size
        total = len(texts) if total is None else total
        parts = []
        for first in range(0, len(texts), size):
            parts.append(self.embedder.embed_documents(texts[first : first + size]))
            if progress:
                progress(done + min(first + size, len(texts)), total)
        return np.concatenate(parts) if parts else np.zeros((0, self.embedder.dim), dtype=np.float32)

    def write(
        self,
        index: CollectionIndex,
        ids: Sequence[str],
        texts: Sequence[str],
        metadatas: Sequence[Mapping[str, Any]],
        progress: Progress | None = None,
        *,
        vectors: np.ndarray | None = None,
    ) -> list[dict[str, Any]]:
        """Embed (unless ``vectors`` are given, one row per text) and store the documents; returns the metadata
        as stored (with the hostile-text signs under FLAGS_KEY: "" = read and clean; see retrieval/prior.py)."""
        if vectors is not None and len(vectors) != len(ids):
            raise InvalidArgumentError(f"{len(vectors)} vectors for {len(ids)} documents: give one per text")
        stored = [{**m, FLAGS_KEY: ",".join(text_flags(t))} for t, m in zip(texts, metadatas)]
        group = self.batch_size * 4  # texts per store write
        store_while_embedding(
            index.upsert,
            (
                (
                    ids[start : start + group],
                    texts[start : start + group],
                    vectors[start : start + group]
                    if vectors is not None
                    else self.embed(texts[start : start + group], progress, done=start, total=len(ids)),
                    stored[start : start + group],
                )
                for start in range(0, len(ids), group)
            ),
        )
        return stored
