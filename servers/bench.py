"""Measure the MCP layer: ``initialize`` latency of a fresh stdio server, and the p50 cost of a ``tools/call``
search beside the same search called directly on :class:`hopscout.Scout`, in one run.

``python -m hopscout.servers.bench [--calls 100] [--starts 5] [--json]``"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from hopscout.demo import SAMPLE_DIR as SAMPLE

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "hs", "version": "0"},
    },
}
QUERIES = [
    "why does espresso taste sour",
    "hottest planet",
    "feeding a sourdough starter",
    "http cache headers",
    "rust borrow checker rules",
    "how do plants make sugar",
    "retry with exponential backoff",
]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPSCOUT_")}
    return {**env, "HOPSCOUT_HOME": str(home), "HF_HUB_OFFLINE": "1"}


def initialize_latency(home: Path, starts: int) -> list[float]:
    """Seconds from spawning ``python -m hopscout.servers.mcp`` to its ``initialize`` response, per start."""
    times = []
    for _ in range(starts):
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "hopscout.servers.mcp"],
            env=_env(home),
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        stdin, stdout = proc.stdin, proc.stdout
        if stdin is None or stdout is None:
            raise RuntimeError("the server process has no pipes")
        stdin.write(json.dumps(INITIALIZE) + "\n")
        stdin.flush()
        stdout.readline()
        times.append(time.perf_counter() - start)
        stdin.close()
        proc.wait(timeout=20)
    return times


def _p50(values: list[float]) -> float:
    return statistics.median(values)


def call_overhead(home: Path, calls: int) -> dict[str, Any]:
    """p50 of a direct ``Scout.search`` and of the same search as an MCP ``tools/call`` over stdio, on identical
    stores, interleaved call by call so both see the same machine load."""
    from hopscout import Scout

    async def run(scout: Scout) -> tuple[list[float], list[float]]:
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "hopscout.servers.mcp"],
            env={**_env(home / "server"), "HOPSCOUT_ROOTS": str(SAMPLE)},
        )
        async with Client(params) as client:
            await client.call_tool("ingest", {"path": str(SAMPLE)})
            for q in QUERIES:  # warm both: model, caches
                scout.search(q, 5)
                await client.call_tool("search", {"query": q, "k": 5})
            direct, mcp = [], []
            for n in range(calls):
                query = QUERIES[n % len(QUERIES)]
                start = time.perf_counter()
                scout.search(query, 5)
                direct.append(time.perf_counter() - start)
                start = time.perf_counter()
                result = await client.call_tool("search", {"query": query, "k": 5})
                mcp.append(time.perf_counter() - start)
                if result.is_error:
                    raise RuntimeError(getattr(result.content[0], "text", "search failed"))
            return direct, mcp

    # Each side indexes the same sample into its own home: two processes on one embedded home would share
    # (and re-sync) one lexical index, which measures that contention instead of the MCP layer.
    with Scout(home=home / "direct") as scout:
        scout.ingest(SAMPLE)
        direct, mcp = anyio.run(run, scout)
    return {
        "calls": calls,
        "direct_p50_ms": round(_p50(direct) * 1000, 2),
        "mcp_p50_ms": round(_p50(mcp) * 1000, 2),
        "overhead_p50_ms": round((_p50(mcp) - _p50(direct)) * 1000, 2),
        "ratio": round(_p50(mcp) / _p50(direct), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        starts = initialize_latency(Path(tmp) / "empty", args.starts)
        report: dict[str, Any] = {
            "initialize_ms": [round(t * 1000) for t in starts],
            "initialize_p50_ms": round(_p50(starts) * 1000),
            "search": call_overhead(Path(tmp) / "store", args.calls),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "cpus": os.cpu_count(),
        }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    s = report["search"]
    print(
        f"initialize (stdio, fresh process): p50 {report['initialize_p50_ms']} ms  runs {report['initialize_ms']}"
    )
    print(
        f"search p50: direct {s['direct_p50_ms']} ms, tools/call over stdio {s['mcp_p50_ms']} ms "
        f"(+{s['overhead_p50_ms']} ms, x{s['ratio']}) over {s['calls']} calls"
    )
    print(f"load average {report['load_average']} on {report['cpus']} CPUs")


if __name__ == "__main__":
    main()
