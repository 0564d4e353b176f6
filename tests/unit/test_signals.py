"""hopscout.retrieval.signals: the first retrieval's confidence signals from hand-made ranked lists."""

from __future__ import annotations

import math

import pytest

from hopscout.retrieval.signals import DEPTH, SIGNALS, idf, signals


def test_signals_of_a_small_query() -> None:
    values = signals([0.9, 0.7, 0.5], [10.0, 5.0], ["a", "b", "c"], ["a", "d"], [1.0, 3.0])
    assert dict(zip(SIGNALS, values)) == pytest.approx(
        {
            "dense_top": 0.9,
            "dense_margin": 0.2,
            "dense_gap": 0.4,
            "dense_spread": math.sqrt(0.08 / 3),
            "lexical_drop": 0.5,
            "agreement": 0.1,
            "top1_agree": 1.0,
            "query_terms": math.log(3),
            "idf_mean": 2.0,
            "idf_max": 3.0,
        }
    )


def test_signals_of_nothing_found_are_zero() -> None:
    assert signals([], [], [], [], []) == [0.0] * len(SIGNALS)


def test_only_the_top_depth_counts() -> None:
    dense = [1.0] + [0.5] * (DEPTH - 1) + [0.0, 0.0]
    ids = [f"d{n}" for n in range(len(dense))]
    values = dict(zip(SIGNALS, signals(dense, [4.0, 0.0], ids, ["x", ids[-1]], [])))
    assert values["dense_gap"] == pytest.approx(0.5)  # the 10th, not the 12th
    assert values["agreement"] == 0.0 and values["top1_agree"] == 0.0  # d11 is past the top 10
    assert values["lexical_drop"] == pytest.approx(1.0)


def test_a_non_positive_lexical_top_has_no_drop() -> None:
    assert dict(zip(SIGNALS, signals([0.5], [0.0, 0.0], ["a"], ["a", "b"], [])))["lexical_drop"] == 0.0


def test_idf() -> None:
    assert idf(0, 9) == pytest.approx(math.log(10))
    assert idf(9, 9) == pytest.approx(math.log(1.9))
    assert idf(5, 0) == pytest.approx(math.log(1 + 1 / 6))  # an empty index counts as one document
