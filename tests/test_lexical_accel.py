"""The in-memory BM25 snapshot ranks as SQLite FTS5 does, and is never used while stale."""

from __future__ import annotations

from pathlib import Path

from hopscout.analysis import analyze
from hopscout.evaluation.datasets import load_dataset
from hopscout.scout import engine_of

FIXTURES = Path(__file__).parent / "fixtures"


def test_snapshot_matches_fts5_and_tracks_writes(make_scout, collection: str) -> None:
    scout = make_scout(lexical_backend="fts5")  # the snapshot is FTS5's
    data = load_dataset(FIXTURES / "scifact_mini")
    ids = list(data.corpus)
    scout.add([data.doc_text(i) for i in ids], ids=ids, collection=collection)
    # this test is about the BM25 copy itself (FTS5 and its snapshot), so it reaches the index's private one
    lexical = engine_of(scout).index(collection)._lexical
    queries = list(data.queries.values())
    scored = [lexical.search(q, 10) for q in queries]  # 200 docs: below the size that uses it
    reference = [[d for d, _ in hits] for hits in scored]
    assert lexical.accelerator.current((-1, -1), lexical.count(), list) is None
    terms = sorted({t for q in queries for t in analyze(q)} | {"no-such-term"})
    reference_df = lexical.doc_freqs(terms)  # FTS5's counts

    lexical.accelerator.min_docs = 1  # use the snapshot at any size
    lexical.search(queries[0], 10)  # first query: FTS5 answers, a build starts
    lexical.accelerator.wait()
    fast_scored = [lexical.search(q, 10) for q in queries]
    fast = [[d for d, _ in hits] for hits in fast_scored]
    tops = [(f[0][1], r[0][1]) for f, r in zip(fast_scored, scored) if f and r]
    assert tops and all(abs(f - r) <= 1e-3 * max(1.0, r) for f, r in tops), tops[:3]  # FTS5's bm25() scores
    same_top = sum(f[:1] == r[:1] for f, r in zip(fast, reference))
    overlap = sum(len(set(f) & set(r)) for f, r in zip(fast, reference)) / sum(len(r) for r in reference)
    assert same_top == len(queries) and overlap >= 0.98, (same_top, overlap)
    assert lexical._snapshot() is not None and lexical.doc_freqs(terms) == reference_df  # the snapshot's

    before, zebrafish = lexical.accelerator._snapshot, lexical.doc_freqs(["zebrafish"]).get("zebrafish", 0)
    scout.add(["Zebrafish regenerate cardiac tissue after cryoinjury."], ids=["zebra"], collection=collection)
    assert lexical.doc_freqs(["zebrafish"]) == {"zebrafish": zebrafish + 1}  # FTS5's: the snapshot is stale
    lexical.accelerator.wait()
    assert (
        lexical.accelerator._snapshot is before
    )  # writes asking for counts (key phrases) started no rebuild
    assert lexical.search("zebrafish cryoinjury", 3)[0][0] == "zebra"  # stale snapshot not used
    lexical.accelerator.wait()
    assert lexical.search("zebrafish cryoinjury", 3)[0][0] == "zebra"  # rebuilt snapshot has it
    assert lexical.accelerator._snapshot is not None and "zebra" in lexical.accelerator._snapshot.ids
