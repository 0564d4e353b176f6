"""The MCP document and collection tools that chroma-mcp users expect (get, peek, count, info, update, create,
modify, drop), through a real MCP client: their annotations, their hiding in read-only mode, the limits in their
JSON Schemas, honest errors, and the skipped files an ingest reports. One Scout serves the whole module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp.server.mcpserver")

from mcp import Client

from hopscout import Scout
from hopscout.embedders import SentenceTransformerEmbedder
from hopscout.retrieval.options import MAX_HOPS
from hopscout.servers.mcp import MAX_PAGE, HopscoutMCPServer
from hopscout.servers.settings import ServerSettings

READS = {"get_documents", "peek_collection", "collection_info", "count_documents"}
WRITES = {"update_documents", "create_collection", "modify_collection", "drop_collection"}
# tool -> (readOnlyHint, destructiveHint, idempotentHint)
HINTS = {
    **dict.fromkeys(READS, (True, False, True)),
    "update_documents": (False, True, True),
    "create_collection": (False, False, True),
    "modify_collection": (False, True, True),
    "drop_collection": (False, True, True),
    "delete": (False, True, True),
    "add_documents": (False, False, True),
}
DOCS = [
    {"id": f"doc-{n:02d}", "text": text, "metadata": {"topic": topic, "n": n}}
    for n, (topic, text) in enumerate(
        [
            ("coffee", "Espresso tastes sour when it is under-extracted: grind finer."),
            ("space", "Venus is the hottest planet because of its thick carbon dioxide atmosphere."),
            ("baking", "A sourdough starter needs regular feeding with flour and water."),
            ("coffee", "A pour-over brew takes about three minutes with a medium grind."),
            ("space", "Jupiter's Great Red Spot is a storm larger than Earth."),
            ("baking", "Bread crust browns through the Maillard reaction in a hot oven."),
            ("coffee", "Cold brew steeps coarse grounds in cold water for twelve hours."),
        ]
    )
]


@pytest.fixture(scope="module")
def scout(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Iterator[Scout]:
    with Scout(home=tmp_path_factory.mktemp("home"), embedder=embedder) as made:
        yield made


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("roots")


@pytest.fixture(scope="module")
def servers(scout: Scout, roots: Path) -> dict[str, HopscoutMCPServer]:
    """The server with write tools, and a read-only one, over the same Scout."""
    return {
        "write": HopscoutMCPServer(ServerSettings(roots=[roots]), scout=scout),
        "read_only": HopscoutMCPServer(ServerSettings(roots=[roots], read_only=True), scout=scout),
    }


@asynccontextmanager
async def connect(server: HopscoutMCPServer) -> AsyncIterator[Client]:
    async with Client(server) as client:
        yield client


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text if result.content else result
    return dict(result.structured_content)


async def error(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool} accepted {arguments!r:.200}: {result.structured_content}"
    return str(result.content[0].text)


async def fresh_collection(client: Client, name: str) -> None:
    """``name`` holding exactly DOCS."""
    listed = await call(client, "list_collections")
    if name in {c["name"] for c in listed["collections"]}:
        await call(client, "drop_collection", collection=name)
    await call(client, "add_documents", documents=DOCS, collection=name)


# -- the tool list ------------------------------------------------------------------------------------------


async def test_tools_annotations_and_read_only_hiding(servers: dict[str, HopscoutMCPServer]) -> None:
    async with connect(servers["write"]) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert READS | WRITES <= set(listed)
        for name, (read_only, destructive, idempotent) in HINTS.items():
            hints = listed[name].annotations
            assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint) == (
                read_only,
                destructive,
                idempotent,
            ), name
            assert listed[name].output_schema, name
        assert "replaces it whole" in str(listed["add_documents"].description)
    async with connect(servers["read_only"]) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert READS <= names
        assert not names & (WRITES | {"add_documents", "delete", "ingest"})
        assert "unknown tool 'drop_collection'" in await error(client, "drop_collection", collection="docs")


async def test_limits_are_in_the_json_schema(servers: dict[str, HopscoutMCPServer]) -> None:
    async with connect(servers["write"]) as client:
        schemas = {tool.name: tool.input_schema["properties"] for tool in (await client.list_tools()).tools}

        def bounds(tool: str, field: str) -> tuple[Any, Any]:
            return schemas[tool][field].get("minimum"), schemas[tool][field].get("maximum")

        assert bounds("search", "k") == (1, 100)
        assert bounds("search", "hops") == (1, MAX_HOPS)  # the core's own limit
        assert bounds("find_tools", "k") == (1, 50)
        assert bounds("get_documents", "limit") == (1, MAX_PAGE)
        assert bounds("get_documents", "offset") == (0, None)
        assert bounds("peek_collection", "limit") == (1, MAX_PAGE)
        assert schemas["get_documents"]["ids"]["anyOf"][0]["maxItems"] >= 100
        # one more than the core's largest is refused by the schema, before the core sees it
        assert "less than or equal to" in await error(client, "search", query="x", hops=MAX_HOPS + 1)
        assert "less than or equal to" in await error(client, "get_documents", limit=MAX_PAGE + 1)
        assert "greater than or equal to" in await error(client, "get_documents", offset=-1)


# -- reading ------------------------------------------------------------------------------------------------


async def test_get_peek_count_info(servers: dict[str, HopscoutMCPServer]) -> None:
    async with connect(servers["write"]) as client:
        await fresh_collection(client, "reads")
        by_ids = await call(client, "get_documents", ids=["doc-03", "nope", "doc-01"], collection="reads")
        assert [d["id"] for d in by_ids["documents"]] == ["doc-03", "doc-01"]  # the order asked for
        assert by_ids["missing"] == ["nope"]
        assert by_ids["documents"][0] == {**DOCS[3], "flags": []}  # no hs_* key leaks out
        coffee = await call(client, "get_documents", where={"topic": "coffee"}, collection="reads")
        assert sorted(d["id"] for d in coffee["documents"]) == ["doc-00", "doc-03", "doc-06"]
        both = await call(
            client, "get_documents", ids=["doc-00", "doc-01"], where={"topic": "coffee"}, collection="reads"
        )
        assert [d["id"] for d in both["documents"]] == ["doc-00"] and both["missing"] == ["doc-01"]

        seen: list[str] = []
        offset: int | None = 0
        while offset is not None:  # pages of 3 cover every document once
            page = await call(client, "get_documents", limit=3, offset=offset, collection="reads")
            assert len(page["documents"]) <= 3 and page["offset"] == offset
            seen += [d["id"] for d in page["documents"]]
            offset = page["next_offset"]
        assert sorted(seen) == [d["id"] for d in DOCS]

        peeked = await call(client, "peek_collection", limit=2, collection="reads")
        assert [d["id"] for d in peeked["documents"]] == seen[:2]
        assert await call(client, "count_documents", collection="reads") == {
            "collection": "reads",
            "count": len(DOCS),
        }
        info = await call(client, "collection_info", collection="reads")
        assert (info["name"], info["count"], info["dim"], info["metadata"]) == ("reads", len(DOCS), 384, {})
        # an unknown collection is answered with those that exist
        for tool in ("get_documents", "peek_collection", "collection_info", "count_documents"):
            message = await error(client, tool, collection="no-such-collection")
            assert "No collection 'no-such-collection'" in message and "'reads'" in message, tool
    async with connect(servers["read_only"]) as client:  # reads stay available read-only
        assert (await call(client, "count_documents", collection="reads"))["count"] == len(DOCS)


# -- writing ------------------------------------------------------------------------------------------------


async def test_update_documents_re_embeds_and_keeps_both_indexes_right(
    servers: dict[str, HopscoutMCPServer],
) -> None:
    async with connect(servers["write"]) as client:
        await fresh_collection(client, "updates")
        new_text = "Chamomile tea is brewed from dried flowers and has no caffeine."
        updated = await call(
            client,
            "update_documents",
            documents=[
                {"id": "doc-00", "text": new_text, "metadata": {"topic": "tea", "n": None}},
                {"id": "doc-01", "metadata": {"checked": True}},
            ],
            collection="updates",
        )
        assert updated["ids"] == ["doc-00", "doc-01"]
        got = {
            d["id"]: d
            for d in (await call(client, "get_documents", ids=["doc-00", "doc-01"], collection="updates"))[
                "documents"
            ]
        }
        assert got["doc-00"]["text"] == new_text and got["doc-00"]["metadata"] == {"topic": "tea"}
        assert got["doc-01"]["text"] == DOCS[1]["text"]
        assert got["doc-01"]["metadata"] == {**DOCS[1]["metadata"], "checked": True}

        async def top(query: str, mode: str, where: dict[str, Any] | None = None) -> list[str]:
            found = await call(
                client, "search", query=query, mode=mode, where=where, collection="updates", k=1
            )
            return [hit["id"] for hit in found["hits"]]

        for mode in ("lexical", "dense", "hybrid"):  # the new text is found in every mode
            assert await top("chamomile flowers caffeine", mode) == ["doc-00"], mode
        assert await top("espresso under-extracted sour", "lexical") != ["doc-00"]  # the old words are gone
        # the removed key filters nothing on either side
        assert await top("chamomile", "lexical", {"n": 0}) == []
        assert await top("chamomile", "dense", {"n": 0}) == []
        assert await top("chamomile", "dense", {"topic": "tea"}) == ["doc-00"]

        message = await error(
            client,
            "update_documents",
            documents=[{"id": "doc-02", "text": "x"}, {"id": "ghost"}],
            collection="updates",
        )
        assert "'ghost'" in message and "add_documents" in message
        unchanged = await call(client, "get_documents", ids=["doc-02"], collection="updates")
        assert unchanged["documents"][0]["text"] == DOCS[2]["text"]  # nothing written
        assert "needs a new text and/or metadata" in await error(
            client, "update_documents", documents=[{"id": "doc-02"}], collection="updates"
        )


async def test_add_documents_replaces_an_existing_id_whole(servers: dict[str, HopscoutMCPServer]) -> None:
    async with connect(servers["write"]) as client:
        await fresh_collection(client, "replace")
        await call(
            client,
            "add_documents",
            documents=[{"id": "doc-04", "text": "Saturn has rings.", "metadata": {"topic": "space"}}],
            collection="replace",
        )
        got = await call(client, "get_documents", ids=["doc-04"], collection="replace")
        assert got["documents"][0]["metadata"] == {"topic": "space"}  # the old "n" key is gone
        assert (await call(client, "get_documents", where={"n": 4}, collection="replace"))["documents"] == []


async def test_create_modify_drop_collection(servers: dict[str, HopscoutMCPServer], scout: Scout) -> None:
    async with connect(servers["write"]) as client:
        listed = await call(client, "list_collections")
        for name in ("projects", "projects-2024"):
            if name in {c["name"] for c in listed["collections"]}:
                await call(client, "drop_collection", collection=name)
        created = await call(
            client, "create_collection", collection="projects", metadata={"owner": "ana", "v": 1}
        )
        assert (created["name"], created["count"], created["metadata"]) == (
            "projects",
            0,
            {"owner": "ana", "v": 1},
        )
        assert "already exists" in await error(client, "create_collection", collection="projects")
        assert "reserved" in await error(
            client, "create_collection", collection="projects-x", metadata={"hopscout:dim": 3}
        )
        await call(client, "add_documents", documents=DOCS[:3], collection="projects")

        modified = await call(
            client,
            "modify_collection",
            collection="projects",
            metadata={"owner": None, "team": "data"},
            new_name="projects-2024",
        )
        assert (modified["name"], modified["count"]) == ("projects-2024", 3)
        assert modified["metadata"] == {"v": 1, "team": "data"}
        assert "No collection 'projects'" in await error(client, "count_documents", collection="projects")
        found = await call(client, "search", query="hottest planet", collection="projects-2024", k=1)
        assert found["hits"][0]["id"] == "doc-01"  # vectors and keyword index followed the rename
        lexical = await call(client, "search", query="sourdough", mode="lexical", collection="projects-2024")
        assert lexical["hits"][0]["id"] == "doc-02"
        await fresh_collection(client, "taken")
        assert "already exists" in await error(
            client, "modify_collection", collection="projects-2024", metadata={"v": 2}, new_name="taken"
        )
        kept = await call(client, "collection_info", collection="projects-2024")
        assert kept["metadata"] == {"v": 1, "team": "data"}  # a refused rename changes nothing
        assert "needs metadata" in await error(client, "modify_collection", collection="projects-2024")

        # delete without arguments points to drop_collection, which exists and drops
        assert "drop_collection" in await error(client, "delete", collection="projects-2024")
        dropped = await call(client, "drop_collection", collection="projects-2024")
        assert dropped == {"collection": "projects-2024", "deleted": 3}
        names = {c["name"] for c in (await call(client, "list_collections"))["collections"]}
        assert "projects-2024" not in names and "taken" in names
        message = await error(client, "drop_collection", collection="projects-2024")
        assert "No collection 'projects-2024'" in message and "'taken'" in message
        tools = scout.settings.tools_collection
        assert "tool catalog" in await error(client, "drop_collection", collection=tools)


# -- ingest -------------------------------------------------------------------------------------------------


async def test_ingest_reports_skipped_files_with_reasons(
    servers: dict[str, HopscoutMCPServer], roots: Path
) -> None:
    folder = roots / "notes"
    folder.mkdir()
    (folder / "kept.md").write_text("# Notes\n\nThe meeting moved to Thursday at ten.")
    (folder / "table.csv").write_text("a,b\n1,2\n")
    (folder / ".secret.txt").write_text("token=abc")
    (folder / "empty.txt").write_text("")
    async with connect(servers["write"]) as client:
        report = await call(client, "ingest", path="notes", collection="ingested")
    assert [Path(p).name for p in report["added"]] == ["kept.md"]
    skipped = {Path(p).name: reason for p, reason in report["skipped"].items()}
    assert skipped["table.csv"] == "unsupported type (.csv)"
    assert skipped[".secret.txt"] == "hidden file"
    assert skipped["empty.txt"].startswith("no text to index")
    assert set(skipped) == {"table.csv", ".secret.txt", "empty.txt"}
