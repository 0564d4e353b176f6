"""An upstream MCP server written without an SDK, as many deployed servers are: JSON-RPC over stdio by hand, its
tool listing sent as it is, never checked. ``python tests/raw_upstream.py FOLDER --count N --malformed NAME``
lists the first ``N`` tools of ``FOLDER/corpus.jsonl`` (read as :func:`hopscout.tools.corpus.corpus_servers`
reads a tool set), the tool ``NAME`` with its input schema sent as a JSON-encoded string (the schema serialised
twice, a mistake real servers ship) where an object belongs. A call answers ``ran <tool>``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hopscout.tools.corpus import corpus_servers

NO_METHOD = -32601


def listing(folder: Path, count: int, malformed: str | None) -> list[dict[str, Any]]:
    tools = [dict(tool) for tools in corpus_servers(folder).values() for tool in tools][:count]
    for tool in tools:
        if tool["name"] == malformed:
            tool["inputSchema"] = json.dumps(tool.get("inputSchema") or {"type": "object"})
    return tools


def answer(message: dict[str, Any], tools: list[dict[str, Any]]) -> dict[str, Any]:
    method, params = message.get("method"), message.get("params") or {}
    if method == "initialize":
        result: dict[str, Any] = {
            "protocolVersion": params.get("protocolVersion"),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "raw", "version": "1.0"},
        }
    elif method == "tools/list":
        result = {"tools": tools}
    elif method == "tools/call":
        result = {"content": [{"type": "text", "text": f"ran {params.get('name')}"}], "isError": False}
    elif method == "ping":
        result = {}
    else:
        error = {"code": NO_METHOD, "message": f"method {method!r} not served"}
        return {"jsonrpc": "2.0", "id": message["id"], "error": error}
    return {"jsonrpc": "2.0", "id": message["id"], "result": result}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path, help="A tool set's folder holding corpus.jsonl.")
    parser.add_argument("--count", type=int, default=50, help="How many of its tools to list.")
    parser.add_argument("--malformed", help="The tool whose input schema is sent as a string.")
    args = parser.parse_args()
    tools = listing(args.folder, args.count, args.malformed)
    for line in sys.stdin:
        message = json.loads(line)
        if "id" in message and "method" in message:  # a request (notifications and replies need no answer)
            sys.stdout.write(json.dumps(answer(message, tools)) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
