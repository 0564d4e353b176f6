"""Files of arrays kept beside a collection's local files as caches of what a catalog works out from its tools
(:mod:`.pair_cache`, :mod:`.judge_cache`): each stamped with what it was worked out under, replaced whole in one
step (a temporary file, then a rename: a reader sees one writer's file or another's, never half of one), and
never the record: a missing, foreign or damaged file reads as None and a failed write is logged, not raised."""

from __future__ import annotations

import logging
import os
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

_log = logging.getLogger("hopscout.tools")
_STAMP = "stamp"
_savez: Callable[..., None] = np.savez  # arrays by name (numpy's stub reads a name as its allow_pickle flag)


def load(path: Path, stamp: str, what: str) -> dict[str, np.ndarray] | None:
    """The arrays stored at ``path`` when they were stamped ``stamp``; None when there is no file, it holds
    another stamp or cannot be read (``what`` it holds, for the log)."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            if _STAMP not in stored.files or str(stored[_STAMP]) != stamp:
                return None
            return {name: stored[name] for name in stored.files if name != _STAMP}
    except FileNotFoundError:
        return None
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # EOFError: an empty file
        _log.info("%s at %s not read (%s); worked out again", what, path, exc)
        return None


def save(path: Path, stamp: str, what: str, arrays: dict[str, np.ndarray]) -> None:
    """Store ``arrays`` stamped ``stamp`` at ``path``, replacing what was there in one step; a failure is logged
    (``what`` they hold), not raised."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                _savez(out, **{_STAMP: np.asarray(stamp), **arrays})
                out.flush()
                # on disk before it takes the name: a crash leaves the old file or this one, never an empty one
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        _log.warning("%s not stored at %s (%s); a new process works them out again", what, path, exc)


__all__ = ["load", "save"]
