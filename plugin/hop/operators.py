"""The weight-free hop operators: small named functions from a retrieved passage to the next query.

Embedding-level (``identity``, ``mix``, ``phrase``) need no LLM and no encoding at search time; ``entity`` and
``bridge`` are text-level (one BM25 query each, no LLM and no re-encoding either); ``bridge_phrase`` runs both
and fuses them. The trained ones live in :mod:`hopscout.hop.learned`; all are declared in
:mod:`hopscout.hop.registry`."""

from __future__ import annotations

import re

import numpy as np

from ..vectors import unit, unit_rows
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


PHRASES_PER_HOP = 8
ASKED_COSINE = 0.9  # a phrase this close to the question adds nothing it does not already ask


def hop_phrases(inp: HopInput, limit: int = PHRASES_PER_HOP) -> np.ndarray:
    """The passage's key-phrase vectors that point away from the question: phrases whose words the question
    does not all hold, and whose vector is not already the question's (cosine <= 0.9), best first."""
    vectors = inp.phrase_vectors
    if vectors is None or not len(inp.phrases):
        return np.zeros((0, len(inp.q)), dtype=np.float32)
    asked = {w.lower() for w in re.findall(r"\w+", inp.question)}
    keep = [
        n
        for n, phrase in enumerate(inp.phrases)
        if not all(w in asked or w in _STOP for w in phrase.split())
        and float(vectors[n] @ inp.q) <= ASKED_COSINE
    ]
    return vectors[keep[:limit]]


def phrase(inp: HopInput, weight: float = 1.0) -> HopQuery:
    """Embedding-level: one query per key phrase of the passage, ``q + w·e`` normalised; a passage scores its
    best match. The phrase vectors were encoded when the passage was written (:mod:`hopscout.hop.phrases`)."""
    vectors = hop_phrases(inp)
    return HopQuery(vector=unit_rows(inp.q + weight * vectors)) if len(vectors) else HopQuery()


def bridge_phrase(inp: HopInput) -> HopQuery:
    """Both: the ``bridge`` BM25 query and the ``phrase`` vectors, their ranked lists fused by reciprocal rank."""
    return HopQuery(vector=phrase(inp).vector, text=bridge(inp).text)
