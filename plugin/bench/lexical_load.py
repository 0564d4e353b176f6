"""Lexical backends side by side (FTS5 + in-memory snapshot vs tantivy segments), lexical side only: no dense
encoding, so 100K chunks take minutes. Per backend and size, in its own process (clean RSS): build time, disk,
RSS, p50/p95 of ``search``, the same while another process adds chunks at a given rate, write-to-visible time
across processes, and a second process's open-to-first-search. ``ranking`` compares nDCG@10 on BEIR-style sets.

    python -m hopscout.bench.lexical_load compare --sizes 10000,100000 --rate 50 --writes-per-s 10 --data ../shared/data
    python -m hopscout.bench.lexical_load ranking ../shared/data/text/beir_scifact ../shared/data/tools/metatool
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..lexical import LEXICAL_BACKENDS, LexicalIndex, open_lexical
from .corpus import bench_queries, corpus_texts

BACKENDS = LEXICAL_BACKENDS
_BATCH = 1000  # chunks per write while building (as an ingest writes)
_QUERIES = 200
_DEPTH = 50  # HOPSCOUT_CANDIDATES' default: what a search asks each retriever for


def open_index(backend: str, path: Path) -> LexicalIndex:
    """The ``backend`` lexical index named from ``path`` (its suffix dropped)."""
    return open_lexical(path.with_suffix(""), backend)


def _chunks(
    texts: list[str], start: int, n: int, seed: int = 0
) -> list[tuple[str, str, str, dict[str, Any]]]:
    """``(id, hash, text, meta)`` rows as :func:`~hopscout.bench.corpus.synthetic_chunks` makes texts."""
    rng = np.random.default_rng([seed, start])
    a, b = rng.integers(0, len(texts), n), rng.integers(0, len(texts), n)
    return [
        (
            f"c{start + i}",
            f"h{start + i}",
            texts[x][:300] + " " + texts[y][300:600],
            {"part": (start + i) % 7},
        )
        for i, (x, y) in enumerate(zip(a, b))
    ]


def _rss_mb() -> tuple[float, float]:
    fields = dict(
        line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def _disk(index: LexicalIndex) -> int:
    sized = getattr(index, "disk_bytes", None)
    if callable(sized):
        return int(sized())
    return sum(p.stat().st_size for p in index.path.parent.glob(index.path.name + "*") if p.is_file())


def _pcts(times: Sequence[float]) -> tuple[float, float]:
    ms = np.asarray(times) * 1000
    return round(float(np.percentile(ms, 50)), 2), round(float(np.percentile(ms, 95)), 2)


def _timed(search: Callable[[str], Any], queries: Sequence[str]) -> list[float]:
    out = []
    for q in queries:
        t = time.perf_counter()
        search(q)
        out.append(time.perf_counter() - t)
    return out


def run_one(
    backend: str, size: int, rate: float, seconds: float, data: Path, writes_per_s: float = 10.0
) -> dict[str, Any]:
    """Every figure for one backend at one size (call in a fresh process: RSS is the process's)."""
    texts = corpus_texts(data, 20_000)
    queries = bench_queries(data, _QUERIES)
    home = Path(tempfile.mkdtemp(prefix=f"lexbench_{backend}_"))
    path = home / "c.sqlite"
    index = open_index(backend, path)
    out: dict[str, Any] = {"backend": backend, "size": size}
    t = time.perf_counter()
    for start in range(0, size, _BATCH):
        index.apply(_chunks(texts, start, min(_BATCH, size - start)), version=f"v{start}")
    index.search("warm", 1)
    index.accelerator.wait(3600)  # FTS5's snapshot (≥ 20K chunks); tantivy has none
    out["build_s"] = round(time.perf_counter() - t, 2)
    out["disk_mb"] = round(_disk(index) / 2**20, 1)
    out["search_p50_ms"], out["search_p95_ms"] = _pcts(_timed(lambda q: index.search(q, _DEPTH), queries))
    out["filtered_p50_ms"], _ = _pcts(_timed(lambda q: index.search(q, _DEPTH, {"part": 3}), queries[:50]))
    out["rss_mb"], out["peak_rss_mb"] = _rss_mb()
    # a second process on the same files: open to first search
    child = (  # imports first (the same for both), then open to first search
        "import sys, time; from pathlib import Path; from hopscout.bench.lexical_load import open_index; "
        "import hopscout.lexical.tantivy_index; t = time.perf_counter(); i = open_index(sys.argv[1], "
        "Path(sys.argv[2])); i.search(sys.argv[3], 50); print(time.perf_counter() - t)"
    )
    t = time.perf_counter()
    got = subprocess.run(
        [sys.executable, "-c", child, backend, str(path), queries[0]],
        capture_output=True,
        text=True,
        check=True,
    )
    out["second_process_wall_s"] = round(time.perf_counter() - t, 3)
    out["second_process_open_s"] = round(float(got.stdout.strip()), 3)
    # a writer process adding `rate` chunks a second while this one searches
    acks = home / "acks.jsonl"
    writer = subprocess.Popen(
        [sys.executable, "-m", "hopscout.bench.lexical_load", "writer", backend, str(path), str(size),
         str(rate), str(seconds), str(data), str(acks), str(writes_per_s)]
    )  # fmt: skip
    time.sleep(1.0)
    under: list[float] = []
    stop = time.monotonic() + seconds - 2
    while time.monotonic() < stop:
        under += _timed(lambda q: index.search(q, _DEPTH), queries)
    out["under_writes_p50_ms"], out["under_writes_p95_ms"] = _pcts(under)
    out["under_writes_queries"] = len(under)
    writer.wait()
    out["visible_p50_s"], out["visible_p95_s"] = _visibility(acks)
    out["writer_chunks_per_s"] = round(json.loads(acks.read_text().splitlines()[-1])["chunks_per_s"], 1)
    index.close()
    return out


def _visibility(acks: Path) -> tuple[float, float]:
    """p50 and p95 of the writer's probes: seconds from a write's return to its word being found by another
    handle on the same files."""
    lags = [row["lag"] for row in map(json.loads, acks.read_text().splitlines()) if "lag" in row]
    return (
        (round(float(np.percentile(lags, 50)), 4), round(float(np.percentile(lags, 95)), 4))
        if lags
        else (0, 0)
    )


def writer(
    backend: str,
    path: Path,
    first: int,
    rate: float,
    seconds: float,
    data: Path,
    acks: Path,
    writes_per_s: float,
) -> None:
    """Add ``rate`` chunks a second in ``writes_per_s`` writes for ``seconds``; each second one chunk holds a probe
    word, and another handle on the files (:func:`_probe`) times when it becomes searchable."""
    texts = corpus_texts(data, 20_000)
    index = open_index(backend, path)
    per_write, every = max(1, round(rate / writes_per_s)), max(1, round(writes_per_s))  # a probe a second
    start, end, n = first, time.monotonic() + seconds, 0
    with open(acks, "w") as fh:
        while time.monotonic() < end:
            tick = time.monotonic()
            rows = _chunks(texts, start, per_write, seed=1)
            word = f"zqprobe{n}x"
            if n % every == 0:
                doc_id, digest, text, meta = rows[0]
                rows[0] = (doc_id, digest, f"{text} {word}", meta)
            index.apply(rows, version=f"w{n}")
            if n % every == 0:
                lag = _probe(backend, path, word)
                fh.write(json.dumps({"word": word, "acked": time.time(), "lag": lag}) + "\n")
            start, n = start + per_write, n + 1
            time.sleep(max(0.0, 1 / writes_per_s - (time.monotonic() - tick)))
        fh.write(json.dumps({"chunks_per_s": (start - first) / seconds}) + "\n")  # the rate it kept up


_PROBE: dict[str, LexicalIndex] = {}


def _probe(backend: str, path: Path, word: str) -> float:
    """Seconds until a second handle on the same files (as another process's) finds ``word``."""
    reader = _PROBE.get(backend)
    if reader is None:
        reader = _PROBE[backend] = open_index(backend, path)
        reader.accelerator.min_docs = 2**62  # FTS5 answers: no snapshot builds in the writer's process
    t = time.perf_counter()
    while not reader.search(word, 1):
        if time.perf_counter() - t > 60:
            return math.inf
        time.sleep(0.002)
    return time.perf_counter() - t


def compare(
    sizes: Sequence[int], rate: float, seconds: float, data: Path, writes_per_s: float = 10.0
) -> dict[str, Any]:
    """Every backend at every size, each in its own process."""
    results: dict[str, Any] = {}
    for size in sizes:
        for backend in BACKENDS:
            got = subprocess.run(
                [sys.executable, "-m", "hopscout.bench.lexical_load", "one", backend, str(size), str(rate),
                 str(writes_per_s), str(seconds), str(data)], capture_output=True, text=True, check=True,
            )  # fmt: skip
            row = json.loads(got.stdout.strip().splitlines()[-1])
            results.setdefault(str(size), {})[backend] = row
            print(json.dumps(row), file=sys.stderr, flush=True)
    return results


def _ndcg10(ranked: list[str], gold: dict[str, int]) -> float:
    dcg = sum(gold.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(gold.values(), reverse=True)[:10]))
    return dcg / ideal if ideal else 0.0


