"""Text → BM25 terms: split words (and camelCase / snake_case parts), lowercase, drop English stopwords,
Snowball-stem. Documents and queries go through the same function, so the lexical index and its queries agree."""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import Stemmer  # PyStemmer: the Snowball stemmers, C speed

WORD = re.compile(r"[^\W_]+")
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_a-zA-Z]+")

# Lucene/Elasticsearch's English stopwords plus the common function words of NLTK's list.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
    nor not now of off on once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours yourself yourselves""".split()  # noqa: SIM905 - a word list reads best as words
)

_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:  # Stemmer objects are not thread-safe: one per thread
        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer


@lru_cache(maxsize=65536)
def _word_terms(word: str) -> tuple[str, ...]:
    parts = [p.lower() for p in _PARTS.findall(word)] or [word.lower()]
    if len(parts) > 1:
        parts.append(word.lower())
    kept = [p for p in parts if p not in STOPWORDS]
    return tuple(_stemmer().stemWords(kept))


def analyze(text: str) -> list[str]:
    """BM25 terms of ``text`` in order (repeats kept: they are term frequencies)."""
    terms: list[str] = []
    for word in WORD.findall(text):
        terms.extend(_word_terms(word))
    return terms


def term_set(text: str) -> set[str]:
    """The distinct BM25 terms of ``text`` (``set(analyze(text))``, each distinct word analysed once)."""
    terms: set[str] = set()
    for word in set(WORD.findall(text)):
        terms.update(_word_terms(word))
    return terms
