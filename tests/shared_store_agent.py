"""A process on a shared hopscout home, driven by tests/test_shared_store.py: one JSON command per line on stdin,
one JSON reply per line on stdout (a stream of writes replies once per acknowledged batch).

Run as ``python shared_store_agent.py`` with HOPSCOUT_HOME set. Commands (``op``):

- ``add``: add ``ids`` (texts from :func:`text_of`, or ``texts``; metadata ``meta`` if given) to ``collection``;
  replies ``{"acked": ids, "t": wall}``. ``delete``: delete ``ids``; replies ``{"deleted": ids}``. ``drop``: drop
  ``collection``; replies ``{"dropped": name}``.
- ``stream``: ``batches`` adds of ``size`` documents named ``{prefix}-{batch}-{n}``, one ``acked`` reply each,
  then ``{"done": true}``; with ``kill_in_batch`` the process SIGKILLs itself inside that batch's store write,
  after Chroma committed it and before the lexical index has it, holding the store's write lock.
- ``find``: search the text of every ``ids`` in dense, lexical and hybrid mode (a thread each, all starting at
  once), again and again, until in each mode every top hit is that document (its marker word: ingested chunks
  have ids of their own) or ``timeout`` passes; replies ``{"found": {mode: [start, end] of the search that
  found all}, "tries": {mode: searches}, "missing": {mode: ids}, "reopens": of the store's client so far}``;
  with ``where``, dense searches filtered by it.
- ``search``: the ids of a dense search for ``text`` (``k``, ``where``); replies ``{"ids": [...], "reopens": n}``.
- ``watch``: lexical searches for ``text`` for ``seconds``; replies ``{"searches": n, "copied": documents this
  process's syncs copied into the lexical copy, "listed": ids they listed from the store}``.
- ``state``: of ``collection`` after a sync, ``{"ids": the store's ids, "lexical": the lexical copy's ids,
  "count": its size, "dense_misses": ids whose own stored vector does not find them first}`` (the HNSW graph
  holds every document: no query encoding, so it is cheap for hundreds).
- ``create``: make ``collection`` (hopscout's keys) with Chroma saving its HNSW graph every ``sync_threshold``
  vectors, so that a test's few hundred writes cross many saves (Chroma's default: every 1000).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import threading
import time
from typing import Any

ANIMALS = ["otter", "heron", "badger", "falcon", "lynx", "marten", "newt", "osprey", "puffin", "quail"]
MODES = ("dense", "lexical", "hybrid")


def marker(doc_id: str) -> str:
    """A made-up word of letters only, one per document id."""
    return "zq" + "".join(chr(ord("a") + b % 26) for b in hashlib.sha256(doc_id.encode()).digest()[:8])


def text_of(doc_id: str) -> str:
    """The document's text: its own marker word, an animal and a number, so that its text finds it first."""
    digest = hashlib.sha256(doc_id.encode()).digest()
    word, animal = marker(doc_id), ANIMALS[digest[8] % len(ANIMALS)]
    return (
        f"Field note {word}: a {animal} was seen near post {digest[9]} at dawn, "
        f"and the crew filed the {word} survey with {digest[10]} photographs."
    )


def reply(payload: dict[str, Any]) -> None:
    print(json.dumps(payload), flush=True)


