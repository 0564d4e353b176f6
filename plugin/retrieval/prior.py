"""The passage prior: a stage of the search pipeline that demotes passages flagged as hostile when written
(:mod:`hopscout.suspicion`). Named *passage* prior to tell it from the tool catalog's weight (``guard.tool_weight``),
which weighs a tool's trust and flags.

``SearchOptions.prior`` (default True) selects it; the poison evaluation turns it off to measure what it costs."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ..index import CollectionIndex
from ..keys import FLAGS_KEY
from ..suspicion import text_flags
from .candidates import Ranked, Stage
from .options import ResolvedSearch
from .results import demoted, fetch_texts

PRIOR_DEPTH = 20  # rows per query the passage prior reads
READ_FLAGS_KEPT = 200_000  # flags read at query time (passages written before flags existed) kept in memory


class PassagePrior:
    """Demotes flagged passages; one per engine (it remembers the flags it had to read from a passage's text)."""

    def __init__(self, demotion: float) -> None:
        self.demotion = demotion
        self._read_flags: dict[tuple[str, str, str], tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def apply(self, index: CollectionIndex, ranked: list[Ranked], k: int) -> list[Ranked]:
        """Demote hostile-looking passages: within each query's top ``max(2k, 20)``, a passage flagged when
        written (a word list, repetition, instructions to the agent) scores HOPSCOUT_FLAGGED_DEMOTION times
        its score, and the rows are re-sorted. Flags are read from the BM25 index's copy of the metadata (no
        store call); passages written before flags existed are read from their text once and remembered."""
        demotion = self.demotion
        depth = max(2 * k, PRIOR_DEPTH)
        stored = index.stored_values(FLAGS_KEY, [row.id for r in ranked for row in r.rows[:depth]])
        flags: dict[str, tuple[str, ...]] = {}
        unread: dict[str, tuple[str, str, str]] = {}  # written before flags existed, and not read yet
        with self._lock:
            for doc_id, indexed in stored.items():
                if indexed.value is not None:
                    flags[doc_id] = tuple(f for f in indexed.value.split(",") if f)
                elif (key := (index.name, doc_id, indexed.hash)) in self._read_flags:
                    flags[doc_id] = self._read_flags[key]
                else:
                    unread[doc_id] = key
        if unread:
            texts = fetch_texts(index, ranked, unread)
            read = {doc_id: text_flags(texts.get(doc_id, "")) for doc_id in unread}
            flags.update(read)
            with self._lock:
                if len(self._read_flags) + len(read) > READ_FLAGS_KEPT:
                    self._read_flags.clear()
                self._read_flags.update({unread[doc_id]: f for doc_id, f in read.items()})
        for r in ranked:
            lifted = False
            for row in r.rows[:depth]:
                row.flags = flags.get(row.id, ())
                if row.flags and demotion < 1.0:
                    row.score = demoted(row.score, demotion)
                    lifted = True
            if lifted:
                r.rows[:depth] = sorted(r.rows[:depth], key=lambda row: -row.score)
        return ranked


class PassagePriorStage:
    """A stage with the passage prior applied to what it returns. Wraps the last stage, and under a hop stage
    its first hop too (a flagged passage should not spawn the next hop's queries)."""

    def __init__(
        self, inner: Stage, opts: ResolvedSearch, passage_prior: PassagePrior, index: CollectionIndex
    ) -> None:
        self.inner = inner
        self.opts = opts
        self.passage_prior = passage_prior
        self.index = index
        self.k = opts.k

    def retrieve(self, queries: Sequence[str]) -> list[Ranked]:
        return self.passage_prior.apply(self.index, self.inner.retrieve(queries), self.k)
