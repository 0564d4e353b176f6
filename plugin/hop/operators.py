"""The weight-free hop operators: small named functions from a retrieved passage to the next query.

Embedding-level (``identity``, ``mix``) need no LLM and no re-encoding; ``entity`` and ``bridge`` are
text-level (one BM25 query each, no LLM and no re-encoding either). The trained ones live in
:mod:`hopscout.hop.learned`; all are declared in :mod:`hopscout.hop.registry`."""

from __future__ import annotations

import re

from ..vectors import unit
from .types import HopInput, HopQuery


def identity(inp: HopInput) -> HopQuery:
    """The question again: a plain second search (the control)."""
    return HopQuery(vector=inp.q)


def mix(inp: HopInput, weight: float = 0.5) -> HopQuery:
    """Rocchio-style: the question moved towards the passage, ``q + w·c``."""
    return HopQuery(vector=unit(inp.q + weight * inp.c))


_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "by",
        "with",
        "from",
        "and",
        "or",
        "is",
        "was",
        "were",
        "be",
        "been",
        "who",
        "what",
        "which",
        "when",
        "where",
        "why",
        "how",
        "did",
        "does",
        "do",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "as",
        "his",
        "her",
        "their",
        "has",
        "have",
        "had",
        "he",
        "she",
        "they",
    ]
)
_PHRASE = re.compile(r"[A-Z][\w'.\-]*(?:\s+(?:of|the|de|la|von|van|and|&)?\s*[A-Z][\w'.\-]*)*")


def bridge_entities(passage: str, question: str, limit: int = 8) -> list[str]:
    """Capitalised phrases of a passage that the question does not already name: the candidate bridges."""
    asked = {w.lower() for w in re.findall(r"\w+", question)}
    found: list[str] = []
    for phrase in _PHRASE.findall(passage):
        words = [w.lower() for w in re.findall(r"\w+", phrase)]
        if words and not all(w in asked or w in _STOP for w in words) and phrase not in found:
            found.append(phrase)
        if len(found) >= limit:
            break
    return found


def entity(inp: HopInput) -> HopQuery:
    """Text-level: BM25 over the passage's bridge entities (names the question does not mention)."""
    names = bridge_entities(inp.passage, inp.question)
    return HopQuery(text=" ".join(names)) if names else HopQuery()


def bridge(inp: HopInput) -> HopQuery:
    """Text-level: BM25 over the question plus the passage's bridge entities (the default: see the README)."""
    names = bridge_entities(inp.passage, inp.question)
    return HopQuery(text=f"{inp.question} {' '.join(names)}") if names else HopQuery()
