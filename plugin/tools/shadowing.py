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
    or vectors :data:`SAME_VECTOR` close; each pair ``(a, b)`` with ``a`` before ``b`` in ``specs``.
    ``settled``: keys of tools unchanged since an earlier call, whose pairs among themselves are ``known`` (that
    call's answer): only pairs with a tool not settled are looked for, so a catalog measured again after a write
    compares what the write changed with every tool, not every tool with every tool. Each pair of tools is
    compared once (the fresh tools with one another, a triangle, then with the settled ones), and only pairs
    :data:`CANDIDATE_COSINE` close of different servers reach Python: 50,000 tools all fresh, 241,603 pairs, in
    a third of the time of a loop over every close pair."""
    keys = {s.key for s in specs}
    out = [(a, b) for a, b in known if a in settled and b in settled and a in keys and b in keys]
    fresh = np.asarray([i for i, s in enumerate(specs) if s.key not in settled], dtype=np.int64)
    rest = np.asarray([i for i, s in enumerate(specs) if s.key in settled], dtype=np.int64)
    if not len(fresh):
        return out
    servers: dict[str | None, int] = {}
    server = np.asarray([servers.setdefault(s.namespace, len(servers)) for s in specs], dtype=np.int64)
    words = _Words(specs)
    for start in range(0, len(fresh), _BLOCK):
        rows = fresh[start : start + _BLOCK]
        block = vectors[rows]
        for cols, triangle in ((fresh[start:], True), (rest, False)):
            if not len(cols):
                continue
            sims = block @ vectors[cols].T
            r, c = np.nonzero(sims >= CANDIDATE_COSINE)
            keep = server[rows[r]] != server[cols[c]]
            if triangle:  # a pair of fresh tools once: from the earlier of the two
                keep &= c > r
            r, c = r[keep], c[keep]
            close = sims[r, c] >= SAME_VECTOR
            for i, j, same in zip(rows[r].tolist(), cols[c].tolist(), close.tolist()):
                i, j = (i, j) if i < j else (j, i)
                if same or words.copied(i, j):
                    out.append((specs[i].key, specs[j].key))
    return out


class _Words:
    """What :func:`twins` reads of each tool's description, worked out once per tool, when first asked."""

    def __init__(self, specs: Sequence[ToolSpec]) -> None:
        self._specs = specs
        self._seen: dict[int, tuple[Counter[str], int, int, frozenset[str]]] = {}

    def _of(self, i: int) -> tuple[Counter[str], int, int, frozenset[str]]:
        found = self._seen.get(i)
        if found is None:
            text = self._specs[i].description
            bag = Counter(_WORD.findall(text.lower()))
            words = len(_WORD.findall(text))  # as written: lower-casing can split a word ("İ")
            found = self._seen[i] = (bag, sum(bag.values()), words, frozenset(bag) - STOPWORDS)
        return found

    def copied(self, i: int, j: int) -> bool:
        """Whether tools ``i`` and ``j`` hold nearly the same words, neither dropping a content word of the
        other's (:func:`same_words` and :func:`drops_no_word` over the bags kept)."""
        (bag_i, n_i, words_i, content_i), (bag_j, n_j, words_j, content_j) = self._of(i), self._of(j)
        if min(words_i, words_j) < MIN_WORDS or 2 * sum((bag_i & bag_j).values()) / (n_i + n_j) < SAME_WORDS:
            return False
        short, long = (content_i, content_j) if len(content_i) <= len(content_j) else (content_j, content_i)
        return short <= long


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
