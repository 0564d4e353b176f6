"""An upstream MCP server (stdio, the SDK's low-level ``Server``) that lists the tools of a tool set's
``corpus.jsonl`` as published (each line's ``metadata.schema``), under the line's ``_id`` (``server__tool``, the
name a gateway pooling those servers gives them): ``python tests/catalog_upstream.py
../shared/data/tools/livemcp_catalog``. A call answers with the tool's name; it measures listings, not calls."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import anyio
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.types import CallToolResult, ListToolsResult, TextContent, Tool


def catalog_tools(folder: Path) -> list[Tool]:
    """The tools of ``folder/corpus.jsonl`` as their servers listed them, each named by its line's ``_id``."""
    tools = []
    for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        schema = dict(row["metadata"]["schema"])
        tools.append(
            Tool.model_validate({**{k: v for k, v in schema.items() if v is not None}, "name": row["_id"]})
        )
    return tools


def build(folder: Path) -> Server[Any]:
    tools = catalog_tools(folder)

    async def list_tools(ctx: Any, params: Any) -> ListToolsResult:
        return ListToolsResult(tools=tools)

    async def call_tool(ctx: Any, params: Any) -> CallToolResult:
        return CallToolResult(content=[TextContent(type="text", text=f"ran {params.name}")])

    return Server("catalog", on_list_tools=list_tools, on_call_tool=call_tool)


async def serve(server: Server[Any]) -> None:
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path, help="A tool set's folder holding corpus.jsonl.")
    try:
        anyio.run(serve, build(parser.parse_args().folder))
    except Exception as exc:  # a client that closes the pipe mid-write ends the session: not an error here
        if not _closed_pipe(exc):
            raise


def _closed_pipe(error: BaseException) -> bool:
    inner = getattr(error, "exceptions", None)
    if isinstance(inner, tuple):
        return all(_closed_pipe(e) for e in inner)
    return isinstance(error, BrokenPipeError)


if __name__ == "__main__":
    main()
