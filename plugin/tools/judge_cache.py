"""The flags of tools judged on reading, kept beside the collection's local files: a tool whose stored judgement
the judge in force did not make (stored before judgements were, or by another release or order detector) is
judged when a process reads the catalog (:mod:`.exposure`), and a :mod:`.sidecar` file keeps that judgement so
that the next process on this machine takes it instead of judging again (50,000 such tools: 27 s on every
start). Only clean tools' flags are kept (the tool an agent is shown is then the stored one, as
:func:`exposure.stored_flags` requires), by the tool's content hash and under :func:`exposure.judged_by`: a judge
of another format, release, Unicode data or order detector reads nothing."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from . import sidecar
from .exposure import judged_by

_WHAT = "tool judgements"
_SEP = "\x1f"  # between a tool's flags (no flag holds it)


def load(path: Path) -> dict[str, tuple[str, ...]]:
    """Content hash → flags of the clean tools judged by the judge in force, as stored at ``path`` (empty when
    none are)."""
    stored = sidecar.load(path, judged_by(), _WHAT)
    if stored is None or "hashes" not in stored or "flags" not in stored:
        return {}
    hashes, flags = stored["hashes"].tolist(), stored["flags"].tolist()
    if len(hashes) != len(flags):
        return {}
    return {h: tuple(f.split(_SEP)) if f else () for h, f in zip(hashes, flags)}


def save(path: Path, flags: Mapping[str, tuple[str, ...]]) -> None:
    """Store the flags of clean tools by content hash, judged by the judge in force, at ``path`` (whole)."""
    sidecar.save(
        path,
        judged_by(),
        _WHAT,
        {
            "hashes": np.asarray(list(flags), dtype=str),
            "flags": np.asarray([_SEP.join(found) for found in flags.values()], dtype=str),
        },
    )


__all__ = ["load", "save"]
