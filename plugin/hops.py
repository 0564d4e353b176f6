"""Multi-hop retrieval: after a first retrieval, each of the top ``beam`` passages spawns a next query through a
**hop operator**, and the passages the next layer finds fill the last slots of one merged ranked list.

Operators are small named functions behind :func:`get_operator`. Each takes the question, its embedding ``q``,
one retrieved passage's text and embedding ``c``, and returns a :class:`HopQuery`: a vector (searched densely),
a text (searched with BM25), or both (fused). Embedding-level operators (``identity``, ``mix``, ``treehop``,
``learned``) need no LLM and no re-encoding; ``entity`` and ``bridge`` are text-level (one BM25 query each, no
LLM and no re-encoding either)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InvalidArgumentError


@dataclass(frozen=True)
class HopInput:
    """What an operator sees for one retrieved passage."""

    question: str
    q: np.ndarray
    passage: str
    c: np.ndarray


@dataclass(frozen=True)
class HopQuery:
    """The next query: a dense vector, a BM25 text, or both."""

    vector: np.ndarray | None = None
    text: str | None = None


HopOperator = Callable[[HopInput], HopQuery]


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def identity(inp: HopInput) -> HopQuery:
    """The question again: a plain second search (the control)."""
    return HopQuery(vector=inp.q)


def mix(inp: HopInput, weight: float = 0.5) -> HopQuery:
    """Rocchio-style: the question moved towards the passage, ``q + w·c``."""
    return HopQuery(vector=_unit(inp.q + weight * inp.c))


_STOP = frozenset(
    "the a an of in on at to for by with from and or is was were be been who what which when where why how did does "
    "do that this these those it its as his her their has have had he she they".split()
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


OPERATORS: dict[str, HopOperator] = {"identity": identity, "mix": mix, "entity": entity, "bridge": bridge}


def get_operator(name: str, also_valid: Sequence[str] = ()) -> HopOperator:
    """The weight-free operator called ``name``; raises InvalidArgumentError listing the valid names."""
    try:
        return OPERATORS[name]
    except KeyError:
        names = sorted({*OPERATORS, *also_valid})
        raise InvalidArgumentError(f"Unknown hop operator {name!r}; choose one of {names}") from None


def fill_slots(k: int, fill_ratio: float) -> int:
    """How many of the ``k`` result slots later hops may take (the rest keep the first hop's order)."""
    return max(1, min(k - 1, int(round(k * fill_ratio)))) if k > 1 else 0


def merge(first: list[Any], later: list[Any], k: int, fill: int, key: Callable[[Any], str]) -> list[Any]:
    """Keep the first hop's top ``k - fill``, then the best unseen later-hop results, then the first hop's rest."""
    kept = first[: k - fill]
    seen = {key(h) for h in kept}
    out = list(kept)
    for hit in later:
        if len(out) >= k:
            break
        if key(hit) not in seen:
            out.append(hit)
            seen.add(key(hit))
    for hit in first[k - fill :]:
        if len(out) >= k:
            break
        if key(hit) not in seen:
            out.append(hit)
            seen.add(key(hit))
    return out
