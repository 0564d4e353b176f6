"""A catalog's first measure (:mod:`.hubness` over its own views and documents, and its equivalent tools,
:mod:`.grouping`) kept in a file beside the collection's local files, so that a new process opening an
unchanged catalog takes it rather than working it out (50,000 tools: the first ``find_tools`` of every new
process read every tool vector from the store, searched 600 probes and grouped the catalog, 15-20 s).

Only a measure taken before any request was logged is kept (requests are probes too, and a new process has
logged none), and it is taken only for the very catalog it was worked out over: the stamp holds the file's
format, the release, the store's id of the collection, the settings and thresholds it was worked out under,
and a digest of every tool's and every view set's content hash. Twins are not in it (:mod:`.pair_cache` keeps them,
each pair under its two tools' hashes). A :mod:`.sidecar` file: a cache, never the record (a missing, foreign or
damaged file costs one measure worked out), replaced whole by each writer."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from . import sidecar

_log = logging.getLogger("hopscout.tools")
FORMAT = "1"
_WHAT = "tool catalog measure"


@dataclass(frozen=True)
class KeptMeasure:
    """What a stored first measure holds: the hubs, each tool's CSLS penalty, and the equivalent-tool groups
    (key → its group's keys)."""

    hubs: frozenset[str]
    penalty: Mapping[str, float]
    groups: Mapping[str, tuple[str, ...]]


def stamp(
    collection_id: str,
    rules: tuple[object, ...],
    hashes: Mapping[str, str],
    view_hashes: Mapping[str, str],
) -> str:
    """What a measure was worked out over: this file's format, the release, the collection as the store knows
    it, the ``rules`` (the settings the probes were searched under and the thresholds of the measure, as the
    caller reads them), and every tool's content hash and every view set's hash (a tool or view changed, added
    or removed: another stamp)."""
    digest = hashlib.sha256(repr((FORMAT, __version__, collection_id, rules)).encode())
    for key in sorted(hashes):
        digest.update(f"\0{key}\0{hashes[key]}\0{view_hashes.get(key, '')}".encode())
    return digest.hexdigest()[:24]


def load(path: Path, stamp: str) -> KeptMeasure | None:
    """The measure stored at ``path`` under ``stamp``; None when there is none, the file is unreadable or it
    was worked out over another catalog or under other rules."""
    stored = sidecar.load(path, stamp, _WHAT)
    if stored is None:
        return None
    try:
        keys = stored["keys"].tolist()
        penalty = stored["penalty"].tolist()
        hubs = stored["hubs"].tolist()
        members, sizes = stored["group_members"].tolist(), stored["group_sizes"].tolist()
        if len(penalty) != len(keys) or sum(sizes) != len(members):
            raise ValueError("arrays of different lengths")
        groups: dict[str, tuple[str, ...]] = {}
        at = 0
        for size in sizes:
            group = tuple(keys[i] for i in members[at : at + size])
            at += size
            groups.update((key, group) for key in group)
        return KeptMeasure(
            hubs=frozenset(keys[i] for i in hubs),
            penalty={key: float(p) for key, p in zip(keys, penalty) if not np.isnan(p)},
            groups=groups,
        )
    except (KeyError, ValueError, IndexError) as exc:
        _log.info("%s at %s not read (%s); worked out again", _WHAT, path, exc)
        return None


def save(
    path: Path,
    stamp: str,
    keys: Sequence[str],
    hubs: frozenset[str] | set[str],
    penalty: Mapping[str, float],
    groups: Mapping[str, tuple[str, ...]],
) -> None:
    """Store a first measure of the catalog of ``keys`` under ``stamp`` at ``path``, replacing what was there in
    one step; a failure is logged, not raised (the next process works it out again)."""
    row = {key: i for i, key in enumerate(keys)}
    distinct = {group for group in groups.values() if all(key in row for key in group)}
    ordered = sorted(distinct)
    arrays = {
        "keys": np.asarray(list(keys), dtype=str),
        "penalty": np.asarray([penalty.get(key, np.nan) for key in keys], dtype=np.float64),
        "hubs": np.asarray(sorted(row[key] for key in hubs if key in row), dtype=np.int32),
        "group_members": np.asarray([row[key] for group in ordered for key in group], dtype=np.int32),
        "group_sizes": np.asarray([len(group) for group in ordered], dtype=np.int32),
    }
    sidecar.save(path, stamp, _WHAT, arrays)


__all__ = ["FORMAT", "KeptMeasure", "load", "save", "stamp"]
