"""Tiny upstream MCP servers for the router tests (real servers on the SDK, run as their own processes).

``python tests/mcp_upstream.py weather``            stdio: forecast and temperature tools;
                                                     ``enable_air_quality``
                                                     adds a tool and announces tools/list_changed.
``python tests/mcp_upstream.py weather --modern-only``  the same, serving only the 2026-07-28 era (it refuses
                                                     the initialize handshake, as a modern-only server does).
``python tests/mcp_upstream.py notes --port PORT``  streamable HTTP: a small notes store.

Every tool carries MCP annotations: the readers are marked ``readOnlyHint``, the writers are not."""

from __future__ import annotations

import argparse
import logging
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations

READS = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
DELETES = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True)


def weather() -> MCPServer:
    server = MCPServer("weather")

    @server.tool(annotations=ToolAnnotations(title="Weather forecast", read_only_hint=True))
    def get_forecast(city: str, days: int = 1) -> dict[str, Any]:
        """Get the weather forecast (temperature, rain chance) for a city for the next few days."""
        return {
            "city": city,
            "days": [{"day": d + 1, "high_c": 21 + d, "rain_chance": 0.1 * d} for d in range(days)],
        }

    @server.tool(annotations=READS)
    def convert_temperature(value: float, to_unit: str = "F") -> float:
        """Convert a temperature between Celsius and Fahrenheit (to_unit "F" or "C")."""
        return round(value * 9 / 5 + 32, 2) if to_unit.upper() == "F" else round((value - 32) * 5 / 9, 2)

    @server.tool(annotations=WRITES)
    async def enable_air_quality(ctx: Context) -> str:
        """Turn on the air quality tool of this weather server."""

        def get_air_quality(city: str) -> dict[str, Any]:
            """Get the air quality index (AQI) and main pollutant measured in a city."""
            return {"city": city, "aqi": 42, "pollutant": "pm2.5"}

        server.add_tool(get_air_quality, annotations=READS)
        await ctx.notify_tools_changed()  # 2026-07-28 clients: subscriptions/listen
        try:
            await ctx.request_context.session.send_tool_list_changed()  # handshake-era clients
        except Exception as exc:  # noqa: BLE001 - a modern connection has no such notification
            logging.getLogger(__name__).info("no legacy list_changed: %s", exc)
        return "air quality enabled"

    return server


def notes() -> MCPServer:
    server = MCPServer("notes")
    store: dict[str, dict[str, str]] = {}

    @server.tool(annotations=WRITES)
    def create_note(title: str, body: str) -> dict[str, str]:
        """Create a new text note with a title and body; returns its id."""
        note_id = f"n{len(store) + 1}"
        store[note_id] = {"id": note_id, "title": title, "body": body}
        return store[note_id]

    @server.tool(annotations=READS)
    def search_notes(text: str) -> list[dict[str, str]]:
        """Find saved notes whose title or body contains some text."""
        return [n for n in store.values() if text.lower() in (n["title"] + " " + n["body"]).lower()]

    @server.tool(annotations=DELETES)
    def delete_note(note_id: str) -> bool:
        """Delete a saved note by its id."""
        return store.pop(note_id, None) is not None

    return server


async def serve_modern_only(server: MCPServer) -> None:
    """Serve stdio in the 2026-07-28 era only. The SDK's servers speak both eras (the client's first request
    picks one); this is that loop's modern branch alone, which answers ``initialize`` with -32022 naming the
    versions it serves."""
    from mcp.server.runner import _serve_modern_stream
    from mcp.server.stdio import stdio_server

    lowlevel = server._lowlevel_server
    async with stdio_server() as (read_stream, write_stream), lowlevel.lifespan(lowlevel) as state:
        await _serve_modern_stream(
            lowlevel, read_stream, write_stream, lifespan_state=state, raise_exceptions=False
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("which", choices=["weather", "notes"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--modern-only", action="store_true")
    args = parser.parse_args()
    server = weather() if args.which == "weather" else notes()
    if args.port:
        server.run("streamable-http", host="127.0.0.1", port=args.port)
    elif args.modern_only:
        anyio.run(serve_modern_only, server)
    else:
        server.run()


if __name__ == "__main__":
    main()
