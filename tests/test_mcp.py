"""hopscout's MCP server through real clients: the SDK client over stdio and streamable HTTP, and the MCP
Inspector CLI over both. Every server is its own process with its own HOPSCOUT_HOME."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

from hopscout import Hit
from hopscout.agent_view import hits_text
from hopscout.bench.server import free_port
from hopscout.demo import SAMPLE_DIR as SAMPLE
from hopscout.servers.bench import INITIALIZE

pytest.importorskip("mcp.server.mcpserver")

from faces import (
    COLLECTION,
    FIELD_SEARCH,
    FLAGGED_COLLECTION,
    FLAGGED_DOCS,
    QUERY,
    check_every_field_is_set,
    check_list_text,
)
from mcp_helpers import (
    SCRIPT,
    SERVER,
    HttpServer,
    http_client,
    inspector,
    node_bin,
    server_env,
    stdio_params,
)

TOKEN = "test-token-7-long-enough-for-the-32-character-minimum"
WRITE_TOOLS = {
    "add_documents",
    "ingest",
    "delete",
    "update_documents",
    "create_collection",
    "modify_collection",
    "drop_collection",
}
READ_TOOLS = {
    "search",
    "find_tools",
    "list_collections",
    "get_documents",
    "peek_collection",
    "collection_info",
    "count_documents",
}
DOCS = [
    {
        "text": "Grind finer when espresso tastes sour; sourness means under-extraction.",
        "metadata": {"topic": "coffee"},
        "id": "coffee-1",
    },
    {
        "text": "Venus is the hottest planet because of its thick carbon dioxide atmosphere.",
        "metadata": {"topic": "space"},
        "id": "space-1",
    },
    {
        "text": "A sourdough starter needs regular feeding with flour and water.",
        "metadata": {"topic": "baking"},
        "id": "baking-1",
    },
]


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An allowed root with the bundled sample corpus, and a folder big enough for a seconds-long ingest."""
    root = tmp_path_factory.mktemp("roots")
    shutil.copytree(SAMPLE, root / "sample", ignore=shutil.ignore_patterns("README.md"))
    bulk = root / "bulk"
    bulk.mkdir()
    for n in range(40):
        paragraphs = [
            f"Section {s} of report {n}: measurement series {n}-{s} recorded pressure, humidity and "
            f"temperature at station {n * 7 + s}, with calibration notes and a summary of anomalies."
            for s in range(12)
        ]
        (bulk / f"report-{n:02d}.md").write_text(f"# Report {n}\n\n" + "\n\n".join(paragraphs))
    return root


