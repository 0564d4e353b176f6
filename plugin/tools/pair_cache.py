"""The twins a catalog's measure found among its tools (:mod:`.shadowing`: copies across servers) kept in a file
beside the collection's local files, so that a new process pairs only the tools changed since it was written
rather than every tool with every tool (50,000 tools: 13 s on each start).

Twins depend on the two tools alone: the file holds each tool's content hash as it was when paired, and a pair
is taken from it only while both its tools keep that hash (the caller's ``settled`` set; :func:`shadowing.twins`
looks for every pair with a changed tool). (Equivalent tools are not kept: whether two tools are compared at
all depends on the whole catalog, :func:`.grouping.equivalent_edges`.) A file written under other
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
from . import shadowing, sidecar

_log = logging.getLogger("hopscout.tools")
FORMAT = "1"
_WHAT = "tool pairs"


@dataclass(frozen=True)
class Pairs:
    """What one measure paired: the tools it looked among (key → content hash) and their twins."""

    over: Mapping[str, str] = field(default_factory=dict)
    twins: Sequence[tuple[str, str]] = field(default_factory=list)


def rules() -> str:
    """What the pairs were found under: this file's format, the release, and every threshold the twin rule
    reads. Pairs found under other rules are found again."""
    values = (
        FORMAT,
        __version__,
        shadowing.SAME_WORDS,
        shadowing.CANDIDATE_COSINE,
        shadowing.SAME_VECTOR,
        shadowing.MIN_WORDS,
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
        if len(hashes) != len(keys):
            raise ValueError("arrays of different lengths")
        return Pairs(over=dict(zip(keys, hashes)), twins=[(keys[a], keys[b]) for a, b in twins])
    except (KeyError, ValueError, IndexError) as exc:
        _log.info("%s at %s not read (%s); worked out again", _WHAT, path, exc)
        return None


def save(path: Path, pairs: Pairs) -> None:
    """Store ``pairs`` at ``path``, replacing what was there in one step; a failure is logged, not raised (the
    next process pairs its tools again)."""
    keys = list(pairs.over)
    row = {key: i for i, key in enumerate(keys)}

    twins = [(row[a], row[b]) for a, b in pairs.twins if a in row and b in row]
    arrays = {
        "keys": np.asarray(keys, dtype=str),
        "hashes": np.asarray([pairs.over[key] for key in keys], dtype=str),
        "twins": np.asarray(twins, dtype=np.int32).reshape(-1, 2),
    }
    sidecar.save(path, rules(), _WHAT, arrays)


__all__ = ["FORMAT", "Pairs", "load", "rules", "save"]
