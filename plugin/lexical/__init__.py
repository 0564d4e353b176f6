"""The local files of every collection. BM25: SQLite FTS5 as the store of record (:mod:`.index`), with an
in-memory BM25 snapshot (numpy score columns) answering unfiltered queries on large collections
(:mod:`.snapshot`), or tantivy segments (:mod:`.tantivy_index`), picked by :func:`open_lexical`; the key
phrases of the ``phrase`` hop (:mod:`.phrase_table`, loaded on first use: it needs numpy, which a one-shot
lexical search from the shell does not)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .backends import DEFAULT_BACKEND, LEXICAL_BACKENDS, open_lexical, resolve_backend
from .index import IndexedValue, LexicalIndex

if TYPE_CHECKING:
    from .phrase_table import KeyPhrases, PhraseTable


def __getattr__(name: str) -> Any:
    if name in ("KeyPhrases", "PhraseTable"):
        from . import phrase_table

        return getattr(phrase_table, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_BACKEND",
    "LEXICAL_BACKENDS",
    "IndexedValue",
    "KeyPhrases",
    "LexicalIndex",
    "PhraseTable",
    "open_lexical",
    "resolve_backend",
]
