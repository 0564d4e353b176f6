"""The pairs a catalog's measure found among its tools — twins (:mod:`.shadowing`) and equivalent tools
(:mod:`.grouping`) — kept in a file beside the collection's local files, so that a new process pairs only the
tools changed since it was written rather than every tool with every tool (50,000 tools: 13 s of twins and 6 s
of groups on each start).

Pairs depend on the tools alone: the file holds each tool's content hash as it was when paired, and a pair is
taken from it only while both its tools keep that hash (the caller's ``settled`` set; :func:`shadowing.twins`
and :func:`grouping.equivalent_edges` look for every pair with a changed tool). A file written under other
rules (another format, hopscout release or threshold) is not read. A :mod:`.sidecar` file: a cache, never the
record (a missing, unreadable or foreign file costs one full pairing), replaced whole by each writer, so that a
reader sees one measure's pairs, complete for the tools it names."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from . import grouping, shadowing, sidecar

_log = logging.getLogger("hopscout.tools")
FORMAT = "1"
_WHAT = "tool pairs"


@dataclass(frozen=True)
class Pairs:
    """What one measure paired: the tools it looked among (key → content hash), their twins, and the edges of
    equivalent tools (key pair → cosine)."""

    over: Mapping[str, str] = field(default_factory=dict)
    twins: Sequence[tuple[str, str]] = field(default_factory=list)
    edges: Mapping[tuple[str, str], float] = field(default_factory=dict)


def rules() -> str:
    """What the pairs were found under: this file's format, the release, and every threshold the two rules
    read. Pairs found under other rules are found again."""
    values = (
        FORMAT,
        __version__,
        shadowing.SAME_WORDS,
        shadowing.CANDIDATE_COSINE,
        shadowing.SAME_VECTOR,
        shadowing.MIN_WORDS,
        grouping.GROUP_COSINE,
        grouping.SAME_CONTENT,
        grouping.MIN_CONTENT_WORDS,
        grouping.MAX_BUCKET,
    )
    return hashlib.sha256(repr(values).encode()).hexdigest()[:16]


def load(path: Path) -> Pairs | None:
    """The pairs stored at ``path``; None when there are none, the file is unreadable or holds pairs found
    under other :func:`rules`."""
    stored = sidecar.load(path, rules(), _WHAT)
    if stored is None:
        return None
    try:
        keys = stored["keys"].tolist()
        hashes = stored["hashes"].tolist()
        twins = stored["twins"].reshape(-1, 2).tolist()
        edges = stored["edges"].reshape(-1, 2).tolist()
        cosines = stored["cosines"].tolist()
        if len(hashes) != len(keys) or len(cosines) != len(edges):
            raise ValueError("arrays of different lengths")
        return Pairs(
            over=dict(zip(keys, hashes)),
            twins=[(keys[a], keys[b]) for a, b in twins],
            edges={(keys[a], keys[b]): float(c) for (a, b), c in zip(edges, cosines)},
        )
    except (KeyError, ValueError, IndexError) as exc:
        _log.info("%s at %s not read (%s); worked out again", _WHAT, path, exc)
        return None


def save(path: Path, pairs: Pairs) -> None:
    """Store ``pairs`` at ``path``, replacing what was there in one step; a failure is logged, not raised (the
    next process pairs its tools again)."""
    keys = list(pairs.over)
    row = {key: i for i, key in enumerate(keys)}

    def indices(found: Sequence[tuple[str, str]]) -> np.ndarray:
        return np.asarray(
            [(row[a], row[b]) for a, b in found if a in row and b in row], dtype=np.int32
        ).reshape(-1, 2)

    edges = [pair for pair in pairs.edges if pair[0] in row and pair[1] in row]
    arrays = {
        "keys": np.asarray(keys, dtype=str),
        "hashes": np.asarray([pairs.over[key] for key in keys], dtype=str),
        "twins": indices(pairs.twins),
        "edges": indices(edges),
        "cosines": np.asarray([pairs.edges[pair] for pair in edges], dtype=np.float64),
    }
    sidecar.save(path, rules(), _WHAT, arrays)


__all__ = ["FORMAT", "Pairs", "load", "rules", "save"]
