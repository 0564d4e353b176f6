"""The store contract, run on embedded Chroma and on a Chroma server: add, search, filter, update, delete."""

from __future__ import annotations

import pytest

from hopscout import (
    CollectionNotFoundError,
    Document,
    EmbedderMismatchError,
    Hit,
    InvalidArgumentError,
    InvalidQueryError,
    Scout,
    SentenceTransformerEmbedder,
    Settings,
)
from hopscout.embedders import bundled_model_path
from hopscout.scout import engine_of

DOCS = [
    Document(
        "Paris is the capital and largest city of France.",
        {"lang": "en", "year": 2001, "topic": "geo"},
        "paris",
    ),
    Document(
        "The Nile is the longest river in Africa and flows through Egypt.",
        {"lang": "en", "year": 2010, "topic": "geo"},
        "nile",
    ),
    Document(
        "Python is a programming language created by Guido van Rossum.",
        {"lang": "en", "year": 1991, "topic": "code"},
        "python",
    ),
    Document(
        "Berlin ist die Hauptstadt von Deutschland.", {"lang": "de", "year": 2015, "topic": "geo"}, "berlin"
    ),
    Document(
        "Rust guarantees memory safety through ownership and borrowing.",
        {"lang": "en", "year": 2015, "topic": "code", "stable": True},
        "rust",
    ),
]


@pytest.fixture
def filled(make_scout, collection) -> Scout:
    scout = make_scout()
    assert scout.add(DOCS, collection=collection) == [d.id for d in DOCS]
    return scout


def test_search_returns_typed_hits_in_every_mode(filled: Scout, collection: str) -> None:
    for mode in ("dense", "lexical", "hybrid"):
        hits = filled.search("What is the capital of France?", k=3, mode=mode, collection=collection)
        assert hits and all(isinstance(h, Hit) for h in hits)
        assert hits[0].id == "paris", mode
        assert hits[0].metadata == {"lang": "en", "year": 2001, "topic": "geo"}  # no internal keys leak
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    hybrid = filled.search("capital of France", k=2, collection=collection)[0]
    assert set(hybrid.scores) == {"fused", "dense", "lexical"}


def test_batch_search_matches_single_queries(filled: Scout, collection: str) -> None:
    queries = ["longest river in Africa", "memory safety without garbage collection"]
    batch = filled.search_batch(queries, k=2, collection=collection)
    assert [[h.id for h in hits] for hits in batch] == [
        [h.id for h in filled.search(q, k=2, collection=collection)] for q in queries
    ]
    assert batch[0][0].id == "nile" and batch[1][0].id == "rust"


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_filters_apply_to_every_retriever(filled: Scout, collection: str, mode: str) -> None:
    hits = filled.search("Berlin capital city", k=5, mode=mode, where={"lang": "de"}, collection=collection)
    assert [h.id for h in hits] == ["berlin"]
    hits = filled.search(
        "language",
        k=5,
        mode=mode,
        collection=collection,
        where={"$and": [{"topic": "code"}, {"year": {"$gte": 2000}}]},
    )
    assert {h.id for h in hits} <= {"rust"}
    hits = filled.search(
        "capital", k=5, mode=mode, where={"year": {"$in": [2001, 2015]}}, collection=collection
    )
    assert {h.id for h in hits} <= {"paris", "berlin", "rust"} and "paris" in {h.id for h in hits}


def test_lexical_filters_select_what_chroma_selects(filled: Scout, collection: str) -> None:
    index = engine_of(filled).index(collection)
    clauses = [
        {"lang": "en"},
        {"lang": {"$ne": "en"}},
        {"year": {"$gt": 2001}},
        {"year": {"$lte": 2001}},
        {"topic": {"$in": ["code", "x"]}},
        {"topic": {"$nin": ["code"]}},
        {"stable": True},
        {"$or": [{"lang": "de"}, {"year": 1991}]},
        {"$and": [{"topic": "geo"}, {"year": {"$lt": 2015}}]},
        {"stable": {"$ne": True}},
        {"stable": {"$nin": [True]}},
        {"year": {"$ne": 2015}},
        {"missing": {"$nin": ["a"]}},
    ]
    ids = index.ids()
    every_word = " ".join(doc.text for doc in index.get(ids).values())  # a BM25 query every document matches
    assert {i for i, _ in index.lexical_search(every_word, len(ids) + 1)} == set(ids)
    for where in clauses:
        assert {i for i, _ in index.lexical_search(every_word, len(ids) + 1, where)} == set(
            index.ids(where)
        ), where


