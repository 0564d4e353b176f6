"""One malformed tool in an upstream's listing costs that tool, not the server: through hopscout's MCP server in
router mode, a real client, and a real upstream that lists 50 tools of a tool set as raw JSON with one input schema
sent as a string (tests/raw_upstream.py; the MCP SDK refuses such a listing page whole). The other 49 are
registered, found and forwarded; the skipped one is named with why in ``find_tools``' note and the servers
resource, and is neither offered nor callable."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client
from mcp_helpers import stdio_params

from hopscout.servers.router import SERVERS_URI
from hopscout.tools.corpus import corpus_servers

RAW_UPSTREAM = str(Path(__file__).parent / "raw_upstream.py")
TOOL_SET = Path(__file__).parent / "fixtures" / "tools_tiny"
COUNT = 50


def _data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text if result.content else result
    return dict(result.structured_content)


async def test_one_malformed_tool_among_50_is_skipped_and_the_other_49_registered(tmp_path: Path) -> None:
    tools = [tool for listed in corpus_servers(TOOL_SET).values() for tool in listed][:COUNT]
    assert len(tools) == COUNT
    broken, kept = tools[7], tools[8]
    config = tmp_path / "servers.json"
    entry = {
        "command": sys.executable,
        "args": [RAW_UPSTREAM, str(TOOL_SET), "--count", str(COUNT), "--malformed", broken["name"]],
        "trust": "trusted",  # nothing held for review: only the malformed tool is left out
    }
    config.write_text(json.dumps({"mcpServers": {"raw": entry}}))
    async with Client(stdio_params(tmp_path / "home", "--upstream", str(config))) as client:
        found = _data(await client.call_tool("find_tools", {"request": broken["description"], "k": 10}))
        names = [tool["name"] for tool in found["tools"]]
        assert f"raw/{broken['name']}" not in names and names, found
        note = found.get("note") or ""
        assert f"upstream 'raw': 1 of its tools skipped, not offered or callable: '{broken['name']}'" in note
        assert "field 'inputSchema' must be a JSON object, got str" in note

        servers = json.loads((await client.read_resource(SERVERS_URI)).contents[0].text)["servers"]
        (raw,) = servers
        assert (raw["state"], raw["tools"], raw["held"]) == ("ready", COUNT - 1, 0)
        assert raw["skipped"] == [
            {"tool": broken["name"], "why": "field 'inputSchema' must be a JSON object, got str"}
        ]

        again = _data(await client.call_tool("find_tools", {"request": kept["description"], "k": 5}))
        assert f"raw/{kept['name']}" in [tool["name"] for tool in again["tools"]]
        called = await client.call_tool("call_tool", {"name": f"raw/{kept['name']}", "arguments": {}})
        assert not called.is_error and f"ran {kept['name']}" in json.dumps(called.model_dump(mode="json"))
        refused = await client.call_tool("call_tool", {"name": f"raw/{broken['name']}", "arguments": {}})
        assert refused.is_error, refused
