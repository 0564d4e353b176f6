"""hopscout.fusion on hand-made score lists: min-max, convex, reciprocal-rank fusion, best-of-lists."""

from __future__ import annotations

import pytest

from hopscout.fusion import RRF_K, convex, max_lists, minmax, rrf, rrf_lists, rrf_term


def test_minmax_scales_to_the_unit_interval() -> None:
    assert minmax({"a": 2.0, "b": 4.0, "c": 3.0}) == {"a": 0.0, "b": 1.0, "c": 0.5}


def test_minmax_of_equal_scores_is_all_ones_and_of_nothing_is_empty() -> None:
    assert minmax({"a": 0.3, "b": 0.3}) == {"a": 1.0, "b": 1.0}
    assert minmax({}) == {}


def test_convex_weights_the_lexical_share_and_gives_missing_documents_zero() -> None:
    fused = convex({"a": 1.0, "b": 0.0}, {"b": 10.0, "c": 0.0}, weight=0.25)
    assert [key for key, _ in fused] == ["a", "b", "c"]
    assert [score for _, score in fused] == pytest.approx([0.75, 0.25, 0.0])


def test_convex_at_the_ends_is_one_retriever() -> None:
    dense, lexical = {"a": 0.9, "b": 0.1}, {"a": 1.0, "b": 5.0}
    assert [k for k, _ in convex(dense, lexical, weight=0.0)] == ["a", "b"]
    assert [k for k, _ in convex(dense, lexical, weight=1.0)] == ["b", "a"]


def test_convex_breaks_ties_by_key() -> None:
    assert convex({"b": 1.0, "a": 1.0}, {}) == [("a", 0.5), ("b", 0.5)]


def test_rrf_term_is_the_one_reciprocal_rank_formula() -> None:
    assert rrf_term(0) == pytest.approx(1 / (RRF_K + 1))  # rank 0 is the first place
    assert rrf_term(2, k=1, weight=3.0) == pytest.approx(3.0 / 4)


def test_rrf_lists_sums_reciprocal_ranks_and_credits_the_first_list() -> None:
    fused = rrf_lists([{"a": 3.0, "b": 1.0}, {"b": 5.0, "c": 2.0}])
    assert fused["a"] == pytest.approx((1 / (RRF_K + 1), 0))
    assert fused["b"][0] == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1)) and fused["b"][1] == 0
    assert fused["c"] == pytest.approx((1 / (RRF_K + 2), 1))


def test_rrf_lists_weights_and_k() -> None:
    fused = rrf_lists([{"a": 1.0}, {"a": 1.0}], weights=[3.0, 0.0], k=1)
    assert fused["a"] == pytest.approx((3.0 / 2, 0))


def test_max_lists_keeps_the_best_score_and_the_first_list_on_a_tie() -> None:
    fused = max_lists([{"a": 0.2, "b": 0.9}, {"a": 0.5, "b": 0.9, "c": -1.0}])
    assert fused == {"a": (0.5, 1), "b": (0.9, 0), "c": (-1.0, 1)}
    assert max_lists([]) == {}


def test_rrf_of_two_retrievers_is_classic_rrf_at_half_weight() -> None:
    dense, lexical = {"a": 0.9, "b": 0.8}, {"b": 7.0, "c": 3.0}
    fused = dict(rrf(dense, lexical))
    assert fused["b"] == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1))
    assert fused["a"] == pytest.approx(1 / (RRF_K + 1))
    assert rrf(dense, lexical)[0][0] == "b"


def test_rrf_with_the_whole_weight_on_one_side_ignores_the_other() -> None:
    fused = dict(rrf({"a": 0.9, "b": 0.8}, {"b": 7.0, "a": 3.0}, weight=0.0))
    assert fused["a"] == pytest.approx(2 / (RRF_K + 1)) and fused["b"] == pytest.approx(2 / (RRF_K + 2))
