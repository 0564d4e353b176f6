"""What one bench process measures about itself: resident memory, and disk used under a folder."""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path


def memory_mb() -> dict[str, float]:
    """This process's resident memory now and at its peak, in MB (Linux reads /proc; elsewhere the peak only)."""
    status = Path("/proc/self/status")
    if status.is_file():
        fields = dict(
            line.split(":", 1)
            for line in status.read_text().splitlines()
            if line.startswith(("VmRSS", "VmHWM"))
        )
        return {
            "rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
            "peak_rss_mb": int(fields["VmHWM"].split()[0]) / 1024,
        }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KB on Linux, bytes on macOS
    peak_mb = peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
    return {"rss_mb": peak_mb, "peak_rss_mb": peak_mb}


def disk_mb(folder: Path) -> float:
    """Space the files under ``folder`` take on disk (allocated blocks, so sparse files count as stored), MB."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                stat = os.stat(os.path.join(root, name))
            except FileNotFoundError:  # a temporary file went away while we walked
                continue
            total += getattr(stat, "st_blocks", 0) * 512 or stat.st_size
    return total / (1024 * 1024)
