"""Files and folders → chunks in a collection, incrementally.

Each chunk records its file (``source``), the folder it was ingested under (``ingest_root``), the file's hash
and chunk count. A re-run skips a file whose hash matches and whose chunks are all present, replaces a changed
(or half-written) file, and removes the chunks of files that are gone. Chunk ids hash the source, offset and
text, so re-writing after a crash overwrites rather than duplicates.

What may be read: every file the walk reaches is resolved (symlinks followed) and must lie under the allowed
folders (``roots``; by default the ingested path itself), and a link is followed only to a file the walk would
take itself (not hidden, not in a tool folder, of a supported type). Links to folders are never entered, so a
link loop cannot recur. Files over HOPSCOUT_MAX_FILE_BYTES are skipped unread. A file skipped for any of these
reasons counts as gone: chunks an earlier run stored for it are removed (and it is listed under ``removed``); a
file that fails to read keeps them."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path, PurePath
from typing import Any, NamedTuple

from ..embedders import bundled_model_path
from ..engine import Engine
from ..errors import InvalidArgumentError, UnreadableFileError
from ..index import CollectionIndex
from ..types import IngestReport
from .chunking import Chunker
from .loaders import file_kind, load_file, parse_file, read_file, too_large

_SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache"}


NO_TEXT = "no text to index (an empty file, or a PDF of scanned pages without a text layer)"
OUTSIDE_FILE = "symlink to a file outside the allowed folders"
OUTSIDE_FOLDER = "symlink to a folder outside the allowed folders"
LINKED_FOLDER = "symlink to a folder (links to folders are not followed)"
LINK_TO_SKIPPED = "symlink to a file ingest skips (hidden, in a tool folder, or of an unsupported type)"
BROKEN_LINK = "broken symlink or symlink loop"
NOT_REGULAR = "not a regular file (a pipe or device)"


class Allowed:
    """The folders an ingest may read, resolved once, and where a resolved path sits in them."""

    def __init__(self, roots: Sequence[str | Path]) -> None:
        if isinstance(roots, (str, bytes, os.PathLike)) or not all(
            isinstance(r, (str, os.PathLike)) for r in roots
        ):
            raise InvalidArgumentError(f"roots must be a list of folder paths, got {roots!r:.200}")
        self.roots = [Path(r).expanduser().resolve() for r in roots]

    def place(self, resolved: Path) -> PurePath | None:
        """``resolved`` relative to the first allowed folder holding it; None when none does."""
        for root in self.roots:
            if resolved == root or resolved.is_relative_to(root):
                return resolved.relative_to(root)
        return None

    def __str__(self) -> str:
        return ", ".join(str(r) for r in self.roots) or "none"


def _passed_over(place: PurePath) -> bool:
    """Whether the walk passes over this place: a hidden part or a tool folder (.git, node_modules, ...)."""
    return any(part.startswith(".") or part in _SKIP_DIRS for part in place.parts)


class Checked(NamedTuple):
    """A file the walk may read: its path as found, where it resolved, and the file's identity (device,
    inode) when checked, which the read compares after opening (a folder on the way swapped for a link since
    would open another file)."""

    path: Path
    resolved: Path
    identity: tuple[int, int]


def _follow(path: Path, allowed: Allowed, max_bytes: int) -> tuple[Checked | None, str | None]:
    """The file ``path`` checked, if it may be read, else why not."""
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop, before Python 3.13
        return None, BROKEN_LINK
    place = allowed.place(resolved)
    if place is None:
        return None, OUTSIDE_FILE
    if resolved != path and (_passed_over(place) or file_kind(resolved) is None):
        return None, LINK_TO_SKIPPED
    try:
        info = resolved.stat()
    except OSError as exc:
        return None, f"cannot read it: {exc.strerror or exc}"
    if not resolved.is_file():
        return None, NOT_REGULAR
    if info.st_size > max_bytes:
        return None, f"over the size limit of {max_bytes} bytes (HOPSCOUT_MAX_FILE_BYTES)"
    return Checked(path, resolved, (info.st_dev, info.st_ino)), None


def _files_under(root: Path, allowed: Allowed, max_bytes: int) -> tuple[list[Checked], dict[str, str]]:
    """The files to ingest under ``root`` (each with where it resolves), and the paths passed over with why.
    Hidden folders, tool folders (.git, node_modules, virtualenvs, caches) and links to folders are not
    entered; special files (pipes, sockets, devices) are passed over silently."""
    found: list[Checked] = []
    skipped: dict[str, str] = {}
    for folder, dirs, names in os.walk(root):  # followlinks=False: a link to a folder is listed, not entered
        entered = []
        for name in sorted(dirs):
            path = Path(folder) / name
            if name in _SKIP_DIRS or name.startswith("."):
                continue
            if path.is_symlink():
                try:
                    inside = allowed.place(path.resolve(strict=True)) is not None
                except (OSError, RuntimeError):
                    inside = False
                skipped[str(path)] = LINKED_FOLDER if inside else OUTSIDE_FOLDER
                continue
            entered.append(name)
        dirs[:] = entered
        for name in sorted(names):
            path = Path(folder) / name
            link = path.is_symlink()
            if not link and not path.is_file():
                continue
            if name.startswith("."):
                skipped[str(path)] = "hidden file"
            elif file_kind(path) is None:
                skipped[str(path)] = f"unsupported type ({path.suffix or 'no suffix'})"
            else:
                checked, reason = _follow(path, allowed, max_bytes)
                if checked is None:
                    skipped[str(path)] = str(reason)
                else:
                    found.append(checked)
    return found, skipped


def _chunker(engine: Engine) -> Chunker:
    tokenizer = engine.embedder.tokenizer_path or bundled_model_path() / "tokenizer.json"
    limit = getattr(engine.embedder, "max_tokens", None)
    size = engine.settings.chunk_tokens if not limit else min(engine.settings.chunk_tokens, int(limit) - 2)
    return Chunker(tokenizer, max_tokens=size, overlap=min(engine.settings.chunk_overlap, size // 2))


def _known_files(index: CollectionIndex, root: str) -> dict[str, dict[str, Any]]:
    """source → {sha, n_chunks, ids} for what an earlier ingest of ``root`` stored."""
    files: dict[str, dict[str, Any]] = {}
    for doc_id, meta in index.metadatas({"ingest_root": root}):
        entry = files.setdefault(
            str(meta.get("source")),
            {"sha": meta.get("file_sha"), "n_chunks": meta.get("n_chunks"), "ids": []},
        )
        entry["ids"].append(doc_id)
    return files


def ingest_path(
    engine: Engine,
    index: CollectionIndex,
    path: Path,
    progress: Callable[[int, int], None] | None = None,
    parsed: Callable[[int, int], None] | None = None,
    roots: Sequence[str | Path] | None = None,
) -> IngestReport:
    """Ingest one file or a folder tree into ``index``; see the module docstring for the re-run rules and what
    may be read. ``roots``: the folders it may read (None: the path itself). ``parsed(files done, files)``
    follows reading and chunking, ``progress(chunks done, chunks)`` embedding."""
    try:
        root = path.expanduser().resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise UnreadableFileError(
            f"Cannot ingest {path}: it does not exist or is not accessible ({exc})"
        ) from exc
    allowed = Allowed([root] if roots is None else roots)
    place = allowed.place(root)
    if place is None:
        raise UnreadableFileError(
            f"Cannot ingest {path}: it resolves to {root}, outside the folders ingest may read ({allowed})"
        )
    if roots is not None and _passed_over(place):
        raise UnreadableFileError(
            f"Cannot ingest {path}: {root} is hidden or in a folder ingest skips (.git, node_modules, ...)"
        )
    max_bytes = engine.settings.max_file_bytes
    single = root.is_file()
    if single and file_kind(root) is None:
        load_file(root)  # raises UnsupportedFileError naming the supported types
    if single and (size := (info := root.stat()).st_size) > max_bytes:
        raise too_large(root, size, max_bytes)
    files, skipped = (
        ([Checked(root, root, (info.st_dev, info.st_ino))], {})
        if single
        else _files_under(root, allowed, max_bytes)
    )
    known = _known_files(index, str(root))
    chunker = _chunker(engine)
    added, replaced, unchanged, failed = [], [], [], {}
    ids: list[str] = []
    texts: list[str] = []
    metas: list[dict[str, Any]] = []
    stale: list[str] = []
    for done, (file, resolved, identity) in enumerate(files):
        if parsed:
            parsed(done, len(files))
        source = str(file)
        try:
            data = read_file(resolved, max_bytes, identity=identity)
        except UnreadableFileError as exc:
            if single:
                raise
            failed[source] = str(exc)
            continue
        sha = hashlib.sha256(data).hexdigest()[:20]
        before = known.get(source)
        if before and before["sha"] == sha and before["n_chunks"] == len(before["ids"]):
            unchanged.append(source)
            continue
        try:
            loaded = parse_file(resolved, data, max_bytes)
        except UnreadableFileError as exc:
            if single:
                raise
            failed[source] = str(exc)
            continue
        chunks = chunker.chunk(loaded)
        if not chunks:  # nothing stored, so a re-run finds it again: it is reported skipped every time
            skipped[source] = NO_TEXT
            if before:
                stale.extend(before["ids"])
            continue
        new_ids = [hashlib.sha256(f"{source}\0{c.start}\0{c.text}".encode()).hexdigest()[:32] for c in chunks]
        for n, (chunk, chunk_id) in enumerate(zip(chunks, new_ids)):
            meta: dict[str, Any] = {
                "source": source,
                "ingest_root": str(root),
                "file_sha": sha,
                "n_chunks": len(chunks),
                "chunk": n,
                "start": chunk.start,
                "end": chunk.end,
                "kind": loaded.kind,
                "title": file.name,
            }
            if chunk.heading:
                meta["heading"] = chunk.heading
            if chunk.page is not None:
                meta["page"] = chunk.page
            if chunk.last_page is not None and chunk.last_page != chunk.page:
                meta["page_end"] = chunk.last_page
            ids.append(chunk_id)
            texts.append(chunk.text)
            metas.append(meta)
        if before:
            stale.extend(set(before["ids"]) - set(new_ids))
            replaced.append(source)
        else:
            added.append(source)
    if parsed:
        parsed(len(files), len(files))
    present = {str(checked.path) for checked in files}
    removed = [source for source in known if source not in present]
    stale.extend(i for source in removed for i in known[source]["ids"])
    if ids:
        engine.write(index, ids, texts, metas, progress)
    index.delete(stale)
    return IngestReport(
        tuple(added), tuple(replaced), tuple(unchanged), tuple(removed), failed, len(ids), skipped
    )
