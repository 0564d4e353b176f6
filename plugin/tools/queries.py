"""Where tool-search queries come from besides the raw request: an LLM-free split of multi-step requests,
LLM-written queries (one per capability), and LLM-written synthetic requests per tool (index-time expansion).
Replies are read by :mod:`hopscout.llm.replies`."""

from __future__ import annotations

import re

from ..llm.replies import dedupe
from .spec import ToolSpec

PROMPT_VERSION = "v1"

_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[A-Z\"'(])")
_CONNECTOR = re.compile(
    r"(?:,\s*|\s+)(?:and\s+then|then|and\s+also|also|additionally|moreover|furthermore|after\s+that|afterwards|"
    r"finally|lastly|next|besides|in\s+addition)\b,?\s+",
    re.IGNORECASE,
)
_LEAD = re.compile(
    r"^(?:and|then|also|finally|lastly|additionally|next|please|after that)\b[,\s]*", re.IGNORECASE
)


def decompose(request: str, *, min_words: int = 3, max_parts: int = 6) -> list[str]:
    """LLM-free split of a multi-capability request into its steps (sentences, "then", "also", ...).

    Returns [] when the request has one step; the raw request itself is never among the parts."""
    parts: list[str] = []
    for sentence in _SENTENCE.split(request.strip()):
        for clause in _CONNECTOR.split(sentence):
            clause = _LEAD.sub("", clause.strip(" ,.;")).strip()
            if len(clause.split()) >= min_words:
                parts.append(clause)
    parts = dedupe(parts, exclude=request)
    return parts[:max_parts] if len(parts) >= 2 else []


def generation_prompt(request: str) -> str:
    """Ask for one short tool-describing search query per capability the request needs."""
    return (
        "A user asked an assistant that has many tools. List the tools it needs: one short search query per "
        'action, each naming what the tool does (e.g. "get weather forecast for a city").\n'
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


__all__ = ["PROMPT_VERSION", "decompose", "expansion_prompt", "generation_prompt"]
