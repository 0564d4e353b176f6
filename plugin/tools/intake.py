"""What :meth:`~hopscout.tools.ToolCatalog.register` is given, checked: a list of tools in any shape (or a
JSON file of them), read as :class:`ToolSpec`; the ones that cannot enter the catalog skipped with why; the
views given for them. A call that cannot be registered at all raises InvalidArgumentError."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..agent_text import read_text
from ..errors import InvalidArgumentError, InvalidToolError, UnreadableFileError
from ..untrusted import shown
from .spec import ToolSpec, to_spec

_log = logging.getLogger("hopscout.tools")


@dataclass(frozen=True)
class ReadTools:
    """Tools that can enter the catalog, and the others: their key (or name, or ``#position``) → why not."""

    specs: list[ToolSpec]
    skipped: dict[str, str] = field(default_factory=dict)


def read_tools(tools: Any, namespace: str | None, collection: str) -> ReadTools:
    """Each of ``tools`` (a list, or an MCP ListToolsResult) as a :class:`ToolSpec` in ``namespace``, or
    skipped with a warning naming it and the catalog (``collection``); the same key twice raises."""
    if isinstance(getattr(tools, "tools", None), list):  # an MCP ListToolsResult
        tools = tools.tools
    if isinstance(tools, (str, bytes, dict)) or not isinstance(tools, Iterable):
        raise InvalidArgumentError(
            "tools must be a list of tools (MCP, OpenAI, LangChain, LlamaIndex, ToolSpec or dicts)"
        )
    specs: list[ToolSpec] = []
    skipped: dict[str, str] = {}
    for n, tool in enumerate(tools):
        try:
            specs.append(to_spec(tool, namespace, position=n))
        except InvalidToolError as exc:
            label = f"#{n}" if exc.name is None else f"{namespace}/{exc.name}" if namespace else exc.name
            if label in skipped:
                label = f"{label} (#{n})"
            skipped[label] = exc.reason
            _log.warning("tool catalog %r: %s; skipped (the other tools are registered)", collection, exc)
    keys = [s.key for s in specs]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise InvalidArgumentError(f"tools given twice in one register call: {', '.join(dupes[:10])}")
    return ReadTools(specs, skipped)


def read_tool_file(path: str | Path) -> list[Any]:
    """The tools in a JSON file: a list of tools, or ``{"tools": [...]}`` (an MCP tools/list result)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UnreadableFileError(f"cannot read tool file {path}: {exc}") from exc
    except ValueError as exc:
        raise InvalidArgumentError(f"tool file {path} is not valid JSON: {exc}") from exc
    if isinstance(data, dict) and isinstance(data.get("tools"), list):
        data = data["tools"]
    if not isinstance(data, list):
        raise InvalidArgumentError(f'tool file {path} must hold a JSON list of tools or {{"tools": [...]}}')
    return data


def check_views(views: Any, read: ReadTools) -> dict[str, list[str]]:
    """``views`` keyed by tool key (a name is read in the tools' namespace); raises on unknown tools or bad text.
    Views of a tool that was skipped (its key or name) are dropped with it."""
    if not isinstance(views, Mapping):
        raise InvalidArgumentError("views must map a tool's name (or key) to a list of request strings")
    keys = {s.key for s in read.specs}
    by_name = {s.name: s.key for s in read.specs}
    gone = {label.rpartition("/")[2] for label in read.skipped} | set(read.skipped)
    out: dict[str, list[str]] = {}
    for name, texts in views.items():
        key = name if name in keys else by_name.get(name)
        if key is None and name in gone:
            continue
        if key is None:
            raise InvalidArgumentError(
                f"views for {shown(name)}, which is not among the tools being registered"
            )
        if isinstance(texts, str) or not isinstance(texts, Sequence):
            raise InvalidArgumentError(f"views for {name!r} must be a list of strings")
        # as an agent would read them (hopscout.agent_text): a view cannot hide words from search's judges
        cleaned = [" ".join(read_text(t).clean.split()) for t in texts if isinstance(t, str) and t.strip()]
        if len(cleaned) != len(texts):
            raise InvalidArgumentError(f"views for {name!r} must be non-empty strings")
        out[key] = list(dict.fromkeys(cleaned))
    return out
