"""Profiles and lazy loading of the tool router through a real MCP client (issue 28): two real upstream servers,
a profile that keeps one server's readers only, and one pinned tool. tools/list holds the meta-tools and the
pinned tool, no other upstream tool; find_tools gives compact entries of the profile's tools alone; describe_tool
gives a tool's schema; call_tool, describe_tool and the pinned name refuse or run exactly what the profile holds;
the servers resource shows the served server with its tags and counts. An unknown profile stops the server at
start, naming the profiles the file defines."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("hopscout.tools")

from mcp import Client, StdioServerParameters
from mcp_helpers import SERVER, server_env, stdio_params
from pydantic import ValidationError

from hopscout import InvalidArgumentError
from hopscout.servers.router import Router
from hopscout.servers.settings import ServerSettings

UPSTREAM = str(Path(__file__).parent / "mcp_upstream.py")
CATALOG_UPSTREAM = str(Path(__file__).parent / "catalog_upstream.py")
LIVEMCP = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "tools" / "livemcp_catalog"
PROFILE = "weather-readers"


def _config(path: Path) -> Path:
    path.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "weather": {
                        "command": sys.executable,
                        "args": [UPSTREAM, "weather"],
                        "tags": ["forecasts"],
                    },
                    "notes": {"command": sys.executable, "args": [UPSTREAM, "notes"], "tags": ["notes"]},
                },
                "always": ["weather/get_forecast", "notes/*"],
                "profiles": {
                    PROFILE: {"tags": ["forecasts"], "tools": ["get_*", "convert_*"]},
                    "notebook": {"servers": ["notes"]},
                },
            }
        )
    )
    return path


def _data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text if result.content else result
    return dict(result.structured_content)


def _refusal(result: Any) -> str:
    assert result.is_error, result.structured_content
    return str(result.content[0].text)


async def test_a_profile_served_lazily(tmp_path: Path) -> None:
    params = stdio_params(
        tmp_path / "home", "--upstream", str(_config(tmp_path / "servers.json")), "--profile", PROFILE
    )
    async with Client(params) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        # the meta-tools and the one pinned tool in the profile; notes/* is pinned too, but outside the profile
        assert {"find_tools", "describe_tool", "call_tool"} <= set(listed)
        assert {name for name in listed if "__" in name} == {"weather__get_forecast"}
        assert listed["weather__get_forecast"].input_schema["required"] == ["city"]
        forecast = await client.call_tool("weather__get_forecast", {"city": "Oslo", "days": 1})
        assert _data(forecast)["city"] == "Oslo"

        found = _data(await client.call_tool("find_tools", {"request": "create a new note", "k": 5}))
        assert {tool["name"] for tool in found["tools"]} == {
            "weather/get_forecast",
            "weather/convert_temperature",
        }
        assert all(
            tool["input_schema"] is None and "\n" not in tool["description"] for tool in found["tools"]
        )
        full = _data(
            await client.call_tool("find_tools", {"request": "convert celsius", "k": 1, "schemas": True})
        )
        assert full["tools"][0]["input_schema"]["required"] == ["value"]

        # the conversation's turns reach the catalog: a turn about conversions lifts that tool's score
        plain, turned = [
            {
                tool["name"]: tool["score"]
                for tool in _data(
                    await client.call_tool("find_tools", {"request": "weather in Oslo", **extra})
                )["tools"]
            }
            for extra in ({}, {"context": ["I need 30 degrees Celsius in Fahrenheit"]})
        ]
        assert turned["weather/convert_temperature"] > plain["weather/convert_temperature"]

        similar = _data(await client.call_tool("similar_tools", {"name": "weather/get_forecast"}))
        assert [tool["name"] for tool in similar["tools"]] == [
            "weather/convert_temperature"
        ]  # the profile's only
        described = _data(await client.call_tool("describe_tool", {"name": "weather/convert_temperature"}))
        assert described["input_schema"]["required"] == ["value"] and described["server"] == "weather"
        for key in ("notes/create_note", "weather/enable_air_quality"):
            for tool in ("call_tool", "describe_tool", "similar_tools"):
                refused = _refusal(await client.call_tool(tool, {"name": key, "arguments": {}}))
                assert f"outside profile {PROFILE!r}" in refused, refused
        assert "unknown tool" in _refusal(
            await client.call_tool("notes__create_note", {"title": "t", "body": "b"})
        )
        converted = await client.call_tool(
            "call_tool", {"name": "weather/convert_temperature", "arguments": {"value": 100}}
        )
        assert _data(converted)["result"] == 212.0

        read = await client.read_resource("hopscout://router/servers")
        servers = json.loads(read.contents[0].text)
        assert servers["profile"]["name"] == PROFILE and servers["profile"]["servers"] == ["weather"]
        assert [(s["server"], s["tags"], s["tools"], s["state"]) for s in servers["servers"]] == [
            ("weather", ["forecasts"], 2, "ready")
        ]


def test_an_unknown_profile_stops_the_server_naming_the_known_ones(tmp_path: Path) -> None:
    config = _config(tmp_path / "servers.json")
    env = server_env(tmp_path / "home", upstream=str(config), profile="travel")  # HOPSCOUT_PROFILE
    done = subprocess.run(
        [*SERVER], check=False, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 2
    assert f"no profile 'travel'; the profiles it defines: notebook, {PROFILE}" in done.stderr
    with pytest.raises(ValidationError, match="needs router mode"):
        ServerSettings(profile=PROFILE)
    config.write_text(json.dumps({**json.loads(config.read_text()), "always": ["get_forecast"]}))
    with pytest.raises(InvalidArgumentError, match='"always" must be a list of "server/tool" keys or globs'):
        Router.from_file(config, lambda: None)


def _framework_tools(make: Any) -> list[Any]:
    def send_email(to: str, body: str) -> str:
        """Send an email message to someone."""
        return "sent"

    def create_issue(title: str) -> str:
        """Open a new issue in the bug tracker."""
        return "opened"

    def get_issue(number: int) -> str:
        """Read one issue of the bug tracker by its number."""
        return "issue"

    return [make(fn) for fn in (send_email, create_issue, get_issue)]


def test_the_tool_retrievers_take_a_profile(embedder: Any, tmp_path: Path) -> None:
    """The LangChain selector and the LlamaIndex tool retriever return only the profile's tools, even for a
    request another tool fits best."""
    from hopscout import Profile, Scout, Settings

    config = tmp_path / "servers.json"
    config.write_text(
        json.dumps(
            {
                "mcpServers": {"tracker": {"command": "x"}},
                "profiles": {"triage": {"tools": ["tracker/*issue*"]}},
            }
        )
    )
    triage = Profile.from_file(config, "triage")
    with Scout(Settings(home=tmp_path / "home"), embedder=embedder) as scout:
        langchain_tools = pytest.importorskip("langchain_core.tools")
        from hopscout.adapters.langchain import HopscoutToolSelector

        selector = HopscoutToolSelector(
            _framework_tools(langchain_tools.StructuredTool.from_function),
            scout=scout,
            namespace="tracker",
            profile=triage,
            k=3,
        )
        assert [tool.name for tool in selector.select("email Ann the report")] in (
            ["create_issue", "get_issue"],
            ["get_issue", "create_issue"],
        )
        llama_tools = pytest.importorskip("llama_index.core.tools")
        from hopscout.adapters.llamaindex import HopscoutToolRetriever

        retriever = HopscoutToolRetriever(
            _framework_tools(llama_tools.FunctionTool.from_defaults),
            scout=scout,
            namespace="tracker",
            profile=triage,
            k=3,
        )
        assert {tool.metadata.name for tool in retriever.retrieve("email Ann the report")} == {
            "create_issue",
            "get_issue",
        }
        with pytest.raises(InvalidArgumentError, match="admits none"):
            HopscoutToolSelector(
                _framework_tools(langchain_tools.StructuredTool.from_function)[:1],
                scout=scout,
                profile=triage,
            )


def _tokens(tools: list[Any]) -> int:
    """The size of a tools/list result in tokens, estimated as characters / 4 of its compact JSON."""
    listed = [tool.model_dump(by_alias=True, mode="json", exclude_none=True) for tool in tools]
    return len(json.dumps({"tools": listed}, ensure_ascii=False, separators=(",", ":"))) // 4


@pytest.mark.skipif(not LIVEMCP.is_dir(), reason="needs ../shared/data/tools/livemcp_catalog")
async def test_lazy_tools_list_of_the_527_tool_catalog(tmp_path: Path) -> None:
    """The 527 real MCP tools of livemcp_catalog behind the router: its tools/list holds none of them, a small
    fraction of what listing them all costs (the upstream's own tools/list, as a gateway without lazy loading
    would pass it on)."""
    upstream = {"command": sys.executable, "args": [CATALOG_UPSTREAM, str(LIVEMCP)], "trust": "trusted"}
    async with Client(StdioServerParameters(command=upstream["command"], args=upstream["args"])) as direct:
        every = (await direct.list_tools()).tools
    config = tmp_path / "servers.json"
    config.write_text(json.dumps({"mcpServers": {"livemcp": upstream}}))
    async with Client(stdio_params(tmp_path / "home", "--upstream", str(config))) as client:
        lazy = (await client.list_tools()).tools
    full, meta = _tokens(every), _tokens(lazy)
    print(
        f"\ntools/list (chars/4): {len(every)} upstream tools {full} tokens; lazy router {len(lazy)} tools {meta}"
    )
    assert len(every) == 527 and not any("__" in tool.name for tool in lazy)
    assert meta * 10 < full


def test_an_entry_outside_the_profile_gives_way_to_its_equivalent_inside() -> None:
    """A grouped find_tools entry whose lead tool the profile leaves out is led by the first equivalent tool it
    holds; its alternatives are the profile's only."""
    from mcp.types import Tool

    from hopscout import Profile, ToolHit, ToolSpec
    from hopscout.servers.router import Upstream

    servers = [
        Upstream(name, {"type": "stdio", "command": "x"}) for name in ("kayak", "skyscanner", "expedia")
    ]
    for up in servers:
        up.tools = {"search_flights": Tool(name="search_flights", input_schema={"type": "object"})}
    router = Router(servers, lambda: None, profile=Profile("cheap", frozenset({"skyscanner", "expedia"})))
    hits = [
        ToolHit(ToolSpec("search_flights", "Search flights.", namespace=up.name), 1.0 - n / 10)
        for n, up in enumerate(servers)
    ]
    led = router.offered(dataclasses.replace(hits[0], alternatives=tuple(hits[1:])))
    assert led is not None and led.key == "skyscanner/search_flights"
    assert [alt.key for alt in led.alternatives] == ["expedia/search_flights"]
    assert router.offered(hits[0]) is None
