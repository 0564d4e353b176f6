"""Writes that overlap embedding: a writer thread stores each group of rows while the caller embeds the next
(the store's write and the embedder's batches then share the time instead of adding up)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

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
