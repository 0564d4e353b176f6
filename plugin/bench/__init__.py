"""``hopscout bench``: how hopscout grows.

- **Encoders**: the ONNX path and torch on the same texts: docs/s on passages and on short texts, query-encode
  p50, and ``Scout.add`` docs/s.
- **Growth** (10K → 100K → 1M chunks by default): per size, a child process builds the collection from
  precomputed vectors (build time, docs/s, peak memory), and a fresh child opens it and times searches per mode
  beside an encode-only measurement interleaved with them (p50, p95, memory, first-search and BM25-snapshot
  time); disk is read under the size's folder.
- **Under writes** (``write_load``): per size, lexical and hybrid p50/p95 while another process adds chunks at
  that rate, write-to-visible time, and a fresh process's open-to-first-search. ``lexical`` is the default
  search (BM25, and the confidence estimate of a lexical search, which reads BM25 alone: no encode);
  ``lexical_only`` is the same without the estimate.
- **Two processes** on one ``chroma run`` server: process B's catch-up after process A writes, as a ratio to
  A's write time.

Each size lives in its own folder under the bench home and is reused when a run finds it complete, so a
second run measures search without building again. Ratios inside one run are what to compare: the machine is
shared and noisy."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from ..scout import Scout
from .catchup import measure_catchup
from .corpus import bench_queries, corpus_texts
from .encoders import compare_encoders
from .growth import measure_size
from .report import format_bench
from .write_load import measure_write_load

__all__ = ["format_bench", "run_bench"]

Log = Callable[[str], None]


def run_bench(
    home: Path,
    data: Path,
    sizes: Sequence[int],
    n_queries: int = 200,
    sample: int = 2000,
    catchup_bases: Sequence[int] = (),
    catchup_added: int = 10_000,
    encoder_passages: int = 256,
    rounds: int = 2,
    log: Log = lambda _: None,
    write_load: float = 0.0,
    write_seconds: float = 30.0,
) -> dict[str, Any]:
    """Measure and return the JSON-ready bench report (see the module's docstring); everything lives under
    ``home``. ``write_load`` > 0 also measures each size while another process adds that many chunks a second
    for ``write_seconds`` (:mod:`.write_load`)."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    texts = corpus_texts(Path(data), sample)
    queries = bench_queries(Path(data), n_queries)
    if not texts or not queries:
        raise InvalidArgumentError(
            f"no corpus.jsonl and queries.jsonl under {data}: point --data at evaluation sets"
        )
    log("encoders: ONNX vs torch on the same texts, raw and in Scout.add ...")
    encoders = compare_encoders(home, texts[:encoder_passages], queries, queries, rounds)
    scout = Scout(home=str(home / "encoder-default"))
    try:
        log(f"encoding {len(texts)} real texts (the base of every collection) ...")
        start = time.perf_counter()
        vectors = scout.embedder.embed_documents(texts)
        report: dict[str, Any] = {
            "embedder": scout.embedder.id,
            "encoder": scout.embedder.backend,  # onnx or torch (HOPSCOUT_ENCODER), after any fallback
            "sample": len(texts),
            "sample_docs_per_s": len(texts) / (time.perf_counter() - start),
            "queries": len(queries),
            "encoders": encoders,
            "sizes": {},
        }
    finally:
        scout.close()
    files = {"texts_file": str(home / "texts.json"), "vectors_file": str(home / "vectors.npy")}
    queries_file = home / "queries.json"
    same_base = (
        Path(files["texts_file"]).is_file() and json.loads(Path(files["texts_file"]).read_text()) == texts
    )
    if not same_base:  # another sample: collections built from the old one are built again
        for old in home.glob("chunks-*"):
            (old / "built").unlink(missing_ok=True)
    Path(files["texts_file"]).write_text(json.dumps(texts))
    np.save(files["vectors_file"], vectors)
    queries_file.write_text(json.dumps(queries))
    for size in sizes:
        folder, spec = home / f"chunks-{size}", {**files, "queries_file": str(queries_file)}
        row = measure_size(size, folder, spec, log)
        row.update(
            {
                f"{name}_p50_ms": row["probe"][name]["p50_ms"]
                for name in ("lexical", "lexical_only", "hybrid", "encode")
            }
        )
        if write_load > 0:
            row.update(measure_write_load(size, folder, spec, write_load, write_seconds, log))
        report["sizes"][str(size)] = row
    report["catchup"] = [
        measure_catchup(base, catchup_added, home / f"catchup-{base}", files, queries[0], log)
        for base in catchup_bases
    ]
    return report