@pytest.fixture(scope="module")
def http_server(roots: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    """`hopscout-mcp --transport http` with a bearer token (required here: HOPSCOUT_TOKEN is set)."""
    home = tmp_path_factory.mktemp("http-home")
    port = free_port()
    env = server_env(home, token=TOKEN, roots=str(roots))
    server = HttpServer([SCRIPT, "--transport", "http", "--port", str(port)], env, port, home / "server.log")
    yield server
    server.stop()


def _data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text if result.content else result
    return result.structured_content


def _error(result: Any) -> str:
    assert result.is_error, f"expected an error, got {result.structured_content or result.content}"
    return result.content[0].text


# -- SDK client over stdio -------------------------------------------------------------------------------


async def test_stdio_sdk_every_tool_and_bad_input(tmp_path: Path, roots: Path) -> None:
    """tools/list and tools/call of each tool over stdio, typed results, progress, and bad input that gets a
    clear tool error while the server keeps serving; nothing but protocol on stdout."""
    stray: list[Any] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):  # a line on stdout that is not JSON-RPC lands here
            stray.append(message)

    async with Client(
        stdio_params(tmp_path / "home", "--root", str(roots)), message_handler=on_message
    ) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(listed) == READ_TOOLS | WRITE_TOOLS
        for name in ("search", "find_tools", "list_collections"):
            assert listed[name].annotations.read_only_hint is True
        assert listed["delete"].annotations.destructive_hint is True
        assert listed["add_documents"].annotations.read_only_hint is False
        assert all(tool.output_schema for name, tool in listed.items())
        assert {"query", "k", "where", "collection", "mode"} <= set(
            listed["search"].input_schema["properties"]
        )
        assert (
            "capability" in listed["find_tools"].description
            and "One query per" in listed["find_tools"].description
        )

        added = _data(await client.call_tool("add_documents", {"documents": DOCS, "collection": "notes"}))
        assert added == {"collection": "notes", "ids": ["coffee-1", "space-1", "baking-1"]}

        found = _data(
            await client.call_tool(
                "search", {"query": "why is my espresso sour", "k": 2, "collection": "notes"}
            )
        )
        assert found["hits"][0]["id"] == "coffee-1" and len(found["hits"]) == 2
        assert set(found["hits"][0]) >= {"id", "text", "score", "source", "metadata", "scores"}
        assert {"hops", "augment", "expansion"} <= set(listed["search"].input_schema["properties"])
        expanded = _data(
            await client.call_tool(
                "search",
                {
                    "query": "bitter or sour?",
                    "k": 1,
                    "collection": "notes",
                    "expansion": "espresso grind under-extraction",
                },
            )
        )
        assert expanded["hits"][0]["id"] == "coffee-1" and expanded["hits"][0]["scores"]["augmented"] == 1.0
        assert (
            "augment: Input should be 'never', 'always' or 'auto'"
            in _error(  # the schema names the values
                await client.call_tool(
                    "search", {"query": "coffee", "collection": "notes", "augment": "sometimes"}
                )
            )
        )
        filtered = _data(
            await client.call_tool(
                "search",
                {"query": "planet", "collection": "notes", "where": {"topic": "baking"}, "mode": "lexical"},
            )
        )
        assert [h["id"] for h in filtered["hits"]] in ([], ["baking-1"])

        progress: list[tuple[float, float | None]] = []

        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            progress.append((done, total))

        report = _data(
            await client.call_tool(
                "ingest",
                {"path": str(roots / "sample"), "collection": "sample"},
                progress_callback=on_progress,
            )
        )
        assert len(report["added"]) == 7 and report["failed"] == {} and report["chunks"] > 0
        assert progress and progress[-1] == (report["chunks"], report["chunks"])
        again = _data(
            await client.call_tool("ingest", {"path": "sample", "collection": "sample"})
        )  # relative
        assert len(again["unchanged"]) == 7 and again["chunks"] == 0

        collections = {
            c["name"]: c for c in _data(await client.call_tool("list_collections", {}))["collections"]
        }
        assert collections["notes"]["count"] == 3 and collections["sample"]["count"] == report["chunks"]

        deleted = _data(
            await client.call_tool("delete", {"where": {"topic": "space"}, "collection": "notes"})
        )
        assert deleted == {"collection": "notes", "deleted": 1}

        # find_tools on a store with no tool catalog yet: no tools, and a note that says why
        none = _data(await client.call_tool("find_tools", {"request": "send an email"}))
        assert none["tools"] == [] and "catalog" in none["note"]

        # bad input: each is a tool error that says what to fix
        assert "k:" in _error(await client.call_tool("search", {"query": "x", "k": "many"}))
        assert "query" in _error(await client.call_tool("search", {"k": 3}))
        assert "HOPSCOUT_MAX_QUERY_CHARS" in _error(
            await client.call_tool("search", {"query": "word " * 2000})
        )
        assert "unknown tool 'summon'" in _error(await client.call_tool("summon", {}))
        assert "outside" in _error(await client.call_tool("ingest", {"path": "/etc"}))
        assert "outside" in _error(await client.call_tool("ingest", {"path": str(roots / ".." / "..")}))
        assert "nosuch" in _error(
            await client.call_tool("search", {"query": "coffee", "collection": "nosuch"})
        )
        assert "ids or a where" in _error(await client.call_tool("delete", {"collection": "notes"}))
        assert "documents" in _error(await client.call_tool("add_documents", {"documents": "not a list"}))

        # ... and the server keeps serving
        assert (
            _data(
                await client.call_tool(
                    "search", {"query": "sourdough starter", "k": 1, "collection": "notes"}
                )
            )["hits"][0]["id"]
            == "baking-1"
        )
    assert stray == []


