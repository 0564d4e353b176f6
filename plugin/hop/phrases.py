"""Key phrases per passage and their vectors, made when the passage is written: what the ``phrase`` hop adds
to the question's vector, so a hop needs no LLM and no encoding at search time.

Why phrases and not the passage vector: a pooled passage vector blurs the names a second hop needs (no operator
trained on it found the next passage better than the question alone), while a passage's rare phrases name the
page it leads to. Candidates do not depend on capitalisation: maximal runs of up to four words between stop
words and punctuation (RAKE-style), scored by their words' mean IDF in the collection plus 0.5 per extra word,
keeping only words that occur in at least two passages (a phrase in one passage links nothing).

Stored in one SQLite file per collection beside its BM25 index, keyed by id and content hash: a passage whose
phrases are missing or stale (written before this existed, by another process, with ``index_phrases`` off, or
chosen when the collection was under half its present size) gets them on its first hop, so old and growing
collections keep working."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np

from ..analysis import STOPWORDS, analyze
from ..embedders import Embedder
from ..index import CollectionIndex, StoredDoc, content_hash, public_metadata
from ..keys import HASH_KEY
from ..lexical import KeyPhrases, PhraseTable

MAX_PHRASES = 8  # stored per passage
MAX_WORDS = 4  # per phrase
_TOKEN = re.compile(r"[^\W_][\w'\-]*|[^\w\s]")
# Words that split phrases: BM25's stopwords plus function words that glue names together in prose.
_SPLIT = STOPWORDS | frozenset(
    """across after afterwards against almost along already also although always among amongst another
    anyone anything around became become becomes becoming behind beside besides beyond born cannot de del der
    des di du due either else even ever every first former formerly however jr la le les later latter least
    less many may might much must namely neither never new next often one onto others otherwise per perhaps
    rather several since st still though thus together toward towards two upon us via well whereas whether
    whose within without yet known""".split()  # noqa: SIM905 - a word list reads best as words
)


def _runs(text: str) -> list[list[str]]:
    """Lower-cased runs of up to MAX_WORDS non-stop words, split at stop words, digits and punctuation."""
    runs: list[list[str]] = []
    current: list[str] = []
    for token in _TOKEN.findall(text.lower()):
        word = token.strip("'-")
        if not word or not word[0].isalnum() or word in _SPLIT or word.isdigit() or len(word) < 2:
            if current:
                runs.append(current)
            current = []
            continue
        current.append(word)
        if len(current) == MAX_WORDS:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def key_phrases(text: str, freq: Mapping[str, int], total: int, limit: int = MAX_PHRASES) -> list[str]:
    """The passage's best ``limit`` phrases, best first; ``freq`` gives each word's document count in the
    collection (``total`` passages)."""
    runs = _runs(text)
    scored: dict[str, float] = {}
    for run in runs:
        words = [w for w in run if freq.get(w, 0) >= 2]  # a word in one passage links nothing
        if not words:
            continue
        idf = [math.log((total + 1) / (freq[w] + 1)) for w in words]
        phrase = " ".join(words)
        score = sum(idf) / len(idf) + 0.5 * (len(words) - 1)
        if score > scored.get(phrase, -math.inf):
            scored[phrase] = score
    return [p for p, _ in sorted(scored.items(), key=lambda item: -item[1])[:limit]]


def word_doc_freqs(index: CollectionIndex, words: Sequence[str]) -> dict[str, int]:
    """Document counts of words from the collection's BM25 index (a word counts as its rarest analysed term)."""
    terms = {w: analyze(w) for w in words}
    counts = index.doc_freqs([t for ts in terms.values() for t in ts])
    return {w: min((counts.get(t, 0) for t in ts), default=0) for w, ts in terms.items()}


class PassagePhrases:
    """One collection's key phrases: made and encoded when passages are written (:meth:`add`), or on a
    passage's first hop when they are missing or stale (:meth:`lookup`)."""

    def __init__(self, index: CollectionIndex, embedder: Embedder, table: PhraseTable) -> None:
        self.index = index
        self.embedder = embedder
        self.table = table

    def add(self, ids: Sequence[str], texts: Sequence[str], hashes: Sequence[str], batch: int = 256) -> None:
        """Make, encode and store the phrases of written passages (``hashes``: their content hashes)."""
        total = self.index.indexed_count()
        for start in range(0, len(ids), batch):
            end = min(start + batch, len(ids))
            # one document-frequency read per batch (the words its passages share are counted once)
            words = sorted({w for t in texts[start:end] for run in _runs(t) for w in run})
            freq = word_doc_freqs(self.index, words)
            phrases = [key_phrases(t, freq, total) for t in texts[start:end]]
            self.table.put(
                list(zip(ids[start:end], hashes[start:end], phrases, self._encode(phrases))), total
            )

    def lookup(self, stored: Mapping[str, StoredDoc]) -> dict[str, KeyPhrases]:
        """Phrases and vectors of ``stored`` passages (``id → StoredDoc``, as ``index.get`` gives them), making
        missing ones."""
        hashes = {i: _hash(doc.text, doc.metadata) for i, doc in stored.items()}
        # phrases chosen when the collection was under half its size now are remade: the words that link a
        # passage to others may not have had a second passage then (one-at-a-time writes, a growing corpus)
        found = self.table.get(hashes, min_total=self.index.indexed_count() // 2)
        missing = [i for i in stored if i not in found]
        if missing:
            self.add(missing, [stored[i].text for i in missing], [hashes[i] for i in missing])
            found.update(self.table.get({i: hashes[i] for i in missing}))
        return found

    def _encode(self, phrases: Sequence[list[str]]) -> list[np.ndarray]:
        unique = sorted({p for ps in phrases for p in ps})
        vectors = self.embedder.embed_queries(unique) if unique else np.zeros((0, 1), np.float32)
        row = {p: n for n, p in enumerate(unique)}
        dim = vectors.shape[1] if unique else 1
        return [vectors[[row[p] for p in ps]] if ps else np.zeros((0, dim), np.float32) for ps in phrases]


def _hash(text: str, meta: Mapping[str, object]) -> str:
    digest = meta.get(HASH_KEY)
    return str(digest) if digest else content_hash(text, public_metadata(meta))
