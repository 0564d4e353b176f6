"""hopscout.lexical.snapshot against a brute-force BM25 written here (Robertson IDF floored at 0, k1 1.2,
b 0.75, FTS5's (k1 + 1) factor; terms in more than half the documents left out), on a tiny corpus."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from hopscout.lexical.snapshot import Accelerator, build

K1, B = 1.2, 0.75
ROWS = [
    ("d0", "venus hottest planet venus"),
    ("d1", "mars red planet"),
    ("d2", "espresso sour coffee"),
    ("d3", "coffee beans roast coffee coffee"),
    ("d4", "planet orbit sun long long long text about orbit"),
    ("d5", "sourdough starter bread"),
    ("d6", "bread flour water salt"),
    ("d7", "tea"),
]


def brute_force(rows: list[tuple[str, str]], terms: list[str]) -> dict[str, float]:
    docs = {doc_id: body.split() for doc_id, body in rows}
    n = len(docs)
    avgdl = sum(len(words) for words in docs.values()) / n
    df = Counter(t for words in docs.values() for t in set(words))
    out: dict[str, float] = {}
    for doc_id, words in docs.items():
        tf = Counter(words)
        score = 0.0
        for t in set(terms):
            if not tf[t] or df[t] > n / 2:
                continue
            idf = max(0.0, math.log((n - df[t] + 0.5) / (df[t] + 0.5)))
            score += idf * tf[t] * (K1 + 1) / (tf[t] + K1 * (1 - B + B * len(words) / avgdl))
        if score > 0:
            out[doc_id] = score
    return out


@pytest.mark.parametrize(
    "terms",
    [["venus"], ["planet"], ["coffee", "sour"], ["bread", "orbit", "tea"], ["planet", "planet", "red"]],
)
def test_the_snapshot_scores_as_bm25(terms: list[str]) -> None:
    expected = brute_force(ROWS, terms)
    got = build("k", ROWS).search(terms, 10)
    assert dict(got) == pytest.approx(expected, rel=1e-5)
    assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)


def test_the_top_k_only_and_ties_in_corpus_order() -> None:
    snapshot = build("k", ROWS)
    both = dict(snapshot.search(["bread"], 10))
    assert set(both) == {"d5", "d6"}
    assert [d for d, _ in snapshot.search(["coffee", "bread"], 2)] == [
        d for d, _ in sorted(brute_force(ROWS, ["coffee", "bread"]).items(), key=lambda i: -i[1])[:2]
    ]
    tied = build("t", [("x", "alpha beta"), ("y", "alpha beta"), ("z", "gamma")])
    assert tied.search(["alpha"], 2) == []  # in 2 of 3 documents: more than half, left out
    tied = build("t", [("x", "alpha"), ("y", "alpha"), ("z", "gamma"), ("w", "delta"), ("v", "eta")])
    assert [d for d, _ in tied.search(["alpha"], 2)] == ["x", "y"]
    assert [d for d, _ in tied.search(["alpha"], 1)] == ["x"]
    half = build("h", [("x", "alpha"), ("y", "alpha"), ("z", "gamma"), ("w", "delta")])
    assert half.search(["alpha"], 2) == []  # in half the documents: Robertson IDF 0, nothing scores


def test_nothing_to_find() -> None:
    snapshot = build("k", ROWS)
    assert snapshot.search(["unknown"], 5) == [] and snapshot.search([], 5) == []
    assert snapshot.search(["venus"], 0) == []
    assert build("e", []).search(["venus"], 5) == []


def test_the_accelerator_builds_in_the_background_and_answers_only_for_its_state() -> None:
    accelerator = Accelerator(min_docs=3)
    assert accelerator.current("s1", 2, lambda: ROWS) is None  # too few documents: never built
    assert accelerator.current("s1", len(ROWS), lambda: ROWS) is None  # starts a build
    accelerator.wait()
    snapshot = accelerator.peek("s1")
    assert snapshot is not None and snapshot.ids == [d for d, _ in ROWS]
    assert accelerator.current("s1", len(ROWS), lambda: ROWS) is snapshot
    assert accelerator.peek("s2") is None
