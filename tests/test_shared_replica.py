"""Catch-up from a Chroma server happens once per machine, not once per process: processes sharing a home share
its lexical replica, so a process that opens an up-to-date replica copies nothing, and one process catching up
with another's write spares the others the copy. Real processes (the bench's ``replica`` child) on a real
``chroma run`` server, on both lexical backends."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from hopscout import Scout, Settings
from hopscout.bench.children import Replica
from hopscout.embedders import SentenceTransformerEmbedder

BACKENDS = [
    "fts5",
    pytest.param(
        "tantivy",
        marks=pytest.mark.skipif(importlib.util.find_spec("tantivy") is None, reason="pip install tantivy"),
    ),
]


def _notes(first: int, stop: int) -> list[str]:
    return [f"note {n}: the shared replica holds camelCaseWords and lantern {n}" for n in range(first, stop)]


@pytest.mark.parametrize("lexical", BACKENDS)
def test_a_process_opening_an_up_to_date_replica_copies_nothing(
    lexical: str,
    chroma_url: str,
    collection: str,
    embedder: SentenceTransformerEmbedder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOPSCOUT_LEXICAL_BACKEND", lexical)  # A's settings read it, and the children's
    writer = Scout(Settings(home=tmp_path / "a", chroma_url=chroma_url), embedder=embedder)
    assert writer.settings.lexical_backend == lexical
    spec = {
        "home": str(tmp_path / "machine"),
        "chroma_url": chroma_url,
        "query": "lantern",
        "collection": collection,
    }
    try:
        first = writer.add(_notes(0, 30), collection=collection)
        b = Replica(spec)
        try:
            b.search()
            assert (b.last["count"], b.last["copied"]) == (30, 30)  # B makes the machine's replica
            later = writer.add(_notes(30, 40), collection=collection)
            b.search()
            assert (b.last["count"], b.last["copied"]) == (40, 40)  # and catches it up with A's write

            c = Replica(spec)  # C: the same home, B still running
            try:
                c.search()
                assert (c.last["count"], c.last["copied"]) == (40, 0)
                assert set(c.last["ids"]) <= set(first + later) and len(c.last["ids"]) == 10
                last = writer.add(["lantern, lantern and lantern: note 40"], collection=collection)
                c.search()
                assert (c.last["count"], c.last["copied"]) == (41, 1)  # C copies A's new write only
                assert c.last["ids"][0] == last[0]
            finally:
                c.close()
            b.search()
            assert (b.last["count"], b.last["copied"]) == (41, 40)  # C's catch-up spared B the copy
            for n in range(6):  # writes numbered past the few a catch-up lists again to be safe
                writer.add([f"lantern filler {n}"], collection=collection)
            b.search()
            writer.add(["a lantern note after every reader caught up"], collection=collection)
            d = Replica(spec)  # D: a new process finding the replica one write behind
            try:
                d.search()
                # it lists the last few writes and copies the new one only: the full comparison B made,
                # recorded in the replica, vouches for the rest (it used to compare all 48 ids again)
                assert (d.last["count"], d.last["copied"]) == (48, 1)
                assert d.last["listed"] <= 6
            finally:
                d.close()
        finally:
            b.close()
    finally:
        writer.close()