async def test_stdio_read_only_hides_write_tools(tmp_path: Path, roots: Path) -> None:
    async with Client(stdio_params(tmp_path / "home", "--read-only", "--root", str(roots))) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert names == READ_TOOLS
        assert "unknown tool 'add_documents'" in _error(
            await client.call_tool("add_documents", {"documents": DOCS})
        )


def _hits(found: dict[str, Any]) -> list[Hit]:
    """The structured result's hits as the core's :class:`Hit` values."""
    return [
        Hit(**{**{k: v for k, v in hit.items() if k != "source"}, "flags": tuple(hit["flags"])})
        for hit in found["hits"]
    ]


async def test_search_hits_carry_every_field_of_a_hit(tmp_path: Path, roots: Path) -> None:
    """Over a real stdio client, the search tool's hits carry every field of a hit (hop, parent and note too),
    and its text, what the model reads, is the core's text of the same hits: the search's confidence, a flagged
    passage fenced as data under a warning, each later hop with the passage that led to it."""
    settings = {"hop_operator": FIELD_SEARCH["hop_operator"], "augmenter": FIELD_SEARCH["augmenter"]}
    async with Client(stdio_params(tmp_path / "home", "--root", str(roots), **settings)) as client:
        _data(await client.call_tool("ingest", {"path": "sample", "collection": COLLECTION}))
        result = await client.call_tool(
            "search",
            {
                "query": QUERY,
                "k": 6,
                "collection": COLLECTION,
                "hops": 2,
                "augment": FIELD_SEARCH["augment"],
            },
        )
        found = _data(result)
        documents = [{"id": i, "text": text, "metadata": meta} for i, text, meta in FLAGGED_DOCS]
        _data(
            await client.call_tool(
                "add_documents", {"documents": documents, "collection": FLAGGED_COLLECTION}
            )
        )
        flagged = await client.call_tool("search", {"query": QUERY, "k": 4, "collection": FLAGGED_COLLECTION})
    for said in (result, flagged):
        hits = _hits(_data(said))
        assert len(said.content) == 1 and said.content[0].text == hits_text(hits)
        check_list_text(said.content[0].text, hits)
    assert any(h.flags for h in _hits(_data(flagged))) and any(h.hop == 2 for h in _hits(found))
    fields = [{**hit.pop("metadata"), **hit} for hit in found["hits"]]
    assert all(
        set(f)
        >= {
            "id",
            "text",
            "score",
            "scores",
            "source",
            "hop",
            "parent",
            "note",
            "confidence",
            "relevance",
            "flags",
        }
        for f in fields
    )
    assert found["confidence"] == fields[0]["confidence"]
    check_every_field_is_set(fields)


