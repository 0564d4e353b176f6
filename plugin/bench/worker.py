"""The bench's child processes, so each figure belongs to one process doing one job (``python -m
hopscout.bench.worker JOB SPEC_JSON``; the last stdout line is the JSON result):

- ``build``: fill collection ``bench`` with synthetic chunks and precomputed vectors (no encoding);
- ``probe``: open it as a fresh process would, then time searches per mode and read this process's memory;
- ``replica``: a second process on a Chroma server; answers ``search`` lines on stdin with the time each took
  (the first one after another process wrote includes catching the lexical index up)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from ..metrics import latency
from ..scout import Scout, engine_of
from ..settings import SEARCH_MODES
from .process import memory_mb
from .writes import COLLECTION, write_chunks


def _scout(spec: dict[str, Any]) -> Scout:
    return Scout(home=spec["home"], chroma_url=spec.get("chroma_url"))


def build(spec: dict[str, Any]) -> dict[str, Any]:
    scout = _scout(spec)
    seconds = write_chunks(engine_of(scout), spec, spec.get("start", 0), spec["size"])
    scout.close()
    return {"build_s": seconds, **memory_mb()}


def probe(spec: dict[str, Any]) -> dict[str, Any]:
    began = time.perf_counter()
    scout = _scout(spec)
    engine = engine_of(scout)
    queries: list[str] = json.loads(Path(spec["queries_file"]).read_text())
    scout.search(queries[0], 10, collection=COLLECTION, mode="hybrid")
    first_search_s = time.perf_counter() - began  # a fresh process: imports, model, store, first query
    index = engine.index(COLLECTION)
    began = time.perf_counter()
    index.warm_lexical(3600)  # builds the in-memory BM25 snapshot if the index is big enough
    snapshot_s = time.perf_counter() - began
    for q in queries[:5]:
        for mode in SEARCH_MODES:
            scout.search(q, 10, mode=mode, collection=COLLECTION)
    timings: dict[str, list[float]] = {
        "encode": [],
        **{mode: [] for mode in SEARCH_MODES},
        "lexical_only": [],  # lexical without the confidence estimate (BM25 alone either way)
    }
    for q in queries:  # interleaved, so load on the machine hits every measurement alike
        t = time.perf_counter()
        scout.embedder.embed_queries([q])
        timings["encode"].append((time.perf_counter() - t) * 1000)
        for mode in SEARCH_MODES:
            t = time.perf_counter()
            scout.search(q, 10, mode=mode, collection=COLLECTION)
            timings[mode].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        scout.search(q, 10, mode="lexical", collection=COLLECTION, confidence=False)
        timings["lexical_only"].append((time.perf_counter() - t) * 1000)
    out: dict[str, Any] = {name: latency(values) for name, values in timings.items()}
    out.update(first_search_s=first_search_s, snapshot_s=snapshot_s, count=index.count(), **memory_mb())
    scout.close()
    return out


def replica(spec: dict[str, Any]) -> None:
    """Answer ``search`` lines with ``{"ms": ..., "count": chunks in the lexical replica, "copied": chunks this
    process copied into it, "listed": ids it listed from the store to find them, "ids": the hits}`` (collection
    ``spec["collection"]``, default the bench's); ``quit`` ends."""
    scout = _scout(spec)
    engine = engine_of(scout)
    name = spec.get("collection", COLLECTION)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        t = time.perf_counter()
        hits = scout.search(spec["query"], 10, collection=name, mode="lexical")
        ms = (time.perf_counter() - t) * 1000
        index = engine.index(name)
        # what the replica holds now, and how much this process has copied into it from the store
        reply = {
            "ms": ms,
            "count": index.indexed_count(),
            "copied": index.copied,
            "listed": index.listed,
            "ids": [h.id for h in hits],
        }
        print(json.dumps(reply), flush=True)
    scout.close()


def main(argv: list[str]) -> None:
    job, spec = argv[0], json.loads(argv[1])
    if job == "replica":
        replica(spec)
        return
    result = {"build": build, "probe": probe}[job](spec)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
