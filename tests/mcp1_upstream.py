"""Upstream MCP servers on the SDK v1 (``mcp==1.30.0``'s FastMCP), as most deployed servers are, for the router
tests. Run by a Python that has mcp 1.x (``HOPSCOUT_TEST_MCP1_PYTHON``), never imported by the tests.

``python tests/mcp1_upstream.py calendar --stderr FILE``  stdio: calendar events; the process's stderr (where
                                                         FastMCP logs) goes to FILE, for the test to read.
``python tests/mcp1_upstream.py tasks --port PORT``       streamable HTTP: a small task list.

The readers are annotated ``readOnlyHint``; the writers are not."""

from __future__ import annotations

import argparse
import os
import sys

from mcp.server.fastmcp import FastMCP
from mcp.types import ToolAnnotations

READS = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
WRITES = ToolAnnotations(readOnlyHint=False, destructiveHint=False, openWorldHint=False)
DELETES = ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=True)


def calendar() -> FastMCP:
    server = FastMCP("calendar")
    events: dict[str, list[str]] = {"2025-05-06": ["dentist at 9"]}

    @server.tool(annotations=ToolAnnotations(title="List events", readOnlyHint=True))
    def list_events(day: str) -> list[str]:
        """Show the agenda of a day: the calendar events on that date (YYYY-MM-DD)."""
        return events.get(day, [])

    @server.tool(annotations=WRITES)
    def schedule_event(day: str, title: str) -> str:
        """Schedule a new calendar event on a day (YYYY-MM-DD)."""
        events.setdefault(day, []).append(title)
        return f"scheduled {title!r} on {day}"

    @server.tool(annotations=DELETES)
    def cancel_event(day: str, title: str) -> bool:
        """Cancel a calendar event on a day by its title."""
        if title in events.get(day, []):
            events[day].remove(title)
            return True
        return False

    return server


def tasks() -> FastMCP:
    server = FastMCP("tasks")
    todo: list[dict[str, object]] = []

    @server.tool(annotations=WRITES)
    def add_task(text: str) -> dict[str, object]:
        """Add a task to the to-do list; returns it with its number."""
        todo.append({"number": len(todo) + 1, "text": text, "done": False})
        return todo[-1]

    @server.tool(annotations=READS)
    def list_open_tasks() -> list[dict[str, object]]:
        """List the to-do tasks that are not done yet."""
        return [task for task in todo if not task["done"]]

    @server.tool(annotations=DELETES)
    def clear_tasks() -> int:
        """Delete every task from the to-do list; returns how many there were."""
        count = len(todo)
        todo.clear()
        return count

    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("which", choices=["calendar", "tasks"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--stderr", help="write this process's stderr (FastMCP's log) to this file")
    args = parser.parse_args()
    if args.stderr:
        log = os.open(args.stderr, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(log, sys.stderr.fileno())
    server = calendar() if args.which == "calendar" else tasks()
    if args.port:
        server.settings.port = args.port
        server.run("streamable-http")
    else:
        server.run()


if __name__ == "__main__":
    main()
