"""An upstream's tools/list answer screened tool by tool (hopscout.servers.tool_listing): a malformed tool is taken
out with why, the page's other tools pass through as sent, and messages that are not listing answers are untouched.
Hand-made JSON-RPC messages; no server, model or store."""

from __future__ import annotations

import json

import pytest
from mcp.shared.message import SessionMessage
from mcp.types import JSONRPCNotification, JSONRPCRequest, JSONRPCResponse, ListToolsResult

from hopscout.servers.tool_listing import ListingScreen, tool_problem

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}


def _tools(count: int) -> list[dict[str, object]]:
    return [{"name": f"tool_{n}", "description": f"does {n}", "inputSchema": SCHEMA} for n in range(count)]


def _answer(
    screen: ListingScreen, request_id: int, result: dict[str, object], method: str = "tools/list"
) -> object:
    screen.sent(SessionMessage(JSONRPCRequest(jsonrpc="2.0", id=request_id, method=method, params={})))
    received = screen.received(SessionMessage(JSONRPCResponse(jsonrpc="2.0", id=request_id, result=result)))
    assert isinstance(received, SessionMessage) and isinstance(received.message, JSONRPCResponse)
    return received.message.result


@pytest.mark.parametrize(
    ("tool", "problem"),
    [
        (
            {"name": "a", "inputSchema": json.dumps(SCHEMA)},
            "field 'inputSchema' must be a JSON object, got str",
        ),
        (
            {"name": "a", "inputSchema": SCHEMA, "annotations": []},
            "field 'annotations' must be a JSON object, got list",
        ),
        ({"description": "no name", "inputSchema": SCHEMA}, "field 'name' is missing"),
        ({"name": 7, "inputSchema": SCHEMA}, "field 'name' must be a string, got int"),
        ("a tool", "the tool must be a JSON object, got str"),
    ],
)
def test_a_malformed_tool_is_named_by_its_field(tool: object, problem: str) -> None:
    assert tool_problem(tool) == problem


def test_a_well_formed_tool_has_no_problem() -> None:
    assert tool_problem(_tools(1)[0]) is None


def test_one_malformed_tool_among_50_leaves_the_other_49_as_sent() -> None:
    tools = _tools(50)
    tools[7] = {**tools[7], "inputSchema": json.dumps(SCHEMA)}
    screen = ListingScreen()
    result = _answer(screen, 3, {"tools": tools, "nextCursor": "page2"})
    assert isinstance(result, dict)
    assert result["tools"] == tools[:7] + tools[8:] and result["nextCursor"] == "page2"
    assert len(ListToolsResult.model_validate(result, by_name=False).tools) == 49  # what the SDK now reads
    assert screen.take() == {"tool_7": "field 'inputSchema' must be a JSON object, got str"}
    assert screen.take() == {}  # taken once


def test_unnamed_and_twice_named_malformed_tools_are_told_apart() -> None:
    tools = [{"inputSchema": "x"}, {"name": "a", "inputSchema": "x"}, {"name": "a", "inputSchema": "y"}]
    screen = ListingScreen()
    assert _answer(screen, 1, {"tools": tools}) == {"tools": []}
    assert sorted(screen.take()) == ["#0", "a", "a (#2)"]


def test_only_answers_to_listing_requests_are_screened() -> None:
    malformed = {"tools": [{"name": "a", "inputSchema": "x"}]}
    screen = ListingScreen()
    assert _answer(screen, 1, malformed, method="tools/call") == malformed
    unasked = SessionMessage(JSONRPCResponse(jsonrpc="2.0", id=99, result=malformed))
    assert screen.received(unasked) is unasked
    note = SessionMessage(JSONRPCNotification(jsonrpc="2.0", method="notifications/tools/list_changed"))
    assert screen.received(note) is note
    error = RuntimeError("the transport failed")
    assert screen.received(error) is error
    assert screen.take() == {}
    assert _answer(screen, 2, {"tools": "not a list"}) == {
        "tools": "not a list"
    }  # whole page: the SDK's call
