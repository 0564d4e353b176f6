"""Data shipped inside the package (the sample corpus, hop weights), read through ``importlib.resources``.

Never from the source tree: an installed hopscout has no ``plugin/`` folder."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from .errors import HopscoutError


def package_path(*parts: str) -> Path:
    """A file or folder shipped with hopscout, as a filesystem path (``package_path("sample")``).

    hopscout installs as plain files (never zipped), so the resource is already on disk; anything else is a
    broken install, reported as such."""
    resource = files("hopscout").joinpath(*parts)
    path = Path(str(resource))
    if not isinstance(resource, Path) and not path.exists():
        raise HopscoutError(
            f"hopscout's packaged data {'/'.join(parts)!r} is not on disk: reinstall hopscout"
        )
    return path
