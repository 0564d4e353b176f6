"""The local files of every collection. BM25: SQLite FTS5 as the store of record (:mod:`.index`), with an
in-memory BM25 snapshot (numpy score columns) answering unfiltered queries on large collections
(:mod:`.snapshot`), or tantivy segments (:mod:`.tantivy_index`), picked by :func:`open_lexical`; the key
phrases of the ``phrase`` hop (:mod:`.phrase_table`)."""

from .backends import LEXICAL_BACKENDS, open_lexical
from .index import IndexedValue, LexicalIndex
from .phrase_table import KeyPhrases, PhraseTable

__all__ = ["LEXICAL_BACKENDS", "IndexedValue", "KeyPhrases", "LexicalIndex", "PhraseTable", "open_lexical"]
