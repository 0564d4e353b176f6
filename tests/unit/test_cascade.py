"""hopscout.augment.cascade: the confidence step, the judge of the augmented list, RBO and the fit."""

from __future__ import annotations

import numpy as np
import pytest

from hopscout.augment.cascade import (
    DROPPED,
    FUSED,
    KEPT,
    SHARES,
    Cascade,
    JudgedQueries,
    fit_cascade,
    rbo,
)
from hopscout.errors import InvalidArgumentError


def test_rbo_is_one_for_the_same_ranking_zero_for_disjoint_and_weighs_the_top() -> None:
    a = [f"d{i}" for i in range(10)]
    assert rbo(a, a) == pytest.approx(1.0)
    assert rbo(a, [f"x{i}" for i in range(10)]) == 0.0
    swapped_top = [a[1], a[0], *a[2:]]
    swapped_tail = [*a[:8], a[9], a[8]]
    assert rbo(a, swapped_tail) > rbo(a, swapped_top) > 0.5  # disagreement at the top costs more


def test_the_cascade_augments_below_its_threshold_only() -> None:
    cascade = Cascade(below=0.4)
    assert cascade.decide([[]] * 3, [0.1, 0.4, 0.9]) == [True, False, False]
    assert "not augmented" in cascade.first_reason(0.9)
    with pytest.raises(InvalidArgumentError):
        cascade.decide([[]])


def test_the_judge_keeps_a_more_confident_list_drops_a_less_confident_disagreeing_one_and_fuses_else() -> (
    None
):
    cascade = Cascade(below=0.5, keep_margin=0.1, drop_margin=0.1, drop_agreement=0.5)
    kept = cascade.judge(0.3, 0.5, 0.2)
    assert (kept.action, kept.share) == (KEPT, SHARES[KEPT]) and "kept" in kept.reason
    dropped = cascade.judge(0.3, 0.1, 0.2)
    assert (dropped.action, dropped.share) == (DROPPED, 0.0) and "dropped" in dropped.reason
    assert (
        cascade.judge(0.3, 0.1, 0.9).action == FUSED
    )  # less confident but agreeing: little to lose by fusing
    assert cascade.judge(0.3, 0.32, 0.2).action == FUSED


def _queries(n: int, seed: int = 0) -> JudgedQueries:
    """Hand-made labelled queries: augmenting pays below confidence 0.3; the augmented list alone pays where
    its confidence rose, and costs where it fell."""
    rng = np.random.default_rng(seed)
    conf = rng.random(n)
    aug = np.clip(conf + rng.choice([-0.3, 0.3], n), 0, 1)
    first = rng.random(n) * 0.5
    fused = first + np.where(conf < 0.3, 0.2, -0.05)
    kept = first + np.where(aug > conf, 0.4, -0.4)
    return JudgedQueries(conf, aug, rng.random(n), first, fused, kept)


def test_a_fitted_cascade_finds_where_augmenting_pays_within_its_budget() -> None:
    data = _queries(400)
    cascade = fit_cascade(data, max_fraction=0.35)
    chosen = np.asarray(data.confidence) < cascade.below
    assert chosen.mean() <= 0.35
    scores = np.asarray(data.scores(cascade))
    fused_everywhere = np.asarray(data.fused)
    assert scores.mean() > fused_everywhere.mean() and scores.mean() > np.mean(data.first)
    assert cascade.judge(0.2, 0.5, 0.5).action == KEPT  # it learned that a rise in confidence pays


def test_a_cascade_fitted_where_augmenting_never_pays_augments_nothing() -> None:
    data = _queries(200)
    worse = JudgedQueries(
        data.confidence,
        data.augmented_confidence,
        data.agreement,
        data.first,
        np.asarray(data.first) - 0.1,
        np.asarray(data.first) - 0.1,
    )
    cascade = fit_cascade(worse)
    assert not any(cascade.should_augment(c) for c in worse.confidence)
    assert worse.scores(cascade) == list(worse.first)
