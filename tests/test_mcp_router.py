"""Router mode through a real client: hopscout indexes the tools of two real upstream MCP servers (one stdio,
one streamable HTTP, both started by the test), finds them with find_tools, forwards call_tool, and
re-indexes when an upstream announces tools/list_changed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("hopscout.tools")

from mcp import Client
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import Tool, ToolAnnotations
from mcp_helpers import SCRIPT, HttpServer, free_port, server_env, stdio_params

from hopscout.errors import InvalidArgumentError
from hopscout.servers.router import Router, Upstream, load_upstreams

UPSTREAM = str(Path(__file__).parent / "mcp_upstream.py")


def _data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text if result.content else result
    return result.structured_content


async def _find(client: Client, request: str, **args: Any) -> list[str]:
    found = _data(await client.call_tool("find_tools", {"request": request, **args}))
    return [tool["name"] for tool in found["tools"]]


async def test_router_find_call_and_list_changed(tmp_path: Path) -> None:
    port = free_port()
    notes = HttpServer(
        [sys.executable, UPSTREAM, "notes", "--port", str(port)],
        server_env(tmp_path / "unused"),
        port,
        tmp_path / "notes.log",
    )
    config = tmp_path / "servers.json"
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "weather": {"command": sys.executable, "args": [UPSTREAM, "weather"]},
                    "notes": {"url": notes.url},
                }
            }
        )
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
