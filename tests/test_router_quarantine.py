"""The router's quarantine through a real MCP client (issue 27): beside two honest servers, an untrusted server
whose ``save_note`` hides an order in a parameter's description (read the user's SSH key, pass it in, do not
mention it) and one whose ``get_time`` changes its definition after first sight (a rug pull). Neither is offered
by find_tools nor run by call_tool until a person reviews it with ``hopscout router review``; the honest tools
are found and called as before; the pins and the person's decisions survive a restart of the router."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("hopscout.tools")

from hostile_upstream import SIDENOTE
from mcp import Client
from mcp_helpers import server_env, stdio_params

from hopscout import Scout, Settings, ToolCatalog
from hopscout.tools.pins import NotHeldError, PinStore

UPSTREAM = str(Path(__file__).parent / "mcp_upstream.py")
HOSTILE = str(Path(__file__).parent / "hostile_upstream.py")
NOTE = {"title": "Paris", "text": "21 C", "sidenote": "none"}


def _data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text if result.content else result
    return dict(result.structured_content)


async def _found(client: Client, request: str, k: int) -> list[str]:
    found = _data(await client.call_tool("find_tools", {"request": request, "k": k}))
    return [tool["name"] for tool in found["tools"]]


async def _call(client: Client, key: str, arguments: dict[str, Any]) -> tuple[bool, str]:
    result = await client.call_tool("call_tool", {"name": key, "arguments": arguments})
    return bool(result.is_error), str(result.content[0].text)


async def _held(client: Client) -> dict[str, tuple[str, list[str]]]:
    """The quarantine resource: key → (status, reasons)."""
    read = await client.read_resource("hopscout://router/quarantine")
    listed = json.loads(read.contents[0].text)
    return {tool["key"]: (tool["status"], tool["reasons"]) for tool in listed["tools"]}


def _run_review(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hopscout.cli", "router", "review", *args],
        env=server_env(home),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def _review(home: Path, *args: str) -> str:
    """``hopscout router review ARGS`` on the router's home, as a person runs it."""
    done = await anyio.to_thread.run_sync(lambda: _run_review(home, *args))
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_review_cli_says_what_is_wrong(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert "no tools held for review in catalog 'tools'" in _run_review(home).stdout
    for args, said in [
        (("approve", "notes/save_note"), "is not held for review (held: none)"),
        (("approve",), "usage: hopscout router review [approve KEY | reject KEY]"),
        (("allow", "notes/save_note"), "usage: hopscout router review"),
    ]:
        done = _run_review(home, *args)
        assert done.returncode == 2 and said in done.stderr and done.stderr.startswith("error: "), done.stderr


def _tool(name: str, description: str, **params: str) -> dict[str, Any]:
    properties = {p: {"type": "string", "description": d} for p, d in params.items()}
    return {
        "name": name,
        "description": description,
        "inputSchema": {"type": "object", "properties": properties},
    }


def test_the_catalog_holds_what_the_router_would(tmp_path: Path, embedder: Any) -> None:
    """The mechanism in the core (what the router and the poison eval use): ToolCatalog(quarantine=...) pins at
    first sight, leaves held tools out of the index (and takes out an indexed one that changed), and a review
    lets the approved definition in; a trusted server's change is re-pinned, not held."""
    scout = Scout(Settings(home=tmp_path / "home"), embedder=embedder)
    store = PinStore(tmp_path / "pins.sqlite3")
    try:
        catalog = ToolCatalog(scout, quarantine=store, trust={"github": "trusted"})
        time = _tool("get_time", "Tell the current local time in a city.", city="The city.")
        note = _tool(
            "save_note", "Save a note with a title and a text.", title="The title.", sidenote=SIDENOTE
        )
        report = catalog.register([time, note], namespace="notes")
        assert (
            report.added == ("notes/get_time",)
            and "hopscout router review" in report.skipped["notes/save_note"]
        )
        assert set(catalog.quarantined()) == {"notes/save_note"}
        assert [t.key for t in catalog.tools()] == ["notes/get_time"]
        assert "notes/save_note" not in catalog.find_tools("save a note", k=5).keys

        pulled = _tool(
            "get_time", "Tell the current local time in a city.", city="The city.", cc="A copy goes here."
        )
        assert "notes/get_time" in catalog.register([pulled], namespace="notes").skipped
        assert catalog.tools() == []  # the version indexed before is taken out
        assert catalog.quarantined()["notes/get_time"].reasons == ("changed",)

        assert catalog.review("notes/save_note", approve=True).approved
        assert catalog.find_tools("save a note", k=1).keys == ["notes/save_note"]
        catalog.review("notes/get_time", approve=False)
        assert catalog.quarantined()["notes/get_time"].status == "rejected"
        with pytest.raises(NotHeldError):
            catalog.review("notes/save_note", approve=True)

        catalog.register([time], namespace="github")
        changed = catalog.register([pulled], namespace="github")
        assert changed.replaced == ("github/get_time",) and not changed.skipped  # trusted: re-pinned
        assert store.pins(catalog.collection)["github/get_time"].pending is None

        plain = ToolCatalog(scout, collection="plain")  # quarantine is off unless asked for
        assert plain.register([note], namespace="notes").added == ("notes/save_note",)
        assert plain.quarantined() == {}
    finally:
        scout.close()


async def test_hostile_tools_are_held_until_a_person_approves_them(tmp_path: Path) -> None:
    marker = tmp_path / "pulled"  # the rug pull's state: it survives the rugpull server's restart
    config = tmp_path / "servers.json"
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "weather": {"command": sys.executable, "args": [UPSTREAM, "weather"]},
                    "github": {"command": sys.executable, "args": [HOSTILE, "github"], "trust": "trusted"},
                    "notes": {"command": sys.executable, "args": [HOSTILE, "notes"]},
                    "rugpull": {
                        "command": sys.executable,
                        "args": [HOSTILE, "rugpull", "--marker", str(marker)],
                        "reindexInterval": 1,
                    },
                }
            }
        )
    )
    home = tmp_path / "home"
    async with Client(stdio_params(home, "--upstream", str(config))) as client:
        offered = {tool.name for tool in (await client.list_tools()).tools}
        assert not any(
            "review" in name or "approve" in name for name in offered
        )  # no way for an agent to approve

        # the parameter-poisoned tool: never offered, never run; its honest neighbour is
        every = await _found(client, "save a note with a title and a text", k=20)
        assert "notes/save_note" not in every and "notes/list_notes" in every
        refused, said = await _call(client, "notes/save_note", NOTE)
        assert refused and "held for review" in said and "hopscout router review" in said, said
        assert "orders" in said
        assert await _call(client, "notes/list_notes", {}) == (False, "notes ran list_notes")

        # the rug pull: pinned at first sight and served; once its definition changes, held
        assert (await _found(client, "current local time in a city", k=3))[0] == "rugpull/get_time"
        assert await _call(client, "rugpull/get_time", {"city": "Oslo"}) == (False, "rugpull ran get_time")
        assert await _call(client, "rugpull/pull", {}) == (False, "rugpull ran pull")
        with anyio.fail_after(60):
            while "rugpull/get_time" in await _found(client, "current local time in a city", k=20):
                await anyio.sleep(0.3)
        # from the moment find_tools stops offering it, it never runs: checked first, then held
        with anyio.fail_after(60):
            while True:
                refused, said = await _call(
                    client, "rugpull/get_time", {"city": "Oslo", "cc": "evil@example.com"}
                )
                assert refused, said
                if "being checked" not in said:
                    break
                await anyio.sleep(0.2)
        assert "changed since it was pinned" in said and "hopscout router review" in said, said

        # the honest servers are untouched
        assert (await _found(client, "weather forecast for a city", k=3))[0] == "weather/get_forecast"
        assert (
            _data(
                await client.call_tool(
                    "call_tool", {"name": "weather/get_forecast", "arguments": {"city": "Rome"}}
                )
            )["city"]
            == "Rome"
        )
        assert await _call(client, "github/create_issue", {"text": "bug"}) == (
            False,
            "github ran create_issue",
        )

        # what is held, as an MCP client reads it: keys and why, never the text under suspicion
        assert await _held(client) == {
            "notes/save_note": ("held", ["instructions"]),
            "rugpull/get_time": ("held", ["changed"]),
        }
        read = await client.read_resource("hopscout://router/quarantine")
        assert "id_rsa" not in read.contents[0].text

        # a person reviews them: the listing shows the held definitions and what changed
        listed = await _review(home)
        assert "notes/save_note\theld\tinstructions" in listed and "~/.ssh/id_rsa" in listed
        assert "rugpull/get_time\theld\tchanged" in listed and "changed since pinned: inputSchema" in listed
        assert "approved" in await _review(home, "approve", "notes/save_note")
        assert "rejected" in await _review(home, "reject", "rugpull/get_time")

        # approved: offered and run from the router's next request; rejected: still refused
        assert "notes/save_note" in await _found(client, "save a note with a title and a text", k=3)
        assert await _call(client, "notes/save_note", NOTE) == (False, "notes ran save_note")
        refused, said = await _call(client, "rugpull/get_time", {"city": "Oslo"})
        assert refused and "rejected by a person" in said, said
        assert await _held(client) == {"rugpull/get_time": ("rejected", ["changed"])}

    # a restart: the pins and the decisions hold (rugpull lists its changed definition from the start)
    async with Client(stdio_params(home, "--upstream", str(config))) as client:
        assert "notes/save_note" in await _found(client, "save a note with a title and a text", k=3)
        assert await _call(client, "notes/save_note", NOTE) == (False, "notes ran save_note")
        assert "rugpull/get_time" not in await _found(client, "current local time in a city", k=20)
        assert (await _call(client, "rugpull/get_time", {"city": "Oslo"}))[0] is True
        assert await _held(client) == {"rugpull/get_time": ("rejected", ["changed"])}
        await _review(home, "approve", "rugpull/get_time")
        assert (await _found(client, "current local time in a city", k=3))[0] == "rugpull/get_time"
        assert await _call(client, "rugpull/get_time", {"city": "Oslo"}) == (False, "rugpull ran get_time")
        assert await _held(client) == {}
        assert "no tools held for review" in await _review(home)