def test_same_id_updates_text_in_both_retrievers(filled: Scout, collection: str) -> None:
    filled.add(
        [Document("Lyon is famous for its gastronomy and silk weaving.", {"lang": "en"}, "paris")],
        collection=collection,
    )
    lexical = filled.search("silk weaving gastronomy", k=2, mode="lexical", collection=collection)
    assert lexical[0].id == "paris" and "Lyon" in lexical[0].text
    assert "paris" not in {
        h.id for h in filled.search("capital of France", k=5, mode="lexical", collection=collection)
    }
    assert {c.name: c.count for c in filled.collections()}[collection] == len(DOCS)


def test_content_ids_make_adds_idempotent(make_scout, collection: str) -> None:
    scout = make_scout()
    first = scout.add(["alpha beta gamma", "delta epsilon"], collection=collection)
    second = scout.add(["alpha beta gamma", "delta epsilon"], collection=collection)
    assert first == second
    info = {c.name: c for c in scout.collections()}[collection]
    assert info.count == 2 and info.embedder == "sentence-transformers/all-MiniLM-L6-v2" and info.dim == 384


def test_delete_by_id_and_filter(filled: Scout, collection: str) -> None:
    assert filled.delete(["nile", "missing-id"], collection=collection) == 1
    assert filled.delete(where={"topic": "code"}, collection=collection) == 2
    left = {
        h.id for h in filled.search("river language capital", k=10, mode="lexical", collection=collection)
    }
    assert left <= {"paris", "berlin"}
    assert {h.id for h in filled.search("programming", k=10, mode="dense", collection=collection)} == {
        "paris",
        "berlin",
    }
    with pytest.raises(InvalidArgumentError, match="ids or a where"):
        filled.delete(collection=collection)


def test_second_process_sees_writes_of_the_first(make_scout, collection: str, tmp_path, backend: str) -> None:
    if backend != "server":
        pytest.skip("separate processes share a store through a Chroma server")
    writer, reader = make_scout(home=tmp_path / "a"), make_scout(home=tmp_path / "b")
    writer.add(["The okapi is a giraffid native to the Congo."], ids=["okapi"], collection=collection)
    assert reader.search("okapi giraffid", k=1, mode="lexical", collection=collection)[0].id == "okapi"
    writer.add(["Wombats produce cube-shaped droppings."], ids=["wombat"], collection=collection)
    writer.delete(["okapi"], collection=collection)
    assert [
        h.id for h in reader.search("okapi wombat droppings", k=5, mode="lexical", collection=collection)
    ] == ["wombat"]


def test_a_second_process_catches_up_with_what_changed_not_the_whole_collection(
    make_scout, collection: str, tmp_path, backend: str
) -> None:
    if backend != "server":
        pytest.skip("separate processes share a store through a Chroma server")
    writer, reader = make_scout(home=tmp_path / "a"), make_scout(home=tmp_path / "b")
    for first in range(0, 30, 3):  # ten writes: sequence numbers 1 to 10
        ids = [f"d{i}" for i in range(first, first + 3)]
        writer.add([f"Filler passage {i} on topic {i}." for i in ids], ids=ids, collection=collection)
    assert reader.search("filler", k=1, mode="lexical", collection=collection)  # B copies the collection
    index = engine_of(reader).index(collection)
    listings: list = []  # (filter, rows) of every listing B's catch-ups ask the store for
    get = index.collection.get

    def spy(ids=None, **kwargs):
        got = get(ids, **kwargs)
        if ids is None:
            listings.append((kwargs.get("where"), len(got.ids)))
        return got

    index.collection.get = spy  # type: ignore[method-assign]
    writer.add(["The okapi is a giraffid native to the Congo."], ids=["d3"], collection=collection)  # update
    writer.add(["Wombats produce cube-shaped droppings."], ids=["wombat"], collection=collection)
    assert reader.search("okapi giraffid", k=1, mode="lexical", collection=collection)[0].id == "d3"
    assert reader.search("wombat droppings", k=1, mode="lexical", collection=collection)[0].id == "wombat"
    assert listings and all(where is not None for where, _ in listings)  # only recent writes were listed:
    assert 0 < sum(rows for _, rows in listings) < 31  # the two new ones and the few before them, not all 31
    # a writer without sequence numbers (an older hopscout) is still caught, by comparing everything
    other = engine_of(writer).index(collection)
    text = "Capybaras are the largest living rodents."
    other.collection.upsert(["d4"], writer.embedder.embed_documents([text]), [text], [{"hs_hash": "older"}])
    other.collection.replace_metadata({**other.metadata(), "hopscout:version": "older-writer"})
    assert reader.search("capybaras rodents", k=1, mode="lexical", collection=collection)[0].id == "d4"
    assert (None, 31) in listings


