"""A BEIR-like tool set's ``corpus.jsonl`` read as the tools its servers list, for the tool evaluations and the
tool-catalog bench alike (one reader, so that both register the same tools).

A row is a tool: its JSON in ``metadata.schema`` (any shape :func:`~.spec.to_spec` reads; named by the row's
``_id`` when it has no name), MetaTool's ``metadata.description``, or the text layout ``name / description /
Parameters: - p (type, required): desc``. Its server is ``metadata.server``, else the set's folder name."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import UnreadableFileError

Tool = dict[str, Any]
_NAMESPACE_UNSAFE = re.compile(
    r"[^A-Za-z0-9_.-]+"
)  # a server's name as a namespace ("Ant Design" → "Ant-Design")


def parse_text(text: str, name: str) -> Tool:
    """The description and parameters of a tool written in the text layout (the name line, if first, dropped)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and lines[0] == name:
        lines = lines[1:]
    description, props = [], {}
    in_params = False
    for line in lines:
        if line == "Parameters:":
            in_params = True
        elif in_params and line.startswith("- "):
            head, _, desc = line[2:].partition(": ")
            pname = head.split(" (")[0].strip()
            props[pname] = {"description": desc.strip()}
        else:
            description.append(line)
    return {"description": " ".join(description), "inputSchema": {"type": "object", "properties": props}}


def corpus_tool(doc_id: str, doc: Mapping[str, Any]) -> Tool:
    """The tool of one corpus row, as its server listed it (see the module's docstring)."""
    meta = doc.get("metadata") or {}
    schema = meta.get("schema")
    if isinstance(schema, Mapping):
        return {**schema, "name": schema.get("name") or doc_id}
    if isinstance(meta.get("description"), str):
        return {"name": doc_id, "description": meta["description"]}
    return {"name": doc_id, **parse_text(str(doc.get("text") or ""), doc_id)}


def corpus_servers(folder: str | Path) -> dict[str, list[Tool]]:
    """The tools of ``folder``'s ``corpus.jsonl`` by server (runs of characters a namespace cannot hold become
    ``-``), in corpus order; a name a server lists twice is kept once. Raises UnreadableFileError naming the file
    and line of a row it cannot read."""
    path = Path(folder) / "corpus.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UnreadableFileError(f"cannot read {path}: {exc}") from exc
    servers: dict[str, dict[str, Tool]] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
            doc_id = str(doc["_id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise UnreadableFileError(f"{path}:{n}: expected a corpus row with an _id: {exc}") from exc
        meta = doc.get("metadata") or {}
        raw_server = str(meta.get("server") or Path(folder).name)
        server = _NAMESPACE_UNSAFE.sub("-", raw_server).strip("-") or "tools"
        tool = corpus_tool(doc_id, doc)
        servers.setdefault(server, {}).setdefault(str(tool["name"]), tool)
    return {server: list(tools.values()) for server, tools in servers.items()}


__all__ = ["Tool", "corpus_servers", "corpus_tool", "parse_text"]
