"""hopscout.augment.gate: deciding, fitting and storing the augmentation gate on hand-made signals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hopscout.augment.gate import (
    DEFAULT_GATE,
    LLM_BUDGET,
    MAX_FRACTION,
    META_GATE,
    PRF_UNCALIBRATED,
    ConfidenceGate,
    Gate,
    budget,
    default_gate,
    fit_gate,
    gates_metadata,
    load_gate,
    stored_gates,
)
from hopscout.errors import InvalidArgumentError
from hopscout.retrieval.signals import SIGNALS

N = len(SIGNALS)


def gate(threshold: float, first: float = 1.0) -> Gate:
    return Gate((0.0,) * N, (1.0,) * N, (first,) + (0.0,) * (N - 1), 0.0, threshold, "test")


def test_a_gate_augments_the_queries_at_or_over_its_threshold() -> None:
    rows = [[-3.0] + [0.0] * (N - 1), [0.0] * N, [3.0] + [0.0] * (N - 1)]
    assert gate(0.5).decide(rows) == [False, True, True]
    assert gate(0.9).decide(rows) == [False, False, True]
    assert gate(2.0).decide(rows) == [False, False, False]  # over 1: never
    assert gate(0.5).decide([]) == []


def test_a_confidence_gate_augments_the_unsure_queries_only() -> None:
    assert ConfidenceGate(below=0.5).decide([[0.0] * N] * 3, [0.2, 0.5, 0.9]) == [True, False, False]
    with pytest.raises(InvalidArgumentError, match="needs each query's confidence"):
        DEFAULT_GATE.decide([[0.0] * N])


def test_the_uncalibrated_defaults() -> None:
    assert default_gate("rocchio") is PRF_UNCALIBRATED and default_gate("rm3") is PRF_UNCALIBRATED
    assert default_gate("hyde") is DEFAULT_GATE
    assert PRF_UNCALIBRATED.decide([[5.0] * N]) == [False]
    assert budget("hyde") == LLM_BUDGET and budget("rocchio") == MAX_FRACTION


def signals_and_gains(n: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Queries whose first signal (the dense top) is low gain from augmenting; the others lose a little."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(n, N))
    x[:, 0] = np.linspace(0.1, 0.9, n)
    return x, np.where(x[:, 0] < 0.3, 0.2, -0.05)


def test_fit_gate_learns_to_augment_the_queries_that_gain() -> None:
    x, g = signals_and_gains()
    fitted = fit_gate(x, g)
    assert fitted.source == "calibrated" and fitted.threshold <= 1.0
    assert fitted.held_out_gain is not None and fitted.held_out_gain > 0
    chosen = np.asarray(fitted.decide(x))
    assert (
        chosen.sum() <= MAX_FRACTION * len(x)
        and chosen[x[:, 0] < 0.3].all()
        and not chosen[x[:, 0] > 0.5].any()
    )


def test_fit_gate_never_augments_without_gains_or_held_out_queries() -> None:
    x, g = signals_and_gains()
    assert fit_gate(x, -np.abs(g)).threshold == 2.0
    assert fit_gate(x[:5], g[:5]).threshold == 2.0  # fewer than 2 x 3 queries: nothing held out
    assert fit_gate(x, g, min_gain=1.0, check_folds=1).threshold == 2.0


def test_fit_gate_refuses_misshapen_input() -> None:
    with pytest.raises(InvalidArgumentError, match=f"at least 2 queries with {N} signals and a gain each"):
        fit_gate([[0.0] * (N - 1)] * 3, [0.1, 0.2, 0.3])
    with pytest.raises(InvalidArgumentError, match="at least 2 queries"):
        fit_gate([[0.0] * N] * 3, [0.1, 0.2])


def test_gates_are_stored_beside_each_other_in_the_metadata() -> None:
    first = gate(0.4)
    value = gates_metadata({}, "rocchio", "hybrid", first)
    second = gates_metadata({META_GATE: value}, "rm3", "dense", gate(0.7))
    assert set(stored_gates({META_GATE: second})) == {"rocchio/hybrid", "rm3/dense"}
    assert load_gate({META_GATE: second}, "rocchio", "hybrid") == first
    assert load_gate({META_GATE: second}, "rocchio", "dense") is PRF_UNCALIBRATED
    assert stored_gates({META_GATE: "not json"}) == {} and stored_gates({META_GATE: "[1]"}) == {}


def test_a_bad_stored_gate_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="unreadable"):
        Gate.from_json('{"mean": []}')
    short = json.dumps({"mean": [0], "scale": [1], "coef": [1], "bias": 0, "threshold": 0.5})
    with pytest.raises(InvalidArgumentError, match="wrong number of signals"):
        Gate.from_json(short)
