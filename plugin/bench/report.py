"""``hopscout bench``'s report as readable tables."""

from __future__ import annotations

from typing import Any

from ..settings import SEARCH_MODES


def _growth(report: dict[str, Any]) -> list[str]:
    lines = [
        (
            f"{'chunks':>9} {'build s':>8} {'docs/s':>7} {'disk MB':>8} {'RSS MB':>7} {'open s':>7} {'bm25 snap s':>11} "
            f"{'mode':<8} {'p50 ms':>7} {'p95 ms':>7} {'p50/encode':>10}"
        )
    ]
    for size, row in report["sizes"].items():
        probe, build = row["probe"], row.get("build")
        encode = probe["encode"]["p50_ms"]
        head = (
            f"{size:>9} {build['seconds'] if build else float('nan'):>8.1f} "
            f"{build['docs_per_s'] if build else float('nan'):>7.0f} {row['disk_mb']:>8.0f} {probe['rss_mb']:>7.0f} "
            f"{probe['first_search_s']:>7.2f} {probe['snapshot_s']:>11.2f}"
        )
        lines.append(f"{head} {'encode':<8} {encode:>7.2f} {probe['encode']['p95_ms']:>7.2f} {1.0:>10.2f}")
        for mode in SEARCH_MODES:
            r = probe[mode]
            lines.append(
                f"{'':>{len(head)}} {mode:<8} {r['p50_ms']:>7.2f} {r['p95_ms']:>7.2f} {r['p50_ms'] / encode:>10.2f}"
            )
    return lines


def format_bench(report: dict[str, Any]) -> str:
    """A readable summary of :func:`~hopscout.bench.run_bench`'s report."""
    e = report["encoders"]
    lines = [
        (
            f"hopscout bench — embedder {report['embedder']} ({report.get('encoder')}), {report['queries']} queries "
            "per size"
        ),
        f"encoders on the same texts ({e['passages']} passages, {e['short']} short texts, {e['queries']} queries):",
        f"  {'':<8} {'passages/s':>10} {'short/s':>8} {'query p50 ms':>12} {'Scout.add docs/s':>16}",
    ]
    for name in ("onnx", "torch"):
        b = e[name]
        lines.append(
            f"  {name:<8} {b['passages_docs_per_s']:>10.1f} {b['short_docs_per_s']:>8.1f} {b['query_p50_ms']:>12.2f} "
            f"{b['ingest_docs_per_s']:>16.1f}"
        )
    r = e["ratio"]
    lines.append(
        f"  {'onnx/torch':<8} {r['passages_docs_per_s']:>9.2f}x {r['short_docs_per_s']:>7.2f}x "
        f"{r['query_speedup']:>11.2f}x {r['ingest_docs_per_s']:>15.2f}x"
    )
    lines += [
        "",
        *_growth(report),
        (
            "build: precomputed vectors (store + BM25 index, no encoding); open: a fresh process's first search "
            "(imports, model, store); bm25 snap: the in-memory BM25 snapshot's build (20K+ chunks); search times "
            "include the query encode"
        ),
    ]
    for c in report.get("catchup", []):
        lines.append(
            f"two processes on one chroma server, {c['base']} chunks + {c['added']}: A's write {c['a_write_s']:.1f} s; "
            f"B's first search after it {c['b_catchup_s']:.2f} s (catch-up / write = {c['catchup_over_write']:.2f}); "
            f"B's first copy of the {c['base']} {c['b_first_copy_s']:.1f} s; B's lexical search "
            f"{c['b_search_ms_before']:.1f} → {c['b_search_ms_after']:.1f} ms; C on B's home: "
            f"open to first search {c['c_open_first_search_s']:.1f} s, copied {c['c_copied']}"
        )
    return "\n".join(lines)
