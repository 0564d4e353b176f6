"""Build the installed layout of hopscout as a tree of file links (``build/layout/hopscout/...``), read from
pyproject's package-dir map, so tools that find packages by walking folders (import-linter's grimp, mypy)
see ``plugin/`` as ``hopscout`` and ``adapters/`` / ``servers/`` inside it. Files are linked, folders are
real, so a walk finds every module and an edit shows at once; run it again after adding or removing a file."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent


def build(out: Path) -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    if out.exists():
        shutil.rmtree(out)
    for package, folder in sorted(config["package-dir"].items()):
        target = out.joinpath(*package.split("."))
        for source in sorted((ROOT / folder).rglob("*")):
            if source.is_file() and "__pycache__" not in source.parts:
                link = target / source.relative_to(ROOT / folder)
                link.parent.mkdir(parents=True, exist_ok=True)
                if not link.exists():
                    link.symlink_to(source)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "layout")
