"""hopscout.evaluation.augment_eval's oracle curve: the share of queries a perfect decision needs."""

from __future__ import annotations

import pytest

from hopscout.evaluation.augment_eval import confidence_reach, oracle_curve, reach_share

FIRST = [0.5, 0.5, 0.5, 0.5]
SECOND = [0.9, 0.4, 0.6, 0.5]  # gains +0.4, -0.1, +0.1, 0: always's mean is 0.6


def test_the_oracle_augments_only_the_queries_that_gain_largest_gain_first() -> None:
    result = oracle_curve(FIRST, SECOND, target=0.6, shares=(0.0, 0.25, 0.5, 0.75, 1.0))
    assert [p["ndcg@10"] for p in result["curve"]] == pytest.approx([0.5, 0.6, 0.625, 0.625, 0.625])
    assert result["reach"] == 0.25 and result["helped"] == 0.5  # always's 0.6 with one query of four
    assert oracle_curve(FIRST, SECOND, target=0.7)["reach"] is None  # beyond what any decision can reach
    assert oracle_curve([], [], target=0.0) == {"curve": [], "reach": None, "helped": 0.0}


def test_the_confidence_order_needs_every_query_when_it_augments_the_losers_first() -> None:
    # the least confident query loses by augmenting and the most confident gains most: the confidence order
    # reaches always only at 100%, where the oracle needed 25%
    assert confidence_reach([0.9, 0.1, 0.5, 0.7], FIRST, SECOND, 0.6) == 1.0
    assert confidence_reach([0.1, 0.9, 0.5, 0.7], FIRST, SECOND, 0.6) == 0.25


def test_reach_share_is_the_first_share_at_the_target() -> None:
    assert reach_share([0.1, 0.2, 0.3], 0.2) == 0.5
    assert reach_share([0.3, 0.2], 0.25) == 0.0
    assert reach_share([0.1, 0.2], 0.5) is None
