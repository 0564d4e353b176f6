"""Two processes on one ``chroma run`` server: process A (this one) writes, process B (a child with its own
lexical replica) searches. B's first search after A's write includes catching its lexical index up with the
store, which is compared with A's own write time. Then process C starts on B's home (the same machine's replica,
up to date): it should copy nothing, and its open-to-first-search time is measured."""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..scout import Scout, engine_of
from .children import Replica
from .server import chroma_server
from .writes import write_chunks

Log = Callable[[str], None]


def measure_catchup(
    base: int, added: int, folder: Path, files: dict[str, str], query: str, log: Log
) -> dict[str, Any]:
    """Catch-up after A adds ``added`` chunks to a ``base``-chunk collection on a fresh server."""
    shutil.rmtree(folder, ignore_errors=True)
    with chroma_server(folder / "server") as url:
        spec = {"chroma_url": url, **files}
        writer = Scout(home=str(folder / "a"), chroma_url=url)
        engine = engine_of(writer)
        try:
            log(f"two processes: A writes {base} chunks to a chroma server ...")
            base_s = write_chunks(engine, spec, 0, base)
            reader_spec = {"home": str(folder / "b"), "chroma_url": url, "query": query}
            reader = Replica(reader_spec)
            try:
                first_copy_ms, copied = reader.search()  # B has no replica yet: copies the whole collection
                steady_ms = statistics.median(reader.search()[0] for _ in range(5))
                log(f"A writes {added} more chunks; B searches ...")
                write_s = write_chunks(engine, spec, base, base + added)
                catchup_ms, caught_up = reader.search()
                after_ms = statistics.median(reader.search()[0] for _ in range(5))
                log("C opens B's up-to-date replica (same home) and searches ...")
                third = _third_process(reader_spec)  # while B still runs: the machine's processes share it
            finally:
                reader.close()
        finally:
            writer.close()
    return {
        "base": base,
        "added": added,
        "a_base_write_s": base_s,
        "b_first_copy_s": first_copy_ms / 1000,
        "b_copied": copied,
        "b_caught_up": caught_up,  # chunks in B's replica after its first search following A's write
        "a_write_s": write_s,
        "b_catchup_s": catchup_ms / 1000,
        "catchup_over_write": catchup_ms / 1000 / write_s,
        "b_search_ms_before": steady_ms,
        "b_search_ms_after": after_ms,
        **third,
    }


def _third_process(spec: dict[str, Any]) -> dict[str, Any]:
    """Process C on ``spec``'s home (B's): seconds from its start to its first search's answer, that search's
    own time, and the chunks it copied from the store (none when the shared replica is up to date)."""
    began = time.perf_counter()
    third = Replica(spec)
    try:
        first_ms, count = third.search()
        open_first_s = time.perf_counter() - began
        copied = int(third.last["copied"])
    finally:
        third.close()
    return {
        "c_open_first_search_s": open_first_s,  # process start (imports, store) to its first search's answer
        "c_first_search_ms": first_ms,
        "c_copied": copied,
        "c_count": count,
    }
