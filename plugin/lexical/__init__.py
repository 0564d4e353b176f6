"""BM25 for every collection: SQLite FTS5 as the store of record (:mod:`.index`), with an in-memory bm25s
snapshot answering unfiltered queries on large collections (:mod:`.snapshot`)."""

from .index import LexicalIndex

__all__ = ["LexicalIndex"]