def kill_inside_next_store_write() -> None:
    """SIGKILL this process right after Chroma commits the next upsert (still inside hopscout's write)."""
    from chromadb.api.models.Collection import Collection

    original = Collection.upsert

    def upsert_then_die(self: Any, *args: Any, **kwargs: Any) -> Any:
        original(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    Collection.upsert = upsert_then_die  # type: ignore[method-assign]


def find(
    scout: Any, name: str, ids: list[str], timeout: float, where: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``find`` command: one thread per mode, so that each starts looking at once."""
    found: dict[str, list[float]] = {}
    tries, missing = dict.fromkeys(MODES, 0), {mode: list(ids) for mode in MODES}
    queries = [text_of(i) for i in ids]
    deadline = time.monotonic() + timeout

    def poll(mode: str) -> None:
        while time.monotonic() < deadline:
            started = time.time()
            hits = scout.search_batch(queries, k=1, mode=mode, collection=name)
            tries[mode] += 1
            missing[mode] = [i for i, top in zip(ids, hits) if not top or marker(i) not in top[0].text]
            if not missing[mode]:
                found[mode] = [started, time.time()]
                return

    def poll_filtered(mode: str) -> None:
        while time.monotonic() < deadline:
            started = time.time()
            hits = [scout.search(q, k=1, mode=mode, collection=name, where=where) for q in queries]
            tries[mode] += 1
            missing[mode] = [i for i, top in zip(ids, hits) if not top or marker(i) not in top[0].text]
            if not missing[mode]:
                found[mode] = [started, time.time()]
                return

    if where is not None:
        poll_filtered("dense")
        return {"found": found, "tries": tries, "missing": {"dense": missing["dense"]}}
    pollers = [threading.Thread(target=poll, args=(mode,)) for mode in MODES]
    for thread in pollers:
        thread.start()
    for thread in pollers:
        thread.join()
    return {"found": found, "tries": tries, "missing": missing}


def main() -> None:
    import numpy as np

    from hopscout import Scout
    from hopscout.keys import HASH_KEY, META_DIM, META_EMBEDDER
    from hopscout.scout import engine_of

    scout = Scout()
    scout.embedder.embed_documents(["warm up"])  # the model is loaded before the test starts its clocks
    reply({"ready": os.getpid()})
    for line in sys.stdin:
        cmd = json.loads(line)
        op, name = cmd["op"], cmd.get("collection")
        if op == "add":
            ids = cmd["ids"]
            texts = cmd.get("texts") or [text_of(i) for i in ids]
            metas = [dict(cmd["meta"]) for _ in ids] if cmd.get("meta") else None
            scout.add(texts, ids=ids, metadatas=metas, collection=name)
            reply({"acked": ids, "t": time.time()})
        elif op == "drop":
            scout.drop_collection(name)
            reply({"dropped": name})
        elif op == "delete":
            scout.delete(cmd["ids"], collection=name)
            reply({"deleted": cmd["ids"]})
        elif op == "watch":
            index, searches = engine_of(scout).index(name), 0
            copied, listed = index.copied, index.listed
            end = time.monotonic() + cmd["seconds"]
            while time.monotonic() < end:
                scout.search(cmd["text"], k=3, mode="lexical", collection=name)
                searches += 1
            reply({"searches": searches, "copied": index.copied - copied, "listed": index.listed - listed})
        elif op == "search":
            hits = scout.search(
                cmd["text"], k=cmd.get("k", 3), mode="dense", collection=name, where=cmd.get("where")
            )
            reply({"ids": [h.id for h in hits], "reopens": getattr(engine_of(scout).store, "reopens", 0)})
        elif op == "stream":
            for batch in range(cmd["batches"]):
                ids = [f"{cmd['prefix']}-{batch}-{n}" for n in range(cmd["size"])]
                if batch == cmd.get("kill_in_batch"):
                    kill_inside_next_store_write()
                scout.add([text_of(i) for i in ids], ids=ids, collection=name)
                reply({"acked": ids, "t": time.time()})
            reply({"done": True})
        elif op == "find":
            got = find(scout, name, cmd["ids"], cmd["timeout"], cmd.get("where"))
            reply({**got, "reopens": getattr(engine_of(scout).store, "reopens", 0)})
        elif op == "state":
            index = engine_of(scout).index(name)
            index.sync()
            ids = index.ids()
            stored = index.get(ids, embeddings=True)
            tops = (
                index.dense(np.stack([stored[i].embedding for i in ids]), 1, documents=False) if ids else []
            )
            reply(
                {
                    "ids": ids,
                    "lexical": sorted(index.stored_values(HASH_KEY, ids)),
                    "count": index.indexed_count(),
                    "dense_misses": [i for i, top in zip(ids, tops) if not top or top[0].id != i],
                }
            )
        elif op == "create":
            store = engine_of(scout).store
            store.client.get_or_create_collection(
                name=name,
                embedding_function=None,
                configuration={
                    "hnsw": {"space": "cosine", "sync_threshold": cmd["sync_threshold"], "batch_size": 8}
                },
                metadata={META_EMBEDDER: scout.embedder.id, META_DIM: scout.embedder.dim},
            )
            reply({"created": name})
        else:
            reply({"error": f"unknown op {op!r}"})


if __name__ == "__main__":
    main()
