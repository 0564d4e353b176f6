"""``hopscout bench --tools SIZES``: a gateway-sized tool catalog, per size in a child process of its own.

Per size: a catalog of that many real tools (:mod:`.tool_pool`: the tool sets under ``DATA/tools``, copies
under further namespaces past the real ones) registered server by server through :meth:`ToolCatalog.register`
(the time per 1,000 tools: embedding included); the first ``find_tools`` after the writes on its own (it reads
the catalog and measures hubness, twins and groups once per snapshot); the in-memory BM25 snapshot's build
(20K+ documents); then MetaTool's requests, each timed three ways one after the other, so load on the machine
hits all three alike: the query encode alone, the core's plain hybrid search over the same collection (the
baseline), and ``find_tools`` (query encode included). Calls past 5x the size's p50 are counted as spikes
(the catalog measures hubness again as requests are logged, at 50, 100, 200, ... of them, in the background:
a spike left is that work competing for the cores)."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidArgumentError
from ..metrics import latency
from ..retrieval import SearchOptions
from ..scout import Scout, engine_of
from ..tools.catalog import ToolCatalog
from .children import BenchChildError
from .corpus import bench_queries
from .process import disk_mb, memory_mb
from .tool_pool import pooled_catalog, real_servers

Log = Callable[[str], None]
COLLECTION = "bench-tools"
QUERY_SET = "metatool"  # the requests: MetaTool's (its tools are registered first, so in every catalog)
WARMUP = 5  # requests searched untimed after the first, before the timed loop
SLOW = 5.0  # a call past this many times the p50 is counted as a spike


def measure_catalog(
    home: Path, data: Path, size: int, n_queries: int = 200, k: int = 10, log: Log = lambda _: None
) -> dict[str, Any]:
    """Register a ``size``-tool catalog into a fresh store under ``home`` (removed first) and time it (see the
    module's docstring); returns the size's JSON-ready row."""
    tools_dir = Path(data) / "tools"
    pooled = pooled_catalog(real_servers(tools_dir, QUERY_SET), size)
    queries = bench_queries(tools_dir / QUERY_SET, n_queries + WARMUP + 1)
    if len(queries) < 2:
        raise InvalidArgumentError(
            f"no requests under {tools_dir / QUERY_SET}: point --data at the evaluation sets"
        )
    shutil.rmtree(home, ignore_errors=True)
    scout = Scout(home=str(home))
    try:
        return _measure(scout, pooled, queries, k, log) | {"disk_mb": disk_mb(Path(home))}
    finally:
        scout.close()


def _measure(scout: Scout, pooled: Any, queries: list[str], k: int, log: Log) -> dict[str, Any]:
    engine = engine_of(scout)
    scout.embedder.embed_queries([queries[0]])  # the model loaded before anything is timed
    catalog = ToolCatalog(scout, collection=COLLECTION)
    log(
        f"registering {pooled.size} tools ({pooled.real} real, {pooled.copies} copies) "
        f"in {len(pooled.servers)} servers ..."
    )
    skipped = 0
    began = time.perf_counter()
    for server, tools in pooled.servers:
        skipped += len(catalog.register(tools, namespace=server).skipped)
    register_s = time.perf_counter() - began
    count = len(catalog)
    log(f"{count} tools registered in {register_s:.1f} s; first find_tools ...")
    began = time.perf_counter()
    catalog.find_tools(queries[0], k, generate=False)
    first_s = time.perf_counter() - began
    flags = Counter(flag for found in catalog.flagged().values() for flag in found)
    index = engine.index(COLLECTION)
    began = time.perf_counter()
    index.warm_lexical(3600)  # the in-memory BM25 snapshot, when the collection is big enough for one
    snapshot_s = time.perf_counter() - began
    options = SearchOptions.build(k, {"mode": "hybrid", "collection": COLLECTION, "augment": "never"})
    for q in queries[1 : 1 + WARMUP]:
        catalog.find_tools(q, k, generate=False)
        engine.search([q], options)
    timings: dict[str, list[float]] = {"encode": [], "hybrid": [], "find_tools": []}
    log(f"timing {len(queries) - 1 - WARMUP} requests ...")
    for q in queries[1 + WARMUP :]:
        t = time.perf_counter()
        scout.embedder.embed_queries([q])
        timings["encode"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        engine.search([q], options)
        timings["hybrid"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        catalog.find_tools(q, k, generate=False)
        timings["find_tools"].append((time.perf_counter() - t) * 1000)
    row: dict[str, Any] = {name: latency(values) for name, values in timings.items()}
    found = timings["find_tools"]
    p50 = statistics.median(found)
    row["find_tools"].update(max_ms=max(found), spikes=sum(1 for t in found if t > SLOW * p50))
    row.update(
        tools=count,
        real=pooled.real,
        copies=pooled.copies,
        servers=len(pooled.servers),
        skipped=skipped,
        register_s=register_s,
        register_s_per_1000=register_s / max(count, 1) * 1000,
        first_find_s=first_s,
        snapshot_s=snapshot_s,
        flagged=dict(sorted(flags.items())),
        queries=len(found),
        k=k,
        **memory_mb(),
    )
    return row


def run_tool_bench(
    home: Path, data: Path, sizes: Sequence[int], n_queries: int = 200, k: int = 10, log: Log = lambda _: None
) -> dict[str, Any]:
    """Each size measured by :func:`measure_catalog` in a child process of its own under ``home/tools-<size>``
    (a fresh store each run: registration is a figure); the JSON-ready report."""
    tools_dir = Path(data) / "tools"
    if not (tools_dir / QUERY_SET / "queries.jsonl").is_file():
        raise InvalidArgumentError(
            f"no {QUERY_SET}/queries.jsonl under {tools_dir}: point --data at the evaluation sets"
        )
    real = sum(len(tools) for _, tools in real_servers(tools_dir, QUERY_SET))
    report: dict[str, Any] = {"real_tools": real, "k": k, "sizes": {}}
    for size in sizes:
        log(f"tool catalog of {size} tools in a fresh process ...")
        spec = {
            "home": str(Path(home) / f"tools-{size}"),
            "data": str(data),
            "size": size,
            "queries": n_queries,
            "k": k,
        }
        done = subprocess.run(
            [sys.executable, "-m", "hopscout.bench.tools_bench", json.dumps(spec)],
            check=False,
            stdout=subprocess.PIPE,
            text=True,
        )
        if done.returncode != 0 or not done.stdout.strip():
            raise BenchChildError(
                f"bench of {size} tools failed (exit {done.returncode}): see its stderr above"
            )
        report["sizes"][str(size)] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def format_tool_bench(report: dict[str, Any]) -> str:
    """A readable table of :func:`run_tool_bench`'s report."""
    lines = [
        (
            f"hopscout bench --tools — find_tools over pooled catalogs ({report['real_tools']} distinct real tools; "
            f"past them, exact copies under further namespaces), k={report['k']}"
        ),
        (
            f"{'tools':>7} {'copies':>7} {'reg s':>6} {'s/1K':>5} {'first s':>7} {'bm25 s':>6} {'RSS MB':>6} "
            f"{'encode p50':>10} {'hybrid p50/p95':>14} {'find_tools p50/p95':>18} {'ft/hybrid':>9} "
            f"{'ft/encode':>9} {'spikes':>6}"
        ),
    ]
    for row in report["sizes"].values():
        e, h, f = row["encode"], row["hybrid"], row["find_tools"]
        lines.append(
            f"{row['tools']:>7} {row['copies']:>7} {row['register_s']:>6.1f} {row['register_s_per_1000']:>5.2f} "
            f"{row['first_find_s']:>7.2f} {row['snapshot_s']:>6.2f} {row['rss_mb']:>6.0f} {e['p50_ms']:>10.2f} "
            f"{h['p50_ms']:>6.1f} / {h['p95_ms']:>5.1f} {f['p50_ms']:>8.1f} / {f['p95_ms']:>7.1f} "
            f"{f['p50_ms'] / h['p50_ms']:>9.2f} {f['p50_ms'] / e['p50_ms']:>9.2f} {f['spikes']:>6}"
        )
    lines.append(
        "reg: ToolCatalog.register server by server, embedding included; first: the first find_tools after the "
        "writes (reads the catalog, measures hubness, twins and groups); bm25: the in-memory BM25 snapshot's build; "
        "p50/p95 in ms over MetaTool's requests, query encode included, each request timed as encode alone, "
        "hybrid search and find_tools in turn; spikes: find_tools calls past 5x its p50 (hubness measured again "
        "in the background as requests are logged)"
    )
    for row in report["sizes"].values():
        if row["flagged"]:
            shown = ", ".join(f"{flag} {n}" for flag, n in row["flagged"].items())
            lines.append(f"flagged at {row['tools']} tools: {shown}")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    """The child: ``python -m hopscout.bench.tools_bench SPEC_JSON``; the last stdout line is the size's row."""
    spec = json.loads(argv[0])
    row = measure_catalog(
        Path(spec["home"]),
        Path(spec["data"]),
        int(spec["size"]),
        int(spec["queries"]),
        int(spec["k"]),
        log=lambda m: print(m, file=sys.stderr, flush=True),
    )
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
