"""The local files of every collection. BM25: SQLite FTS5 as the store of record (:mod:`.index`), with an
in-memory BM25 snapshot (numpy score columns) answering unfiltered queries on large collections
(:mod:`.snapshot`); the key phrases of the ``phrase`` hop (:mod:`.phrase_table`)."""

from .index import IndexedValue, LexicalIndex
from .phrase_table import KeyPhrases, PhraseTable

__all__ = ["IndexedValue", "KeyPhrases", "LexicalIndex", "PhraseTable"]
