"""Search while another process writes: a writer child adds ``rate`` chunks a second (precomputed vectors, ten
writes a second) to the size's collection while a reader child times lexical and hybrid searches, and polls
for one probe word a second the writer planted: write (acknowledged: ``upsert`` returned) to visible in the
reader's lexical search (also timed: lexical without the confidence estimate). Then a fresh process opens the collection and searches once (open to first search).
The writer deletes its chunks at the end, so the size's collection is reused as it was built.

    python -m hopscout.bench.write_load JOB SPEC_JSON   (jobs: writer, reader, opener; last stdout line: JSON)"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..metrics import latency
from ..scout import Scout, engine_of
from ..settings import SearchMode
from . import children
from .children import BenchChildError
from .corpus import synthetic_chunks
from .writes import COLLECTION

MODULE = "hopscout.bench.write_load"  # this module, run as a script in each child

Log = Callable[[str], None]
_MODES: tuple[SearchMode, ...] = ("lexical", "hybrid")
_WRITES_PER_S = 10
_FIRST_ID = 10**9  # the writer's chunk ids start here, far above any size's
_PROBE_EVERY = 10  # writes: one probe word a second


def measure_write_load(
    size: int, home: Path, files: dict[str, str], rate: float, seconds: float, log: Log
) -> dict[str, Any]:
    """The contract's figures under a writer adding ``rate`` chunks a second for ``seconds``."""
    log(f"searching {size} chunks while another process adds {rate:g} chunks/s for {seconds:g} s ...")
    spec = {"home": str(home), "rate": rate, "seconds": seconds, "acks": str(home / "acks.jsonl"), **files}
    loaded = run_child("reader", spec)
    log(f"a fresh process opens {size} chunks and searches once ...")
    opened = run_child("opener", spec)
    return {**loaded, **opened}


def run_child(job: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one job of this module in a child process to its end; its JSON result."""
    return children.run_child(job, spec, MODULE)


def writer(spec: dict[str, Any]) -> dict[str, Any]:
    """Add ``rate`` chunks a second for ``seconds``, logging each probe word's acknowledgement, then delete them."""
    texts = json.loads(Path(spec["texts_file"]).read_text())
    vectors = np.load(spec["vectors_file"])
    scout = Scout(home=spec["home"])
    index = engine_of(scout).index(COLLECTION)
    per_write = max(1, round(spec["rate"] / _WRITES_PER_S))
    written: list[str] = []
    end, n = time.monotonic() + spec["seconds"], 0
    with open(spec["acks"], "w", encoding="utf-8") as acks:
        while time.monotonic() < end:
            tick = time.monotonic()
            ids, chunk_texts, vec = synthetic_chunks(
                texts, vectors, _FIRST_ID + n * per_write, per_write, seed=11
            )
            word = f"zqprobe{n}x" if n % _PROBE_EVERY == 0 else None
            if word:
                chunk_texts[0] = f"{chunk_texts[0]} {word}"
            index.upsert(ids, chunk_texts, vec, [{"n": -1} for _ in ids])
            if word:
                acks.write(json.dumps({"word": word, "acked": time.time()}) + "\n")
                acks.flush()
            written += ids
            n += 1
            time.sleep(max(0.0, 1 / _WRITES_PER_S - (time.monotonic() - tick)))
    index.delete(written)
    scout.close()
    return {"written": len(written)}


def reader(spec: dict[str, Any]) -> dict[str, Any]:
    """Time lexical and hybrid searches (interleaved) while a writer child runs; poll its probe words."""
    queries: list[str] = json.loads(Path(spec["queries_file"]).read_text())
    scout = Scout(home=spec["home"])
    for mode in _MODES:
        scout.search(queries[0], 10, collection=COLLECTION, mode=mode)
    engine_of(scout).index(COLLECTION).warm_lexical(3600)  # FTS5's snapshot, when the collection is big
    Path(spec["acks"]).unlink(missing_ok=True)
    errors = Path(spec["home"]) / "writer.err"
    with open(errors, "w", encoding="utf-8") as err:
        proc = subprocess.Popen(
            children.command("writer", spec, MODULE), stdout=subprocess.DEVNULL, stderr=err
        )
    timings: dict[str, list[float]] = {"lexical": [], "hybrid": [], "lexical_only": []}
    visible: list[float] = []
    seen = 0
    try:
        while proc.poll() is None:
            for q in queries:
                for mode in _MODES:
                    t = time.perf_counter()
                    scout.search(q, 10, collection=COLLECTION, mode=mode)
                    timings[mode].append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                scout.search(q, 10, collection=COLLECTION, mode="lexical", confidence=False)
                timings["lexical_only"].append((time.perf_counter() - t) * 1000)
                seen = _poll_probes(scout, Path(spec["acks"]), seen, visible)
                if proc.poll() is not None:
                    break
    finally:
        proc.wait()
        scout.close()
    if proc.returncode != 0:
        raise BenchChildError(f"bench writer failed (exit {proc.returncode}): {errors.read_text()[-3000:]}")
    lexical, hybrid = latency(timings["lexical"]), latency(timings["hybrid"])
    bm25 = latency(timings["lexical_only"])
    return {
        "lexical_only_p50_under_writes_ms": bm25["p50_ms"],
        "lexical_only_p95_under_writes_ms": bm25["p95_ms"],
        "lexical_p50_under_writes_ms": lexical["p50_ms"],
        "lexical_p95_under_writes_ms": lexical["p95_ms"],
        "hybrid_p50_under_writes_ms": hybrid["p50_ms"],
        "hybrid_p95_under_writes_ms": hybrid["p95_ms"],
        "searches_under_writes": len(timings["lexical"]),
        "visible_p50_s": float(np.percentile(visible, 50)) if visible else None,
        "visible_p95_s": float(np.percentile(visible, 95)) if visible else None,
        "probes": len(visible),
    }


def _poll_probes(scout: Scout, acks: Path, seen: int, visible: list[float]) -> int:
    """Wait for each probe word acknowledged since the last call to be found (lexical); append write-to-visible
    seconds. Returns how many probes are done."""
    lines = acks.read_text(encoding="utf-8").splitlines() if acks.is_file() else []
    for line in lines[seen:]:
        if not line.endswith("}"):
            break  # being written
        probe = json.loads(line)
        deadline = time.monotonic() + 60
        while not scout.search(probe["word"], 1, collection=COLLECTION, mode="lexical", confidence=False):
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        visible.append(max(0.0, time.time() - probe["acked"]))
        seen += 1
    return seen


def opener(spec: dict[str, Any]) -> dict[str, Any]:
    """A fresh process: open the collection and search once. Imports are excluded (they take the same at any
    size; chromadb's, which hopscout makes on first use, is timed apart)."""
    queries: list[str] = json.loads(Path(spec["queries_file"]).read_text())
    began = time.perf_counter()
    import chromadb  # noqa: F401

    imported = time.perf_counter() - began
    began = time.perf_counter()
    scout = Scout(home=spec["home"])
    scout.search(queries[1], 10, collection=COLLECTION, mode="lexical", confidence=False)
    opened = time.perf_counter() - began
    scout.close()
    return {"second_process_open_s": opened, "second_process_chromadb_import_s": imported}


def main(argv: list[str]) -> None:
    job, spec = argv[0], json.loads(argv[1])
    result = {"writer": writer, "reader": reader, "opener": opener}[job](spec)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