def ranking(sets: Sequence[Path]) -> dict[str, dict[str, float]]:
    """Lexical nDCG@10 of every backend on each BEIR-style set (corpus.jsonl, queries.jsonl, qrels.tsv)."""
    out: dict[str, dict[str, float]] = {}
    for folder in sets:
        docs = [
            json.loads(line) for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        lines = (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines()
        queries = {q["_id"]: q["text"] for q in map(json.loads, lines)}
        qrels: dict[str, dict[str, int]] = {}
        for line in (folder / "qrels.tsv").read_text(encoding="utf-8").splitlines()[1:]:
            qid, did, score = line.split("\t")
            qrels.setdefault(qid, {})[did] = int(score)
        rows: list[tuple[str, str, str, dict[str, Any]]] = [
            (str(d["_id"]), str(i), f"{d.get('title', '')}\n{d.get('text', '')}", {})
            for i, d in enumerate(docs)
        ]
        for backend in BACKENDS:
            with tempfile.TemporaryDirectory() as home:
                index = open_index(backend, Path(home) / "c.sqlite")
                index.apply(rows)
                scores = [_ndcg10([d for d, _ in index.search(queries[q], 10)], g) for q, g in qrels.items()]
                index.close()
            out.setdefault(folder.name, {})[backend] = round(100 * float(np.mean(scores)), 2)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m hopscout.bench.lexical_load")
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compare")
    c.add_argument("--sizes", default="10000,100000")
    c.add_argument("--rate", type=float, default=50.0)
    c.add_argument("--writes-per-s", type=float, default=10.0)
    c.add_argument("--seconds", type=float, default=20.0)
    c.add_argument("--data", type=Path, default=Path("../shared/data"))
    r = sub.add_parser("ranking")
    r.add_argument("sets", nargs="+", type=Path)
    o = sub.add_parser("one")
    o.add_argument("args", nargs=6)
    w = sub.add_parser("writer")
    w.add_argument("args", nargs=8)
    args = parser.parse_args(argv)
    if args.cmd == "compare":
        sizes = [int(s) for s in args.sizes.split(",")]
        print(json.dumps(compare(sizes, args.rate, args.seconds, args.data, args.writes_per_s), indent=1))
    elif args.cmd == "ranking":
        print(json.dumps(ranking(args.sets), indent=1))
    elif args.cmd == "one":
        backend, size, rate, writes, seconds, data = args.args
        print(json.dumps(run_one(backend, int(size), float(rate), float(seconds), Path(data), float(writes))))
    else:
        backend, path, first, rate, seconds, data, acks, writes = args.args
        writer(
            backend,
            Path(path),
            int(first),
            float(rate),
            float(seconds),
            Path(data),
            Path(acks),
            float(writes),
        )


if __name__ == "__main__":
    main()
