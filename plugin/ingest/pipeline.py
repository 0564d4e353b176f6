"""Files and folders → chunks in a collection, incrementally.

Each chunk records its file (``source``), the folder it was ingested under (``ingest_root``), the file's hash
and chunk count. A re-run skips a file whose hash matches and whose chunks are all present, replaces a changed
(or half-written) file, and removes the chunks of files that are gone. Chunk ids hash the source, offset and
text, so re-writing after a crash overwrites rather than duplicates."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..embedders import bundled_model_path
from ..engine import Engine
from ..errors import UnreadableFileError
from ..index import CollectionIndex
from ..types import IngestReport
from .chunking import Chunker
from .loaders import file_kind, load_file

_SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache"}


NO_TEXT = "no text to index (an empty file, or a PDF of scanned pages without a text layer)"


def _files_under(root: Path) -> tuple[list[Path], dict[str, str]]:
    """The files to ingest under ``root``, and the files passed over with why (hidden, unsupported type).
    Hidden folders and tool folders (.git, node_modules, virtualenvs, caches) are not entered."""
    found, skipped = [], {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(names):
            path = Path(folder) / name
            if not path.is_file():
                continue
            if name.startswith("."):
                skipped[str(path)] = "hidden file"
            elif file_kind(path) is None:
                skipped[str(path)] = f"unsupported type ({path.suffix or 'no suffix'})"
            else:
                found.append(path)
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
) -> IngestReport:
    """Ingest one file or a folder tree into ``index``; see the module docstring for the re-run rules.
    ``parsed(files done, files)`` follows reading and chunking, ``progress(chunks done, chunks)`` embedding."""
    try:
        root = path.expanduser().resolve(strict=True)
    except OSError as exc:
        raise UnreadableFileError(
            f"Cannot ingest {path}: it does not exist or is not accessible ({exc})"
        ) from exc
    single = root.is_file()
    if single and file_kind(root) is None:
        load_file(root)  # raises UnsupportedFileError naming the supported types
    files, skipped = ([root], {}) if single else _files_under(root)
    known = _known_files(index, str(root))
    chunker = _chunker(engine)
    added, replaced, unchanged, failed = [], [], [], {}
    ids: list[str] = []
    texts: list[str] = []
    metas: list[dict[str, Any]] = []
    stale: list[str] = []
    for done, file in enumerate(files):
        if parsed:
            parsed(done, len(files))
        source = str(file)
        try:
            data = file.read_bytes()
        except OSError as exc:
            if single:
                raise UnreadableFileError(f"Cannot read {file}: {exc}") from exc
            failed[source] = str(exc)
            continue
        sha = hashlib.sha256(data).hexdigest()[:20]
        before = known.get(source)
        if before and before["sha"] == sha and before["n_chunks"] == len(before["ids"]):
            unchanged.append(source)
            continue
        try:
            loaded = load_file(file)
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
    present = {str(f) for f in files}
    removed = [source for source in known if source not in present]
    stale.extend(i for source in removed for i in known[source]["ids"])
    if ids:
        engine.write(index, ids, texts, metas, progress)
    index.delete(stale)
    return IngestReport(
        tuple(added), tuple(replaced), tuple(unchanged), tuple(removed), failed, len(ids), skipped
    )
