"""Every text input an agent can reach is bounded (issue 25, finding 6: inputs). Pure tests of the filter and
document checks first, then each attack through the Python API and the MCP server (a real in-process MCP
client): it is refused with an error naming the limit, before the store is touched, and legitimate input at
the limit still works."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest

from hopscout import (
    CollectionNotFoundError,
    InvalidArgumentError,
    InvalidQueryError,
    Scout,
    SearchOptions,
    Settings,
)
from hopscout.documents import MAX_ID_CHARS, MAX_METADATA_KEYS, as_documents
from hopscout.filters import (
    MAX_DEPTH,
    MAX_KEY_CHARS,
    MAX_VALUE_CHARS,
    MAX_VALUES,
    check_key,
    validate_where,
    where_to_sql,
)

GOOD_KEYS = ["a.b", "a[0]", "a'b", "é ü", "a b", "*", "a$b", "chroma:x", "k" * MAX_KEY_CHARS]
BAD_KEYS = [
    'a"b',
    "a\\b",
    "a\tb",
    "a\nb",
    "a\x00b",
    "a\x85b",
    "$x",
    "#document",
    "",
    "k" * (MAX_KEY_CHARS + 1),
]


def nested(depth: int) -> dict[str, Any]:
    """``depth`` levels of $and, built without recursion."""
    where: dict[str, Any] = {"a": 1}
    for _ in range(depth):
        where = {"$and": [where, {"b": 2}]}
    return where


# ---------------------------------------------------------------- filters (pure)


@pytest.mark.parametrize("key", GOOD_KEYS)
def test_every_accepted_key_selects_in_sql_as_written(key: str) -> None:
    """What check_key accepts, SQLite's JSON path names exactly: the lexical index filters as Chroma does."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE docs (id TEXT, meta TEXT)")
    db.executemany(
        "INSERT INTO docs VALUES (?, ?)",
        [("hit", json.dumps({key: 7}, ensure_ascii=False)), ("miss", json.dumps({"other": 7}))],
    )
    clause, args = where_to_sql({key: 7})
    assert [r[0] for r in db.execute(f"SELECT id FROM docs WHERE {clause}", args)] == ["hit"]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_keys_sql_cannot_name_are_refused_with_the_rule(key: str) -> None:
    with pytest.raises(InvalidArgumentError, match="Invalid metadata key|Unknown filter operator") as info:
        validate_where({key: 1})
    assert len(str(info.value)) < 300
    with pytest.raises(InvalidArgumentError):
        check_key(key)


def test_nesting_is_bounded_without_recursion_errors() -> None:
    assert validate_where(nested(MAX_DEPTH)) is not None
    for depth in (MAX_DEPTH + 1, 100_000):
        with pytest.raises(InvalidArgumentError, match=f"at most {MAX_DEPTH} deep"):
            validate_where(nested(depth))


