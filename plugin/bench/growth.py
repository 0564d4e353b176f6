"""Growth: one collection per size, each built by one child process and measured by a fresh one."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .children import run_child
from .process import disk_mb

Log = Callable[[str], None]


def _built_size(home: Path) -> int | None:
    """The chunk count a previous run finished building under ``home`` (None: nothing, or half built)."""
    marker = home / "built"
    return int(marker.read_text()) if marker.is_file() else None


def measure_size(size: int, home: Path, files: dict[str, str], log: Log) -> dict[str, Any]:
    """Build (or reuse) a ``size``-chunk collection under ``home``, then probe it from a fresh process."""
    row: dict[str, Any] = {}
    if _built_size(home) != size:
        shutil.rmtree(home, ignore_errors=True)
        log(f"building {size} chunks (precomputed vectors) ...")
        built = run_child("build", {"home": str(home), "size": size, **files})
        (home / "built").write_text(str(size))
        row["build"] = {
            "seconds": built["build_s"],
            "docs_per_s": size / built["build_s"],
            "peak_rss_mb": built["peak_rss_mb"],
        }
    else:
        log(f"reusing the {size}-chunk collection under {home} (build time not measured again)")
    row["disk_mb"] = disk_mb(home)
    log(f"timing searches at {size} chunks in a fresh process ...")
    row["probe"] = run_child("probe", {"home": str(home), **files})
    return row
