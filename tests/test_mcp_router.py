"""Router mode through a real client: hopscout indexes the tools of two real upstream MCP servers (one stdio,
one streamable HTTP, both started by the test), finds them with find_tools, forwards call_tool, and
re-indexes when an upstream announces tools/list_changed; the same with two SDK v1 servers (their logs stay
free of the discover probe's validation errors); a read-only router offers only the tools it forwards; every
tool hit carries its MCP annotations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("hopscout.tools")

from mcp import Client, StdioServerParameters
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import Tool, ToolAnnotations
from mcp_helpers import SCRIPT, HttpServer, server_env, stdio_params

from hopscout import Scout, Settings, ToolCatalog
from hopscout.bench.server import free_port
from hopscout.errors import InvalidArgumentError
from hopscout.servers.mcp import HopscoutMCPServer
from hopscout.servers.router import Router, Upstream, load_upstreams
from hopscout.servers.settings import ServerSettings

UPSTREAM = str(Path(__file__).parent / "mcp_upstream.py")
MCP1_UPSTREAM = str(Path(__file__).parent / "mcp1_upstream.py")
MCP1_PYTHON = os.environ.get("HOPSCOUT_TEST_MCP1_PYTHON")  # a Python with mcp==1.30.0 (.ci/run makes one)
# What a v1 server logs of a server/discover probe: over stdio a 31-line validation error, over HTTP a 400.
FLOOD = ("validation error", "Failed to validate", "Bad Request")


def _data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text if result.content else result
    return result.structured_content


async def _find(client: Client, request: str, **args: Any) -> list[str]:
    found = _data(await client.call_tool("find_tools", {"request": request, **args}))
    return [tool["name"] for tool in found["tools"]]


async def _found(client: Client, request: str, **args: Any) -> dict[str, dict[str, Any]]:
    found = _data(await client.call_tool("find_tools", {"request": request, **args}))
    return {tool["name"]: tool for tool in found["tools"]}


def _servers(path: Path, servers: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"mcpServers": servers}))
    return path


async def test_router_find_call_and_list_changed(tmp_path: Path) -> None:
    port = free_port()
    notes = HttpServer(
        [sys.executable, UPSTREAM, "notes", "--port", str(port)],
        server_env(tmp_path / "unused"),
        port,
        tmp_path / "notes.log",
    )
    # weather serves only the 2026-07-28 era: the router's default handshake is refused (-32022) and it connects
    # again with server/discover, then hears tools/list_changed through subscriptions/listen. notes (a dual-era
    # v2 server) is connected with the handshake, the default.
    config = _servers(
        tmp_path / "servers.json",
        {
            "weather": {"command": sys.executable, "args": [UPSTREAM, "weather", "--modern-only"]},
            "notes": {"url": notes.url},
        },
    )
    try:
        async with Client(stdio_params(tmp_path / "home", "--upstream", str(config))) as client:
            listed = {tool.name: tool for tool in (await client.list_tools()).tools}
            assert {"find_tools", "call_tool", "search"} <= set(listed)
            assert listed["call_tool"].annotations.open_world_hint is True

            found = _data(
                await client.call_tool("find_tools", {"request": "weather forecast for a city", "k": 3})
            )
            assert found["tools"][0]["name"] == "weather/get_forecast"
            assert found["tools"][0]["input_schema"]["required"] == ["city"]
            assert found["tools"][0]["annotations"] == {"title": "Weather forecast", "readOnlyHint": True}
            called = await client.call_tool(
                "call_tool", {"name": found["tools"][0]["name"], "arguments": {"city": "Paris", "days": 2}}
            )
            forecast = _data(called)
            assert forecast["city"] == "Paris" and len(forecast["days"]) == 2
            print(
                "\nfind_tools →",
                json.dumps(
                    {
                        "request": found["request"],
                        "tools": [(t["name"], round(t["score"], 3)) for t in found["tools"]],
                    }
                ),
            )
            print("call_tool weather/get_forecast →", json.dumps(forecast))

            # one query per capability: each capability gets its own tool
            both = await _find(
                client,
                "save a note about the temperature in Fahrenheit",
                queries=["write down a note", "convert celsius to fahrenheit"],
                k=4,
            )
            assert {"notes/create_note", "weather/convert_temperature"} <= set(both)
            note = _data(
                await client.call_tool(
                    "call_tool",
                    {"name": "notes/create_note", "arguments": {"title": "Paris", "body": "21 C"}},
                )
            )
            assert note["id"] == "n1"
            assert (
                _data(
                    await client.call_tool(
                        "call_tool",
                        {
                            "name": "search_notes",  # unique bare name
                            "arguments": {"text": "paris"},
                        },
                    )
                )["result"][0]["id"]
                == "n1"
            )

            unknown = await client.call_tool("call_tool", {"name": "weather/teleport", "arguments": {}})
            assert unknown.is_error and "find_tools" in unknown.content[0].text
            bad = await client.call_tool(
                "call_tool", {"name": "weather/get_forecast", "arguments": {"days": 2}}
            )
            assert bad.is_error and "city" in bad.content[0].text  # the upstream's own validation error

            # tools/list_changed: the upstream gains a tool and the router indexes it
            assert "weather/get_air_quality" not in await _find(client, "air quality index in a city", k=3)
            _data(
                await client.call_tool("call_tool", {"name": "weather/enable_air_quality", "arguments": {}})
            )
            with anyio.fail_after(60):
                while "weather/get_air_quality" not in await _find(
                    client, "air quality index in a city", k=3
                ):
                    await anyio.sleep(0.3)
            air = _data(
                await client.call_tool(
                    "call_tool", {"name": "weather/get_air_quality", "arguments": {"city": "Lyon"}}
                )
            )
            assert air == {"city": "Lyon", "aqi": 42, "pollutant": "pm2.5"}
    finally:
        notes.stop()


async def test_read_only_router_offers_only_the_tools_it_forwards(tmp_path: Path) -> None:
    """--read-only: find_tools searches only the tools call_tool would forward (marked readOnlyHint), so a
    write tool that fits the request best is not offered and k read-only tools still come back."""
    port = free_port()
    notes = HttpServer(
        [sys.executable, UPSTREAM, "notes", "--port", str(port)],
        server_env(tmp_path / "unused"),
        port,
        tmp_path / "notes.log",
    )
    config = _servers(
        tmp_path / "servers.json",
        {"weather": {"command": sys.executable, "args": [UPSTREAM, "weather"]}, "notes": {"url": notes.url}},
    )
    readers = {"weather/get_forecast", "weather/convert_temperature", "notes/search_notes"}
    try:
        async with Client(
            stdio_params(tmp_path / "home", "--upstream", str(config), "--read-only")
        ) as client:
            found = await _found(client, "create a new note", k=3)
            assert set(found) == readers  # create_note fits best, but call_tool would refuse it
            assert all(tool["annotations"]["readOnlyHint"] is True for tool in found.values())
            assert set(await _find(client, "delete a note", queries=["remove a saved note"], k=3)) == readers
            named = await _find(
                client, "notes/delete_note", k=3
            )  # a tool named outright is not offered either
            assert "notes/delete_note" not in named

            refused = await client.call_tool("call_tool", {"name": "notes/create_note", "arguments": {}})
            assert refused.is_error and "read-only" in refused.content[0].text
            arguments = {
                "weather/get_forecast": {"city": "Oslo"},
                "weather/convert_temperature": {"value": 20},
                "notes/search_notes": {"text": "x"},
            }
            for name in found:  # whatever find_tools offers, call_tool forwards
                called = await client.call_tool("call_tool", {"name": name, "arguments": arguments[name]})
                assert not called.is_error, called.content

        async with Client(stdio_params(tmp_path / "home", "--upstream", str(config))) as client:
            found = await _found(client, "create a new note", k=3)
            assert next(iter(found)) == "notes/create_note"  # the same catalog, not read-only: offered first
            assert found["notes/create_note"]["annotations"] == {
                "readOnlyHint": False,
                "destructiveHint": False,
                "openWorldHint": False,
            }
    finally:
        notes.stop()


async def test_find_tools_hits_carry_the_annotations_tools_were_registered_with(
    tmp_path: Path, embedder: Any
) -> None:
    """Tools registered in the catalog (not by the router) keep their MCP annotations; a tool that came without
    any (an OpenAI function) has none on its hit."""
    scout = Scout(Settings(home=tmp_path / "home"), embedder=embedder)
    try:
        catalog = ToolCatalog(scout)
        catalog.register(
            [
                Tool(
                    name="read_file",
                    description="Read the text of a file on disk.",
                    input_schema={"type": "object", "properties": {"path": {"type": "string"}}},
                    annotations=ToolAnnotations(
                        title="Read file", read_only_hint=True, open_world_hint=False
                    ),
                ),
                {
                    "name": "write_file",
                    "description": "Write text to a file on disk, replacing it.",
                    "inputSchema": {"type": "object"},
                    "annotations": {"readOnlyHint": False, "destructiveHint": True},
                },
                {
                    "type": "function",
                    "function": {"name": "list_files", "description": "List files in a folder."},
                },
            ],
            namespace="fs",
        )
        assert catalog.find_tools("write text to a file", k=1, read_only=True).keys == ["fs/read_file"]
        async with Client(HopscoutMCPServer(ServerSettings(), scout=scout)) as client:
            found = await _found(client, "a file on disk", k=3)
        assert found["fs/read_file"]["annotations"] == {
            "title": "Read file",
            "readOnlyHint": True,
            "openWorldHint": False,
        }
        assert found["fs/write_file"]["annotations"] == {"readOnlyHint": False, "destructiveHint": True}
        assert found["fs/list_files"]["annotations"] is None
    finally:
        scout.close()


def _mcp1_python() -> str:
    if not MCP1_PYTHON:
        pytest.skip("no SDK v1 Python: set HOPSCOUT_TEST_MCP1_PYTHON to a venv's python with mcp==1.30.0")
    version = subprocess.run(
        [MCP1_PYTHON, "-c", "import importlib.metadata as m; print(m.version('mcp'))"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    assert version.startswith("1."), f"HOPSCOUT_TEST_MCP1_PYTHON={MCP1_PYTHON} has no mcp 1.x ({version!r})"
    return MCP1_PYTHON


async def test_router_with_sdk_v1_upstreams_and_quiet_logs(tmp_path: Path) -> None:
    """Two real SDK v1 (mcp 1.30.0 FastMCP) servers, one stdio and one streamable HTTP: the router connects with
    the initialize handshake, so their logs hold none of the errors a server/discover probe causes there; their
    tools are indexed, found (with their annotations) and called."""
    python = _mcp1_python()
    port = free_port()
    tasks = HttpServer(
        [python, MCP1_UPSTREAM, "tasks", "--port", str(port)],
        server_env(tmp_path / "unused"),
        port,
        tmp_path / "tasks.log",
    )
    calendar_log = tmp_path / "calendar.stderr"
    config = _servers(
        tmp_path / "servers.json",
        {
            "calendar": {
                "command": python,
                "args": [MCP1_UPSTREAM, "calendar", "--stderr", str(calendar_log)],
            },
            "tasks": {"url": tasks.url},
        },
    )
    try:
        async with Client(stdio_params(tmp_path / "home", "--upstream", str(config))) as client:
            found = _data(await client.call_tool("find_tools", {"request": "show my agenda for a date"}))
            assert found["note"] is None  # no upstream failed
            top = found["tools"][0]
            assert top["name"] == "calendar/list_events" and top["input_schema"]["required"] == ["day"]
            assert top["annotations"] == {"title": "List events", "readOnlyHint": True}
            events = _data(
                await client.call_tool("call_tool", {"name": top["name"], "arguments": {"day": "2025-05-06"}})
            )
            assert events == {"result": ["dentist at 9"]}

            assert (await _find(client, "add an item to my to-do list", k=1)) == ["tasks/add_task"]
            task = _data(
                await client.call_tool(
                    "call_tool", {"name": "tasks/add_task", "arguments": {"text": "buy milk"}}
                )
            )
            assert task == {"number": 1, "text": "buy milk", "done": False}
            listed = _data(
                await client.call_tool("call_tool", {"name": "tasks/list_open_tasks", "arguments": {}})
            )
            assert listed == {"result": [task]}
    finally:
        tasks.stop()
    calendar_said, tasks_said = calendar_log.read_text(), tasks.log.read_text()
    assert "CallToolRequest" in calendar_said and "POST /mcp" in tasks_said  # their logs were captured
    for said in (calendar_said, tasks_said):
        assert not [flood for flood in FLOOD if flood in said], said[-3000:]


async def test_sdk_v1_server_logs_the_discover_probe(tmp_path: Path) -> None:
    """Why the router opens with the handshake: the SDK's default mode (and the router's "protocol": "auto")
    probes server/discover first, which a v1 server logs as a 31-line validation error before the fallback."""
    python = _mcp1_python()
    log = tmp_path / "calendar.stderr"
    params = StdioServerParameters(command=python, args=[MCP1_UPSTREAM, "calendar", "--stderr", str(log)])
    async with Client(params, mode="auto") as client:
        assert client.protocol_version == "2025-11-25"  # it did fall back
    assert "31 validation errors" in log.read_text()


async def test_read_only_router_forwards_only_read_only_tools() -> None:
    up = Upstream("files", {"type": "stdio", "command": "x"})
    up.tools = {
        "write": Tool(name="write", input_schema={"type": "object"}),
        "read": Tool(
            name="read", input_schema={"type": "object"}, annotations=ToolAnnotations(read_only_hint=True)
        ),
    }
    up.ready.set()
    router = Router([up], catalog=lambda: None, read_only=True)
    with pytest.raises(ToolError, match="read-only"):
        await router.call("files/write", {})
    with pytest.raises(ToolError, match="not connected"):
        await router.call("files/read", {})  # allowed, but this upstream has no live client


def test_upstream_config_errors(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="mcpServers"):
        load_upstreams({"servers": {}})
    with pytest.raises(InvalidArgumentError, match='needs a "command"'):
        load_upstreams({"mcpServers": {"a": {"type": "stdio"}}})
    with pytest.raises(InvalidArgumentError, match="sse"):
        load_upstreams({"mcpServers": {"a": {"type": "sse", "url": "http://x"}}})
    with pytest.raises(InvalidArgumentError, match="protocol '2025-06-18'.*'legacy', 'auto', '2026-07-28'"):
        load_upstreams({"mcpServers": {"a": {"url": "http://x/mcp", "protocol": "2025-06-18"}}})
    modes = {
        "a": {"url": "http://x/mcp", "protocol": "auto"},
        "b": {"command": "x", "protocol": "2026-07-28"},
    }
    assert [u.config["protocol"] for u in load_upstreams({"mcpServers": modes})] == ["auto", "2026-07-28"]
    assert [u.name for u in load_upstreams({"servers": {"gh": {"type": "http", "url": "http://x/mcp"}}})] == [
        "gh"
    ]
    bad = tmp_path / "servers.json"
    bad.write_text("{not json")
    done = subprocess.run(
        [SCRIPT, "--upstream", str(bad)],
        check=False,
        env=server_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "not valid JSON" in done.stderr and done.stdout == ""