def test_stdio_initialize_latency_and_clean_stdout(tmp_path: Path, record_property: Any) -> None:
    """Raw JSON-RPC over the process's pipes: `initialize` answers before any model loads (the latency is
    recorded and printed, not asserted), and every stdout line is a JSON-RPC message."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        SERVER,
        env=server_env(tmp_path / "home"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    try:
        proc.stdin.write(json.dumps(INITIALIZE) + "\n")
        first = json.loads(proc.stdout.readline())
        latency = time.perf_counter() - start
        assert first["id"] == 1 and first["result"]["serverInfo"]["name"] == "hopscout"
        proc.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
        proc.stdin.write(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "tools/call",
                    "params": {"name": "list_collections", "arguments": {}},
                }
            )
            + "\n"
        )
        second = json.loads(proc.stdout.readline())
        assert second["id"] == 2 and second["result"]["structuredContent"] == {"collections": []}
    finally:
        proc.stdin.close()
        proc.wait(timeout=20)
    rest = proc.stdout.read()
    assert all(json.loads(line)["jsonrpc"] == "2.0" for line in rest.splitlines() if line.strip())
    record_property("initialize_seconds", round(latency, 3))
    print(f"\nstdio initialize answered {latency * 1000:.0f} ms after process start")


# -- SDK client over streamable HTTP ---------------------------------------------------------------------


def test_http_requires_token(http_server: HttpServer) -> None:
    body = INITIALIZE
    headers = {"Accept": "application/json, text/event-stream"}
    missing = httpx.post(http_server.url, json=body, headers=headers)
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert "HOPSCOUT_TOKEN" in missing.json()["error_description"]
    wrong = httpx.post(http_server.url, json=body, headers={**headers, "Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = httpx.post(http_server.url, json=body, headers={**headers, "Authorization": f"Bearer {TOKEN}"})
    assert right.status_code == 200


async def test_http_sdk_tools_and_structured_output(http_server: HttpServer) -> None:
    async with http_client(http_server.url, TOKEN) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(listed) == READ_TOOLS | WRITE_TOOLS
        assert _data(await client.call_tool("add_documents", {"documents": DOCS}))["ids"] == [
            d["id"] for d in DOCS
        ]
        hits = _data(await client.call_tool("search", {"query": "hottest planet", "k": 1}))["hits"]
        assert hits[0]["id"] == "space-1" and hits[0]["metadata"] == {"topic": "space"}
        text = (await client.call_tool("search", {"query": "hottest planet", "k": 1})).content[0].text
        # the same result as text, for the model and for clients without structured output
        assert text.startswith("Search confidence") and "id space-1 · " in text
        names = {c["name"] for c in _data(await client.call_tool("list_collections", {}))["collections"]}
        assert "default" in names
        assert "outside" in _error(await client.call_tool("ingest", {"path": "/usr"}))
        assert _data(await client.call_tool("delete", {"ids": ["baking-1"]}))["deleted"] == 1


async def test_http_twenty_calls_during_ingest(http_server: HttpServer, roots: Path) -> None:
    """20 concurrent searches while an ingest runs on the same server: all answered, ingest complete, the
    collection holds exactly the chunks the report counts."""
    async with http_client(http_server.url, TOKEN) as client:
        _data(await client.call_tool("add_documents", {"documents": DOCS, "collection": "concurrent"}))
        results: dict[str, Any] = {}

        async def ingest() -> None:
            results["ingest"] = await client.call_tool("ingest", {"path": "bulk", "collection": "bulk"})

        async def search(n: int) -> None:
            await anyio.sleep(0.05 * n)
            results[f"search-{n}"] = await client.call_tool(
                "search",
                {
                    "query": ["espresso sour", "hottest planet", "sourdough feeding"][n % 3],
                    "k": 1,
                    "collection": "concurrent",
                },
            )

        async with anyio.create_task_group() as group:
            group.start_soon(ingest)
            for n in range(20):
                group.start_soon(search, n)
        searches = [results[f"search-{n}"] for n in range(20)]
        assert all(not r.is_error and len(r.structured_content["hits"]) == 1 for r in searches)
        assert [r.structured_content["hits"][0]["id"] for r in searches[:3]] == [
            "coffee-1",
            "space-1",
            "baking-1",
        ]
        report = _data(results["ingest"])
        assert len(report["added"]) == 40 and report["failed"] == {}
        counts = {
            c["name"]: c["count"]
            for c in _data(await client.call_tool("list_collections", {}))["collections"]
        }
        assert counts["bulk"] == report["chunks"]
        last = _data(
            await client.call_tool(
                "search", {"query": "station 279 report 39", "collection": "bulk", "mode": "lexical", "k": 1}
            )
        )
        assert last["hits"][0]["source"].endswith("report-39.md")


async def test_http_token_optional_on_loopback(tmp_path: Path) -> None:
    port = free_port()
    server = HttpServer(
        [SCRIPT, "--transport", "http", "--port", str(port)],
        server_env(tmp_path / "home"),
        port,
        tmp_path / "server.log",
    )
    try:
        async with http_client(server.url) as client:
            assert "search" in {tool.name for tool in (await client.list_tools()).tools}
            assert _data(await client.call_tool("list_collections", {})) == {"collections": []}
    finally:
        server.stop()


def test_http_beyond_loopback_needs_token(tmp_path: Path) -> None:
    done = subprocess.run(
        [SCRIPT, "--transport", "http", "--host", "0.0.0.0"],
        check=False,
        env=server_env(tmp_path / "h"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "HOPSCOUT_TOKEN" in done.stderr and done.stdout == ""


def test_hopscout_serve_is_the_same_server() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "hopscout"), "serve", "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "--transport" in done.stdout and "--upstream" in done.stdout


def test_core_does_not_import_mcp() -> None:
    code = "import sys, hopscout, hopscout.cli; print(any(m.split('.')[0] == 'mcp' for m in sys.modules))"
    assert (
        subprocess.run(
            [sys.executable, "-c", code], check=False, capture_output=True, text=True
        ).stdout.strip()
        == "False"
    )


# -- the MCP Inspector CLI -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node() -> str:
    found = node_bin()
    if found is None and (os.environ.get("CI") or os.environ.get("HOPSCOUT_TEST_NODE")):
        pytest.fail(f"HOPSCOUT_TEST_NODE={os.environ.get('HOPSCOUT_TEST_NODE')!r} is not a Node >= 22.19")
    if found is None:
        pytest.skip(
            "the MCP Inspector needs Node >= 22.19: set HOPSCOUT_TEST_NODE (.ci/run installs node@22)"
        )
    return found


def test_inspector_stdio(node: str, tmp_path: Path) -> None:
    env_flags = ["-e", f"HOPSCOUT_HOME={tmp_path / 'home'}", "-e", "HF_HUB_OFFLINE=1"]
    listed = json.loads(inspector(node, *env_flags, SCRIPT, "--method", "tools/list"))
    assert {"search", "find_tools", "list_collections", "add_documents", "delete"} <= {
        t["name"] for t in listed["tools"]
    }
    called = json.loads(
        inspector(node, *env_flags, SCRIPT, "--method", "tools/call", "--tool-name", "list_collections")
    )
    assert called["structuredContent"] == {"collections": []} and not called.get("isError")


def test_inspector_http(node: str, http_server: HttpServer) -> None:
    async def add() -> None:
        async with http_client(http_server.url, TOKEN) as client:
            _data(await client.call_tool("add_documents", {"documents": DOCS, "collection": "inspector"}))

    anyio.run(add)
    auth = ["--transport", "http", "--header", f"Authorization: Bearer {TOKEN}"]
    listed = json.loads(inspector(node, http_server.url, *auth, "--method", "tools/list"))
    assert "ingest" in {t["name"] for t in listed["tools"]}
    called = json.loads(
        inspector(
            node,
            http_server.url,
            *auth,
            "--method",
            "tools/call",
            "--tool-name",
            "search",
            "--tool-arg",
            "query=which planet is the hottest",
            "--tool-arg",
            "k=1",
            "--tool-arg",
            "collection=inspector",
        )
    )
    assert called["structuredContent"]["hits"][0]["id"] == "space-1"


def test_every_server_setting_is_in_the_readme() -> None:
    from hopscout.servers.settings import ServerSettings

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for name in ServerSettings.model_fields:
        assert f"`HOPSCOUT_{name.upper()}`" in readme, name


def test_search_tool_takes_the_agent_options_of_the_core() -> None:
    """The search options the core marks for agents (hops, augment, expansion) join the tool schema with the
    core's own description; tuning knobs (beam, fusion_weight, ...) do not."""
    from hopscout import SearchOptions
    from hopscout.servers.mcp import search_extras

    extras = search_extras()
    assert [(p.name, p.default) for p in extras] == [("hops", 1), ("augment", None), ("expansion", None)]
    described = {p.name: p.annotation.__metadata__[0].description for p in extras}
    assert described == {f.name: f.metadata["agent"] for f in SearchOptions.agent_options()}
    assert not {"beam", "fusion_weight", "hop_fill", "where"} & set(described)
