"""BM25 for every collection: SQLite FTS5 as the store of record (:mod:`.index`), with an in-memory BM25
snapshot (numpy score columns) answering unfiltered queries on large collections (:mod:`.snapshot`)."""

from .index import LexicalIndex

__all__ = ["LexicalIndex"]
