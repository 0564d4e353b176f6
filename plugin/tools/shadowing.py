"""Shadowing: a tool that copies another server's tool (the same description up to small edits, under any name)
to take its requests.

Two tools of different servers (or one the catalog owner's own) are *twins* when their descriptions hold nearly
the same words (:func:`same_words`: a bag-of-words overlap, so swapped sentences or an added "Official
version." stay twins) or their documents' vectors nearly coincide. In a pair of twins the one that keeps its
place is the *vouched* one (a trusted server's or the owner's: :func:`guard.vouched`), else the one the catalog
stored first (its write's sequence number, strictly smaller); the other is its *shadow*: flagged, demoted like
any flagged untrusted tool, and never ranked above it. Twins of untrusted servers stored in the same write are
both flagged with nothing to stay below: who answered first says nothing about who is honest (the model is
:func:`guard.name_clashes`)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet

import numpy as np

from ..analysis import STOPWORDS
from .guard import UNTRUSTED, vouched
from .spec import ToolSpec

# Set on clean catalogs only (MetaTool and Seal-Tools, registered without servers, have no pairs to flag): of
# LiveMCPBench's 527 real tools from 70 servers, 3 (0.6%) are flagged, puppeteer's copies of playwright's
# "fill out an input field", "hover an element on the page", "select an element ...": word for word the same.
# Twins share this share of their descriptions' words ...
SAME_WORDS = 0.85
CANDIDATE_COSINE = (
    0.75  # ... among pairs whose documents' vectors are at least this close (a cheap first cut)
)
SAME_VECTOR = 0.97  # or their documents' vectors are this close whatever their words
MIN_WORDS = 4  # shorter descriptions say too little to call one a copy of another
_WORD = re.compile(r"\w+")
_BLOCK = 1024


def same_words(a: str, b: str) -> float:
    """The share of words two texts hold in common (Dice over their bags of lower-cased words: 1.0 the same
    words in any order, 0.0 none in common)."""
    wa, wb = Counter(_WORD.findall(a.lower())), Counter(_WORD.findall(b.lower()))
    total = sum(wa.values()) + sum(wb.values())
    return 2 * sum((wa & wb).values()) / total if total else 0.0


def drops_no_word(a: str, b: str) -> bool:
    """Whether the shorter text's content words are all in the longer: a copy keeps every word it copies (it may
    add "Official version."); MetaTool's "... information about house renting" and "... house purchasing" share
    91% of their words but each holds one the other lacks."""
    wa, wb = (set(_WORD.findall(t.lower())) - STOPWORDS for t in (a, b))
    short, long = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    return short <= long


def twins(
    specs: Sequence[ToolSpec],
    vectors: np.ndarray,
    *,
    settled: AbstractSet[str] = frozenset(),
    known: Sequence[tuple[str, str]] = (),
) -> list[tuple[str, str]]:
    """Pairs of tools of different servers (``vectors[i]``: ``specs[i]``'s document vector, unit length) that
    copy one another: a bag-of-words overlap of at least :data:`SAME_WORDS` in their descriptions among pairs
    :data:`CANDIDATE_COSINE` close in which neither drops a content word of the other (:func:`drops_no_word`),
    or vectors :data:`SAME_VECTOR` close. ``settled``: keys of tools unchanged since an earlier call, whose
    pairs among themselves are ``known`` (that call's answer): only pairs with a tool not settled are looked
    for, so a catalog measured again after a write compares what the write changed with every tool, not every
    tool with every tool (all pairs: 50 s at 50,000 tools)."""
    keys = {s.key for s in specs}
    out = [(a, b) for a, b in known if a in settled and b in settled and a in keys and b in keys]
    fresh = [i for i, s in enumerate(specs) if s.key not in settled]
    is_fresh = np.zeros(len(specs), dtype=bool)
    is_fresh[fresh] = True
    for start in range(0, len(fresh), _BLOCK):
        rows = fresh[start : start + _BLOCK]
        sims = vectors[rows] @ vectors.T
        for r, j in zip(*np.nonzero(sims >= CANDIDATE_COSINE)):
            i, j = rows[int(r)], int(j)
            if i == j or (is_fresh[j] and j < i):  # a pair of fresh tools is taken once, from its first
                continue
            a, b = (specs[i], specs[j]) if i < j else (specs[j], specs[i])
            if a.namespace == b.namespace:
                continue
            if sims[r, j] >= SAME_VECTOR or (
                min(len(_WORD.findall(a.description)), len(_WORD.findall(b.description))) >= MIN_WORDS
                and same_words(a.description, b.description) >= SAME_WORDS
                and drops_no_word(a.description, b.description)
            ):
                out.append((a.key, b.key))
    return out


def shadows(
    pairs: Sequence[tuple[str, str]],
    specs: Mapping[str, ToolSpec],
    trust: Mapping[str, str],
    first_seen: Mapping[str, int],
) -> dict[str, tuple[str, ...]]:
    """The shadows among twin ``pairs``, each with the tools it must stay below (``trust``: key → its server's
    level; ``first_seen``: key → the sequence number of the write that stored it, 0 when unknown). An empty
    tuple: a twin of untrusted tools stored together, flagged with nothing to stay below."""
    below: dict[str, set[str]] = {}
    for a, b in pairs:
        if a not in specs or b not in specs:
            continue
        va = vouched(specs[a].namespace, trust.get(a, UNTRUSTED))
        vb = vouched(specs[b].namespace, trust.get(b, UNTRUSTED))
        if va and vb:
            continue
        sa, sb = first_seen.get(a, 0), first_seen.get(b, 0)
        if va or (not vb and 0 < sa < sb):
            below.setdefault(b, set()).add(a)
        elif vb or (0 < sb < sa):
            below.setdefault(a, set()).add(b)
        else:  # untrusted both, stored together (or before sequence numbers): the pair is flagged
            below.setdefault(a, set())
            below.setdefault(b, set())
    return {key: tuple(sorted(originals)) for key, originals in below.items()}


__all__ = ["SAME_VECTOR", "SAME_WORDS", "drops_no_word", "same_words", "shadows", "twins"]
