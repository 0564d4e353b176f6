"""Fusion functions, per-collection calibration and the metrics the eval harness reports."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hopscout import InvalidArgumentError, Scout
from hopscout.calibration import calibrate_fusion, fused_ids, gather_scores
from hopscout.evaluation.datasets import load_dataset
from hopscout.fusion import convex, rrf
from hopscout.metrics import mean, per_query
from hopscout.scout import engine_of

FIXTURES = Path(__file__).parent / "fixtures"


def test_convex_endpoints_follow_one_retriever() -> None:
    dense = {"a": 0.9, "b": 0.5, "c": 0.1}
    lexical = {"c": 12.0, "d": 7.0, "a": 1.0}
    assert [i for i, _ in convex(dense, lexical, 0.0)][:3] == ["a", "b", "c"]
    assert [i for i, _ in convex(dense, lexical, 1.0)][:3] == ["c", "d", "a"]
    mixed = dict(convex(dense, lexical, 0.5))
    assert mixed["a"] == pytest.approx(0.5 * 1.0 + 0.5 * 0.0)
    assert mixed["c"] == pytest.approx(0.5 * 0.0 + 0.5 * 1.0)
    assert mixed["d"] == pytest.approx(0.5 * (7.0 - 1.0) / 11.0)


def test_rrf_ranks_the_key_both_lists_hold_first() -> None:
    fused = rrf({"a": 3.0, "b": 2.0}, {"b": 9.0, "c": 1.0})
    assert fused[0][0] == "b"


def test_metrics_match_hand_computed_values() -> None:
    qrels = {"q1": {"d1": 1, "d2": 1}, "q2": {"d3": 1}}
    run = {"q1": ["d1", "x", "d2"], "q2": ["x", "y"]}
    rows = per_query(run, qrels)
    assert rows["q1"]["recall@1"] == pytest.approx(0.5)
    assert rows["q1"]["recall@5"] == pytest.approx(1.0)
    assert rows["q1"]["all@5"] == 1.0 and rows["q1"]["mrr@10"] == 1.0
    ideal = 1 + 1 / math.log2(3)
    assert rows["q1"]["ndcg@10"] == pytest.approx((1 + 1 / math.log2(4)) / ideal, abs=1e-4)
    assert rows["q2"] == {m: 0.0 for m in rows["q2"]}
    assert mean(rows)["all@10"] == pytest.approx(0.5)


def test_calibrated_weight_is_stored_and_search_reproduces_offline_fusion(
    make_scout, collection: str
) -> None:
    scout: Scout = make_scout()
    data = load_dataset(FIXTURES / "tools_mini")
    ids = list(data.corpus)
    scout.add([data.doc_text(i) for i in ids], ids=ids, collection=collection)
    qids = data.judged_queries
    queries, relevant = [data.queries[q] for q in qids], [data.qrels[q] for q in qids]
    assert scout.fusion_weight(collection) == 0.5  # uncalibrated default
    fit = calibrate_fusion(scout, queries, relevant, collection=collection)
    assert scout.fusion_weight(collection) == fit.weight
    assert fit.ndcg_by_weight[fit.weight] >= max(fit.ndcg_by_weight[0.0], fit.ndcg_by_weight[1.0])
    scores = gather_scores(engine_of(scout), queries, collection)
    offline = fused_ids(scores, range(len(queries)), fit.weight)
    online = [[h.id for h in hits] for hits in scout.search_batch(queries, 10, collection=collection)]
    assert online == offline
    reopened = Scout(scout.settings, embedder=scout.embedder)  # the weight lives with the collection
    assert reopened.fusion_weight(collection) == fit.weight
    with pytest.raises(InvalidArgumentError, match=r"\[0, 1\]"):
        scout.search("x", fusion_weight=1.5, collection=collection)


@pytest.mark.parametrize("n", [1, 2, 7])
def test_cross_fit_never_scores_a_query_with_a_fit_that_saw_it(n: int) -> None:
    from hopscout.evaluation.folds import cross_fit

    fits, (for_even, for_odd) = cross_fit(n, frozenset)
    assert len(fits) == n
    for row, seen in enumerate(fits):
        assert seen == (for_even if row % 2 == 0 else for_odd)
        assert (row in seen) == (n == 1)  # only a lone query has no other half to be fitted on
    assert set().union(*fits) == set(range(n))
