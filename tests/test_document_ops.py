"""Scout's document and collection operations (get, peek, count, update, create, modify, rename), on the embedded
store and on a Chroma server: what the MCP tools of tests/test_mcp_documents.py stand on."""

from __future__ import annotations

from typing import Any

import pytest

from hopscout import CollectionNotFoundError, InvalidArgumentError

DOCS = [
    {
        "id": "a",
        "text": "Espresso tastes sour when it is under-extracted.",
        "metadata": {"topic": "coffee", "n": 1},
    },
    {
        "id": "b",
        "text": "Venus is the hottest planet in the solar system.",
        "metadata": {"topic": "space", "n": 2},
    },
    {
        "id": "c",
        "text": "A sourdough starter needs regular feeding.",
        "metadata": {"topic": "baking", "n": 3},
    },
]


def test_get_pages_and_names_the_missing(make_scout: Any, collection: str) -> None:
    scout = make_scout()
    scout.add(DOCS, collection=collection)
    first = scout.get(limit=2, collection=collection)
    rest = scout.get(limit=2, offset=first.next_offset or 0, collection=collection)
    assert first.next_offset == 2 and rest.next_offset is None
    assert sorted(d.id for d in first.documents + rest.documents) == ["a", "b", "c"]
    picked = scout.get(["c", "zz", "a"], collection=collection)
    assert [d.id for d in picked.documents] == ["c", "a"] and picked.missing == ("zz",)
    assert picked.documents[1].metadata == DOCS[0]["metadata"]  # hopscout's hs_* keys stay inside
    assert [d.id for d in scout.get(where={"n": {"$gte": 2}}, collection=collection).documents] == ["b", "c"]
    assert scout.peek(1, collection=collection) == first.documents[:1]
    assert scout.count(collection) == 3
    with pytest.raises(InvalidArgumentError, match="limit"):
        scout.get(limit=0, collection=collection)


def test_update_changes_both_indexes_and_removes_keys(make_scout: Any, collection: str) -> None:
    scout = make_scout()
    scout.add(DOCS, collection=collection)
    scout.update(
        ["a", "b"],
        ["Chamomile tea has no caffeine.", None],
        [{"n": None, "topic": "tea"}, {"checked": True}],
        collection=collection,
    )
    got = {d.id: d for d in scout.get(["a", "b"], collection=collection).documents}
    assert (got["a"].text, dict(got["a"].metadata)) == ("Chamomile tea has no caffeine.", {"topic": "tea"})
    assert (got["b"].text, dict(got["b"].metadata)) == (
        DOCS[1]["text"],
        {**DOCS[1]["metadata"], "checked": True},
    )
    for mode in ("dense", "lexical"):
        assert [h.id for h in scout.search("chamomile caffeine", k=1, mode=mode, collection=collection)] == [
            "a"
        ]
        assert scout.search("chamomile", k=1, mode=mode, where={"n": 1}, collection=collection) == [], mode
    old_words = scout.search("espresso under-extracted", k=3, mode="lexical", collection=collection)
    assert "a" not in [h.id for h in old_words]
    with pytest.raises(InvalidArgumentError, match="'ghost'"):
        scout.update(["c", "ghost"], ["new text", "x"], collection=collection)
    assert scout.get(["c"], collection=collection).documents[0].text == DOCS[2]["text"]  # nothing written


def test_collections_are_created_modified_and_renamed(make_scout: Any, collection: str) -> None:
    scout = make_scout()
    info = scout.create_collection(collection, {"owner": "ana"})
    assert (info.name, info.count, scout.collection_metadata(collection)) == (collection, 0, {"owner": "ana"})
    with pytest.raises(InvalidArgumentError, match="already exists"):
        scout.create_collection(collection)
    scout.add(DOCS, collection=collection)
    renamed = f"{collection}-renamed"
    info = scout.modify_collection(collection, metadata={"owner": None, "team": "x"}, name=renamed)
    assert (info.name, info.count, scout.collection_metadata(renamed)) == (renamed, 3, {"team": "x"})
    with pytest.raises(CollectionNotFoundError, match=renamed):
        scout.count(collection)
    assert [h.id for h in scout.search("sourdough", k=1, mode="lexical", collection=renamed)] == ["c"]
    scout.close()
    other = (
        make_scout()
    )  # as a new process would: the collection and its lexical copy open under the new name
    assert [h.id for h in other.search("hottest planet", k=1, collection=renamed)] == ["b"]
    assert [c.name for c in other.collections() if c.name.startswith(collection)] == [renamed]


def test_documents_by_id_read_as_chroma_reads_them(make_scout: Any, collection: str) -> None:
    """Embedded, a get by ids reads Chroma's SQLite file directly (hopscout.chroma_sqlite: Chroma's first read in
    a process loads the whole HNSW graph); every value type comes back as a filtered get (Chroma's own read)
    returns it."""
    scout = make_scout()
    docs = [
        {
            "id": f"t{n}",
            "text": f"Document {n}: naïve café “quotes” — 東京 {'x' * n}",
            "metadata": {
                "word": ["", "ünïcode", "12", "true"][n % 4],
                "whole": [-(2**40), 0, 7, 2**53][n % 4],
                "real": [0.1, -3.5e-7, 1e300, 2.0][n % 4],
                "flag": n % 2 == 0,
                "group": "all",
            },
        }
        for n in range(8)
    ]
    scout.add(docs, collection=collection)
    by_id = scout.get([d["id"] for d in reversed(docs)] + ["missing"], collection=collection)
    by_filter = scout.get(where={"group": "all"}, collection=collection)
    assert [d.id for d in by_id.documents] == [d["id"] for d in reversed(docs)]
    assert by_id.missing == ("missing",)
    assert sorted(by_id.documents, key=lambda d: d.id) == sorted(by_filter.documents, key=lambda d: d.id)
    for got in by_id.documents:
        want = next(d for d in docs if d["id"] == got.id)
        assert got.text == want["text"] and got.metadata == want["metadata"]
        assert all(type(got.metadata[k]) is type(v) for k, v in want["metadata"].items())
    assert scout.count(collection) == len(docs)


def test_a_write_does_not_hide_a_cut_short_one(
    make_scout: Any, collection: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write group cut short (the store written and stamped, the lexical copy not) while this write's own sync
    left it to the writer holding the store's lock: this write must not record its version as if the lexical copy
    held everything, or the next sync would find it in step and the cut-short document would stay unfindable."""
    from hopscout.keys import META_VERSION
    from hopscout.scout import engine_of

    scout = make_scout()
    scout.add(DOCS, collection=collection)
    index = engine_of(scout).index(collection)
    stored = index.get(["a"], embeddings=True)["a"]
    # what a writer killed inside its group leaves: its stamp and its store write, nothing in the lexical copy
    index.update_metadata(**{META_VERSION: "cut-short"})
    index.collection.upsert(["a"], [stored.embedding], ["Espresso turns zyxwinkle when cut short."], [{}])
    monkeypatch.setattr(type(index.collection), "writer_busy", lambda self: True)  # its lock, still held
    scout.add([{"id": "d", "text": "Comets have tails of dust and gas."}], collection=collection)
    monkeypatch.undo()
    hits = scout.search("zyxwinkle", k=1, mode="lexical", collection=collection)
    assert [h.id for h in hits] == ["a"], "the cut-short write's text is in the lexical copy after a sync"