def test_a_write_behind_the_lexical_index_is_caught_without_asking_the_store_every_search(
    make_scout, collection: str, backend: str
) -> None:
    """Embedded: while the store's file is unchanged a search skips the version read; a write the lexical index
    missed (another writer, a crash between the two writes) changes the file and is caught up."""
    scout = make_scout()
    scout.add(["The okapi is a giraffid native to the Congo."], ids=["okapi"], collection=collection)
    index = engine_of(scout).index(collection)
    index.sync(force=True)  # found in step, as after a count check
    reads = []
    metadata = index.collection.metadata
    index.collection.metadata = lambda: reads.append(1) or metadata()  # type: ignore[method-assign]
    for _ in range(3):
        scout.search("okapi", k=1, mode="lexical", collection=collection)
    assert len(reads) == (0 if backend == "embedded" else 3)
    vector = scout.embedder.embed_documents(["Wombats produce cube-shaped droppings."])
    index.collection.upsert(
        ["wombat"], vector, ["Wombats produce cube-shaped droppings."], [{"hs_hash": "x"}]
    )
    index.collection.replace_metadata({**metadata(), "hopscout:version": "written-elsewhere"})
    assert [h.id for h in scout.search("wombat droppings", k=1, mode="lexical", collection=collection)] == [
        "wombat"
    ]


def test_unknown_collection_is_a_clear_error(make_scout) -> None:
    scout = make_scout()
    with pytest.raises(CollectionNotFoundError, match="no-such-collection"):
        scout.search("anything", collection="no-such-collection")
    with pytest.raises(InvalidArgumentError, match="collection name"):
        scout.search("anything", collection="x")


def test_other_embedder_is_refused(make_scout, collection: str, tmp_path) -> None:
    make_scout().add(["some text"], collection=collection)
    other = SentenceTransformerEmbedder(bundled_model_path())  # same weights, another id: must not mix
    settings = make_scout().settings
    with pytest.raises(EmbedderMismatchError, match="HOPSCOUT_EMBEDDER"):
        Scout(settings, embedder=other).search("text", collection=collection)


@pytest.mark.parametrize(
    ("query", "k", "error", "match"),
    [
        ("", 5, InvalidQueryError, "empty"),
        ("   \n", 5, InvalidQueryError, "empty"),
        ("x" * 9000, 5, InvalidQueryError, "limit"),
        (42, 5, InvalidQueryError, "string"),
        ("ok", 0, InvalidArgumentError, "between 1"),
        ("ok", 10**9, InvalidArgumentError, "between 1"),
        ("ok", "5", InvalidArgumentError, "integer"),
        ("ok", True, InvalidArgumentError, "integer"),
    ],
)
def test_bad_queries_get_specific_errors(filled: Scout, collection: str, query, k, error, match) -> None:
    with pytest.raises(error, match=match):
        filled.search(query, k, collection=collection)
    assert filled.search("Paris", 1, collection=collection)[0].id == "paris"  # nothing was lost


@pytest.mark.parametrize(
    ("where", "match"),
    [
        ({"$nope": 1}, "Unknown filter operator"),
        ({"year": {"$gt": "x"}}, "number"),
        ([1], "non-empty object"),
        ({"$and": [{"a": 1}]}, "at least two"),
    ],
)
def test_bad_filters_get_specific_errors(filled: Scout, collection: str, where, match) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        filled.search("Paris", where=where, collection=collection)


@pytest.mark.parametrize(
    ("docs", "kwargs", "match"),
    [
        ("a string", {}, "list"),
        ([""], {}, "empty"),
        ([{"no": "text"}], {}, "text"),
        (["a"], {"metadatas": [{"x": {"nested": 1}}]}, "values must be"),
        (["a"], {"metadatas": [{"hs_hash": "x"}]}, "reserved"),
        (["a", "b"], {"ids": ["same", "same"]}, "duplicate"),
        (["a"], {"ids": ["1", "2"]}, "ids for"),
    ],
)
def test_bad_documents_are_refused_before_writing(make_scout, collection: str, docs, kwargs, match) -> None:
    scout = make_scout()
    with pytest.raises(InvalidArgumentError, match=match):
        scout.add(docs, collection=collection, **kwargs)
    assert (
        collection not in {c.name for c in scout.collections()}
        or engine_of(scout).index(collection).count() == 0
    )


def test_unreachable_server_is_a_clear_error(tmp_path, embedder) -> None:
    from hopscout import StoreUnavailableError

    scout = Scout(Settings(home=tmp_path, chroma_url="http://127.0.0.1:9"), embedder=embedder)
    with pytest.raises(StoreUnavailableError, match="chroma run"):
        scout.collections()
