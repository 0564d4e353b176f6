"""Where tool-search queries come from besides the raw request: an LLM-free split of multi-step requests,
LLM-written queries (one per capability), and LLM-written synthetic requests per tool (index-time expansion).

Parsing is forgiving: JSON (any list of strings in it) first, then one query per line with bullets, numbers and
quotes stripped; whatever comes back is capped, deduplicated and trimmed."""

from __future__ import annotations

import json
import re
from typing import Any

from .spec import ToolSpec

PROMPT_VERSION = "v1"
MAX_QUERY_CHARS = 160

_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[A-Z\"'(])")
_CONNECTOR = re.compile(
    r"(?:,\s*|\s+)(?:and\s+then|then|and\s+also|also|additionally|moreover|furthermore|after\s+that|afterwards|"
    r"finally|lastly|next|besides|in\s+addition)\b,?\s+",
    re.IGNORECASE,
)
_LEAD = re.compile(r"^(?:and|then|also|finally|lastly|additionally|next|please|after that)\b[,\s]*", re.IGNORECASE)
_QUOTED_VALUE = re.compile(r'"((?:[^"\\]|\\.){3,}?)"\s*(?=[,\]}]|$)')
_BULLET = re.compile(r"^\s*(?:[-*•]+|\d+[.)]|query\s*\d*\s*:|request\s*\d*\s*:)\s*", re.IGNORECASE)


def decompose(request: str, *, min_words: int = 3, max_parts: int = 6) -> list[str]:
    """LLM-free split of a multi-capability request into its steps (sentences, "then", "also", ...).

    Returns [] when the request has one step; the raw request itself is never among the parts."""
    parts: list[str] = []
    for sentence in _SENTENCE.split(request.strip()):
        for clause in _CONNECTOR.split(sentence):
            clause = _LEAD.sub("", clause.strip(" ,.;")).strip()
            if len(clause.split()) >= min_words:
                parts.append(clause)
    parts = _dedupe(parts, exclude=request)
    return parts[:max_parts] if len(parts) >= 2 else []


def generation_prompt(request: str) -> str:
    """Ask for one short tool-describing search query per capability the request needs."""
    return (
        "A user asked an assistant that has many tools. List the tools it needs: one short search query per "
        "action, each naming what the tool does (e.g. \"get weather forecast for a city\").\n"
        'Answer only JSON: {"queries": ["...", "..."]}\n\n'
        f"User request: {request.strip()}"
    )


def expansion_prompt(spec: ToolSpec) -> str:
    """Ask for a few requests a user might make that this tool answers (index-time expansion)."""
    description = " ".join(spec.description.split())[:600]
    return (
        "Write 3 different short requests a user might type that need the tool below. Vary the wording.\n"
        'Answer only JSON: {"requests": ["...", "...", "..."]}\n\n'
        f"Tool: {spec.name}: {description}"
    )


def parse_list(text: str, *, limit: int = 5, exclude: str = "") -> list[str]:
    """Strings from an LLM reply: a JSON list (anywhere in a JSON object) or one item per line."""
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
    cleaned = [" ".join(item.split())[:MAX_QUERY_CHARS] for item in items if isinstance(item, str)]
    return _dedupe([c for c in cleaned if len(c.split()) >= 2], exclude=exclude)[:limit]


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


def _dedupe(items: list[str], *, exclude: str = "") -> list[str]:
    seen = {" ".join(exclude.lower().split())} if exclude else set()
    out = []
    for item in items:
        norm = " ".join(item.lower().split())
        if norm and norm not in seen:
            seen.add(norm)
            out.append(item)
    return out


__all__ = ["PROMPT_VERSION", "decompose", "expansion_prompt", "generation_prompt", "parse_list"]
