"""The lexical backends behind one seam: tantivy segments (:mod:`.tantivy_index`, the default) or FTS5 + an
in-memory snapshot (:mod:`.index`), chosen by ``HOPSCOUT_LEXICAL_BACKEND``. Each keeps its own files beside the store's,
so a collection opened with the other backend is copied from the store again by its first sync."""

from __future__ import annotations

from pathlib import Path

from .index import LexicalIndex

LEXICAL_BACKENDS = ("fts5", "tantivy")


def open_lexical(stem: str | Path, backend: str = "tantivy") -> LexicalIndex:
    """The ``backend`` BM25 index of one collection, its files named from ``stem`` (a path without suffix):
    ``stem.sqlite`` for fts5; ``stem.bm25.sqlite`` and the folder ``stem.bm25.tantivy`` for tantivy."""
    if backend == "fts5":
        return LexicalIndex(Path(f"{stem}.sqlite"))
    if backend == "tantivy":
        from .tantivy_index import TantivyLexicalIndex  # tantivy is imported only when chosen

        return TantivyLexicalIndex(Path(f"{stem}.bm25.sqlite"))
    raise ValueError(f"Unknown lexical backend {backend!r}: use one of {', '.join(LEXICAL_BACKENDS)}")
