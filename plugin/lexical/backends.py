"""The lexical backends behind one seam: tantivy segments (:mod:`.tantivy_index`) or FTS5 + an in-memory
snapshot (:mod:`.index`), chosen by ``HOPSCOUT_LEXICAL_BACKEND``. Each keeps its own files beside the store's, so a
collection opened with the other backend is copied from the store again by its first sync. ``auto`` (the default)
is tantivy, except for a collection that has an FTS5 copy and no tantivy one (made before tantivy became the
default): it keeps its FTS5 copy rather than copying a whole collection on the first search after an upgrade."""

from __future__ import annotations

from pathlib import Path

from .index import LexicalIndex

LEXICAL_BACKENDS = ("fts5", "tantivy")
DEFAULT_BACKEND = "auto"  # HOPSCOUT_LEXICAL_BACKEND's default: see the module's docstring


def resolve_backend(stem: str | Path, backend: str = DEFAULT_BACKEND) -> str:
    """The backend a collection's files named from ``stem`` are opened with: ``backend``, or for ``auto`` fts5
    when only an FTS5 copy exists, else tantivy."""
    if backend != "auto":
        return backend
    fts5_only = Path(f"{stem}.sqlite").is_file() and not Path(f"{stem}.bm25.sqlite").is_file()
    return "fts5" if fts5_only else "tantivy"


def open_lexical(stem: str | Path, backend: str = DEFAULT_BACKEND) -> LexicalIndex:
    """The ``backend`` BM25 index of one collection, its files named from ``stem`` (a path without suffix):
    ``stem.sqlite`` for fts5; ``stem.bm25.sqlite`` and the folder ``stem.bm25.tantivy`` for tantivy; ``auto``
    as :func:`resolve_backend` says."""
    backend = resolve_backend(stem, backend)
    if backend == "fts5":
        return LexicalIndex(Path(f"{stem}.sqlite"))
    if backend == "tantivy":
        from .tantivy_index import TantivyLexicalIndex  # tantivy is imported only when chosen

        return TantivyLexicalIndex(Path(f"{stem}.bm25.sqlite"))
    raise ValueError(f"Unknown lexical backend {backend!r}: use auto or one of {', '.join(LEXICAL_BACKENDS)}")
