"""``hopscout demo``: index the bundled sample corpus and show a few searches, all offline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .resources import package_path
from .scout import Scout

SAMPLE_DIR = package_path("sample")  # the bundled sample corpus (CC0), shipped inside the package
DEMO_COLLECTION = "hopscout-demo"
DEMO_QUERIES = (
    "why does my coffee taste sour",
    "which planet is the hottest",
    "how do I make a request that reuses a cached response",
    "exponential backoff",
)


def run_demo(scout: Scout, echo: Callable[[str], None] = print, k: int = 2) -> dict[str, list[str]]:
    """Ingest the sample corpus into the demo collection and print the top ``k`` hits of each demo query."""
    report = scout.ingest(SAMPLE_DIR, collection=DEMO_COLLECTION)
    echo(
        f"Indexed {SAMPLE_DIR} into collection {DEMO_COLLECTION!r} at {scout.settings.home}: "
        f"{len(report.added) + len(report.replaced)} files embedded, {len(report.unchanged)} unchanged, "
        f"{report.chunks} chunks written."
    )
    shown: dict[str, list[str]] = {}
    for query in DEMO_QUERIES:
        hits = scout.search(query, k, collection=DEMO_COLLECTION)
        echo(f"\n? {query}")
        for hit in hits:
            heading = hit.metadata.get("heading", "")
            text = " ".join(hit.text.split())
            echo(
                f"  [{hit.score:.2f}] {Path(hit.source or hit.id).name}"
                + (f" › {heading}" if heading else "")
                + f"\n         {text[:140]}{'…' if len(text) > 140 else ''}"
            )
        shown[query] = [hit.id for hit in hits]
    echo("\nNext: hopscout ingest YOUR_FOLDER && hopscout search 'your question'")
    return shown