def test_a_filter_holds_at_most_max_values() -> None:
    assert validate_where({"a": {"$in": list(range(MAX_VALUES))}})
    too_many = [
        {"a": {"$in": list(range(MAX_VALUES + 1))}},
        {"a": {"$nin": ["x"] * (MAX_VALUES + 1)}},
        {"$or": [{"a": n} for n in range(MAX_VALUES + 1)]},
        {f"k{n}": n for n in range(MAX_VALUES + 1)},
        {
            "$and": [
                {"a": {"$in": list(range(MAX_VALUES // 2 + 1))}},
                {"b": {"$in": list(range(MAX_VALUES // 2))}},
            ]
        },
        {"$or": [{"a": 1}] * 1_000_000},
    ]
    for where in too_many:
        with pytest.raises(InvalidArgumentError, match=f"at most {MAX_VALUES} values"):
            validate_where(where)


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"a": 2**63}, "64-bit range"),
        ({"a": {"$gt": float("nan")}}, "finite number"),
        ({"a": "x" * (MAX_VALUE_CHARS + 1)}, f"over the limit of {MAX_VALUE_CHARS}"),
        ({"a": {"$in": ["ok", "x" * 10**6]}}, f"over the limit of {MAX_VALUE_CHARS}"),
        ({"a": {"$gt": "x" * 10**6}}, "takes a number"),
        ({"a": {"$in": [[[[[[[[[1]]]]]]]]]}}, "list of scalars"),
        ({"$and": ["x" * 10**6, {"a": 1}]}, "non-empty object"),
        ({"a": {"$regex": "x" * 10**6}}, "Unknown filter operator"),
    ],
)
def test_bad_values_are_refused_in_a_short_message(where: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message) as info:
        validate_where(where)
    assert len(str(info.value)) < 400


# ---------------------------------------------------------------- documents and search options (pure)


def test_document_inputs_are_bounded() -> None:
    assert as_documents(["x" * 100], None, None, max_chars=100)
    cases = [
        (lambda: as_documents(["x" * 101], None, None, max_chars=100), "HOPSCOUT_MAX_DOCUMENT_CHARS"),
        (lambda: as_documents(["x"], None, ["i" * (MAX_ID_CHARS + 1)]), f"at most {MAX_ID_CHARS} characters"),
        (lambda: as_documents(["x"], [{'a"b': 1}], None), "Invalid metadata key"),
        (lambda: as_documents(["x"], [{"$where": 1}], None), "Invalid metadata key"),
        (
            lambda: as_documents(["x"], [{"a": "v" * (MAX_VALUE_CHARS + 1)}], None),
            "put long text in the document",
        ),
        (lambda: as_documents(["x"], [{"a": 2**70}], None), "64-bit range"),
        (
            lambda: as_documents(["x"], [{f"k{n}": n for n in range(MAX_METADATA_KEYS + 1)}], None),
            f"over the limit of {MAX_METADATA_KEYS}",
        ),
    ]
    for call, message in cases:
        with pytest.raises(InvalidArgumentError, match=message) as info:
            call()
        assert len(str(info.value)) < 400, message


def test_search_options_bound_expansion_and_names() -> None:
    settings = Settings(max_query_chars=50)
    assert SearchOptions(expansion="x" * 50).resolve(settings).expansion == "x" * 50
    with pytest.raises(InvalidQueryError, match=r"expansion has 51 characters, .*HOPSCOUT_MAX_QUERY_CHARS"):
        SearchOptions(expansion="x" * 51).resolve(settings)
    for name in ("mode", "collection", "hop_operator", "augment", "augmenter"):
        with pytest.raises(InvalidArgumentError, match=f"{name} is 100000 characters long") as info:
            SearchOptions.build(5, {name: "m" * 100_000})
        assert len(str(info.value)) < 200
    with pytest.raises(InvalidArgumentError, match=f"at most {MAX_DEPTH} deep"):
        SearchOptions.build(5, {"where": nested(50)})


# ---------------------------------------------------------------- through Scout


@pytest.fixture(scope="module")
def scout(tmp_path_factory: pytest.TempPathFactory, embedder: Any) -> Any:
    with Scout(home=tmp_path_factory.mktemp("limits"), embedder=embedder) as made:
        made.add(
            ["Paris is the capital of France.", "Berlin is the capital of Germany."],
            metadatas=[{"country": "fr"}, {"country": "de"}],
            collection="capitals",
        )
        yield made


ATTACKS = {
    "quote in a key": ({'a"b': 1}, "Invalid metadata key"),  # was a raw sqlite3.OperationalError
    "deep nesting": (nested(5000), f"at most {MAX_DEPTH} deep"),  # was a RecursionError
    "huge $in": (
        {"country": {"$in": list(range(40_000))}},
        f"at most {MAX_VALUES} values",
    ),  # Chroma: SQL error
    "huge int": ({"country": 10**30}, "64-bit range"),  # was an OverflowError from sqlite3
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_scout_refuses_bad_filters_before_the_store(scout: Scout, attack: str) -> None:
    where, message = ATTACKS[attack]
    for mode in ("dense", "lexical", "hybrid"):
        with pytest.raises(InvalidArgumentError, match=message):
            scout.search("capital", k=2, where=where, mode=mode, collection="capitals")
    with pytest.raises(InvalidArgumentError, match=message):
        scout.delete(where=where, collection="capitals")
    # Checked before any collection is opened: a missing one is not what the caller hears about.
    with pytest.raises(InvalidArgumentError, match=message):
        scout.search("capital", where=where, collection="no-such-collection")
    with pytest.raises(InvalidArgumentError, match=message):
        scout.delete(where=where, collection="no-such-collection")
    assert scout.collections()[0].count == 2


def test_scout_bounds_expansion_documents_and_keeps_legitimate_use(scout: Scout) -> None:
    limit = scout.settings.max_query_chars
    with pytest.raises(InvalidQueryError, match="HOPSCOUT_MAX_QUERY_CHARS"):
        scout.search("capital", k=2, expansion="capital city " * 400_000, collection="capitals")  # 4.8 MB
    hits = scout.search(
        "capital", k=2, expansion=("capital city France " * limit)[:limit], collection="capitals"
    )
    assert hits and hits[0].text == "Paris is the capital of France."
    with pytest.raises(InvalidArgumentError, match="HOPSCOUT_MAX_DOCUMENT_CHARS.*ingest"):
        scout.add(["word " * 40_000], collection="too-big")
    assert "too-big" not in {c.name for c in scout.collections()}
    found = scout.search(
        "capital",
        k=5,
        where={"$or": [{"country": "fr"}, {"country": {"$in": ["de"]}}]},
        collection="capitals",
    )
    assert len(found) == 2
    with pytest.raises(CollectionNotFoundError):
        scout.search("capital", where={"country": "fr"}, collection="no-such-collection")


# ---------------------------------------------------------------- through the MCP server


async def test_mcp_tools_refuse_unbounded_input(scout: Scout) -> None:
    pytest.importorskip("mcp.server.mcpserver")
    from mcp import Client

    from hopscout.servers.mcp import HopscoutMCPServer
    from hopscout.servers.settings import ServerSettings

    async def error(client: Any, tool: str, arguments: dict[str, Any]) -> str:
        result = await client.call_tool(tool, arguments)
        assert result.is_error, f"{tool} accepted {str(arguments)[:200]}"
        return str(result.content[0].text)

    async with Client(HopscoutMCPServer(ServerSettings(), scout=scout)) as client:
        base = {"query": "capital", "collection": "capitals"}
        for where, message in [(w, m) for w, m in ATTACKS.values() if w is not ATTACKS["deep nesting"][0]]:
            assert message in await error(client, "search", {**base, "where": where})
            assert message in await error(client, "delete", {"where": where, "collection": "capitals"})
        assert f"at most {MAX_DEPTH} deep" in await error(client, "search", {**base, "where": nested(30)})
        expansion = await error(client, "search", {**base, "expansion": "capital city " * 400_000})
        assert "HOPSCOUT_MAX_QUERY_CHARS" in expansion and len(expansion) < 400
        too_big = await error(client, "add_documents", {"documents": [{"text": "word " * 40_000}]})
        assert "HOPSCOUT_MAX_DOCUMENT_CHARS" in too_big and "ingest" in too_big
        bad_key = await error(client, "add_documents", {"documents": [{"text": "x", "metadata": {'a"b': 1}}]})
        assert "Invalid metadata key" in bad_key
        ok = await client.call_tool(
            "search", {**base, "where": {"$or": [{"country": "fr"}, {"country": "de"}]}, "k": 5}
        )
        assert not ok.is_error and len(ok.structured_content["hits"]) == 2
    assert scout.collections()[0].count == 2
