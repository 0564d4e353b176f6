"""Reading what an LLM replied: lists of queries or requests (JSON or one per line), and passages.

Parsing is forgiving: JSON (any list of strings in it) first, then one item per line with bullets, numbers and
quotes stripped; whatever comes back is capped, deduplicated and trimmed."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_ITEM_CHARS = 160

_QUOTED_VALUE = re.compile(r'"((?:[^"\\]|\\.){3,}?)"\s*(?=[,\]}]|$)')
_BULLET = re.compile(r"^\s*(?:[-*•]+|\d+[.)]|query\s*\d*\s*:|request\s*\d*\s*:)\s*", re.IGNORECASE)
_PREAMBLE = re.compile(r"^\s*(?:sure[,!.]?|here(?:'s| is)[^:\n]*:|passage:|answer:)\s*", re.IGNORECASE)


def parse_list(text: str, *, limit: int = 5, exclude: str = "", min_words: int = 2) -> list[str]:
    """Strings from an LLM reply: a JSON list (anywhere in a JSON object) or one item per line. Items of fewer
    than ``min_words`` words are dropped (one-word junk from tiny models; keywords want ``min_words=1``)."""
    items = _json_strings(text)
    if items is None and text.lstrip().startswith(("{", "[", "```")):
        items = _QUOTED_VALUE.findall(text)  # truncated JSON (token cap): keep the complete string values
    if items is None:
        items = []
        for line in text.splitlines():
            line = _BULLET.sub("", line).strip().strip("\"'`,").strip()
            if not line or line.endswith(":") or line.startswith(("{", "}", "[", "]", "```")):
                continue
            items.append(line)
    cleaned = [" ".join(item.split())[:MAX_ITEM_CHARS] for item in items if isinstance(item, str)]
    return dedupe([c for c in cleaned if len(c.split()) >= min_words], exclude=exclude)[:limit]


def _json_strings(text: str) -> list[str] | None:
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        return None
    try:
        value: Any = json.JSONDecoder().raw_decode(text[start:])[0]
    except ValueError:
        return None
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for item in node.values():
                walk(item)

    walk(value)
    return found


def dedupe(items: list[str], *, exclude: str = "") -> list[str]:
    seen = {" ".join(exclude.lower().split())} if exclude else set()
    out = []
    for item in items:
        norm = " ".join(item.lower().split())
        if norm and norm not in seen:
            seen.add(norm)
            out.append(item)
    return out


def clean_passage(text: str, limit: int = 2000) -> str:
    """A generated passage without its preamble ("Sure, here is ...:"), on one line, at most ``limit`` chars."""
    return " ".join(_PREAMBLE.sub("", text or "").split())[:limit]
