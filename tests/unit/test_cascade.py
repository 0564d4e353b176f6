"""hopscout.augment.cascade: the confidence step, the judge of the augmented list, RBO and the fit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hopscout.agent_view import LOW_CONFIDENCE, confidence_line
from hopscout.augment import META_GATE, gates_metadata, load_gate
from hopscout.augment.cascade import (
    DEFAULT_CASCADE,
    DROPPED,
    FUSED,
    KEPT,
    REASK_BELOW,
    SHARES,
    Cascade,
    JudgedQueries,
    calibrated_cascade,
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


def _where_augmenting_costs(data: JudgedQueries) -> JudgedQueries:
    """``data`` with the fused and the augmented list each 0.1 nDCG@10 below the first: augmenting never pays."""
    worse = np.asarray(data.first) - 0.1
    return JudgedQueries(data.confidence, data.augmented_confidence, data.agreement, data.first, worse, worse)


def test_a_cascade_fitted_where_augmenting_never_pays_augments_nothing() -> None:
    worse = _where_augmenting_costs(_queries(200))
    cascade = fit_cascade(worse)
    assert not any(cascade.should_augment(c) for c in worse.confidence)
    assert worse.scores(cascade) == list(worse.first)


def test_calibration_keeps_a_fit_that_gains_out_of_sample_and_stores_it_as_a_cascade() -> None:
    # augmenting pays below confidence 0.2 and costs above it: the shipped threshold (0.55) augments too much
    base = _queries(400)
    hurts = np.asarray(base.confidence) >= 0.2
    data = JudgedQueries(
        base.confidence,
        base.augmented_confidence,
        base.agreement,
        base.first,
        np.where(hurts, np.asarray(base.first) - 0.1, base.fused),
        np.where(hurts, np.asarray(base.first) - 0.1, base.kept),
    )
    cascade = calibrated_cascade(data)
    assert cascade.below < DEFAULT_CASCADE.below
    assert cascade.source == "calibrated" and cascade.held_out_gain is not None and cascade.held_out_gain > 0
    assert dataclasses.replace(cascade, held_out_gain=None) == fit_cascade(data, source="calibrated")
    stored = gates_metadata({}, "query2doc", "hybrid", cascade)
    assert load_gate({META_GATE: stored}, "query2doc", "hybrid") == cascade  # what search reads back
    assert load_gate({META_GATE: stored}, "hyde", "hybrid") == DEFAULT_CASCADE  # the others stay shipped
    with pytest.raises(InvalidArgumentError, match="calibrate --augment"):
        Cascade.from_json('{"below": 0.5, "nonsense": 1}')


def test_calibration_augments_nothing_where_neither_the_fit_nor_the_shipped_cascade_gains() -> None:
    worse = _where_augmenting_costs(_queries(200))
    cascade = calibrated_cascade(worse)
    assert cascade.below <= 0.0 and cascade.held_out_gain is not None and cascade.held_out_gain <= 0
    assert worse.scores(cascade) == list(worse.first)


def test_calibration_keeps_the_shipped_cascade_within_budget_when_a_fit_does_not_beat_it_out_of_sample() -> (
    None
):
    # gains exactly where confidence is below the shipped threshold (a quarter of the queries): a fit on half the
    # queries can at best match the shipped cascade on the other half
    n = 200
    conf = np.linspace(0.4, 1.0, n)
    first = np.full(n, 0.3)
    better = first + np.where(conf < DEFAULT_CASCADE.below, 0.2, 0.0)
    data = JudgedQueries(conf, conf, np.ones(n), first, better, better)
    cascade = calibrated_cascade(data, max_fraction=0.35)
    assert cascade.source == "shipped" and cascade.below == DEFAULT_CASCADE.below
    assert cascade.held_out_gain == pytest.approx(float(np.mean(np.asarray(data.scores(cascade)) - first)))
    # where the shipped threshold would augment beyond the budget (the confidence reads lower), the fit is kept
    lower = JudgedQueries(conf - 0.3, conf - 0.3, np.ones(n), first, better, better)
    fitted = calibrated_cascade(lower, max_fraction=0.35)
    assert (
        fitted.source == "calibrated"
        and np.mean([fitted.should_augment(c) for c in lower.confidence]) <= 0.35
    )


def test_the_weak_list_warning_is_a_stricter_bar_than_the_reask_bar() -> None:
    # Two decisions: below LOW_CONFIDENCE the agent is told its top passage is probably irrelevant (a claim about
    # the list); below REASK_BELOW a second retrieval pays for its LLM call. Every list called weak is one the
    # cascade augments; between the bars the cascade augments but the agent is not told the list is weak.
    assert LOW_CONFIDENCE < 0.5 <= REASK_BELOW == DEFAULT_CASCADE.below
    weak = LOW_CONFIDENCE - 0.01
    between = (LOW_CONFIDENCE + REASK_BELOW) / 2
    assert "Low:" in (confidence_line(weak) or "") and DEFAULT_CASCADE.should_augment(weak)
    assert "Low:" not in (confidence_line(between) or "") and DEFAULT_CASCADE.should_augment(between)
    assert not DEFAULT_CASCADE.should_augment(REASK_BELOW)
