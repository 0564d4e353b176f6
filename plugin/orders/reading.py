"""A text as the detector reads it: the letters an agent sees (look-alikes folded, invisible characters
dropped), cut into sentences and clauses, since one order hidden in a long honest description is enough."""

from __future__ import annotations

import re
from functools import lru_cache

from ..agent_text import read_text

_BREAK = re.compile(r"(?<=[.!?;])\s+|\n+|\s*</?\s*[A-Za-z_]+\s*>\s*|\s+[-*•]\s+")
# _BREAK's \s* alternatives rescan a run of whitespace from each of its positions (100,000 spaces took 52 s):
# each run is first made one character, a newline if it holds one
_SPACES = re.compile(r"\s+")
# a longer text is judged on its first 200 sentences (schema texts are capped upstream too)
MAX_SENTENCES = 200
MIN_CHARS = 3


def readable(text: str) -> str:
    """``text`` as a judge reads it (:func:`hopscout.agent_text.read_text`'s skeleton): NFKC, without invisible
    characters, look-alike letters folded to Latin."""
    return read_text(text).skeleton


def sentences(text: str) -> list[str]:
    """The lower-cased sentences and clauses of ``text`` after :func:`readable`."""
    return list(_sentences(text))


# a catalog is judged again on every index and eval run; fitting reads texts again
@lru_cache(maxsize=1 << 15)
def _sentences(text: str) -> tuple[str, ...]:
    flat = _SPACES.sub(lambda run: "\n" if "\n" in run.group() else " ", readable(text))
    parts = (part.strip().lower() for part in _BREAK.split(flat))
    return tuple(part for part in parts if len(part) >= MIN_CHARS)[:MAX_SENTENCES]
