"""The gate: after the first retrieval, decide per query whether augmenting is worth it.

It reads the first retrieval's confidence signals (:mod:`hopscout.retrieval.signals`). A tiny
logistic model over the standardised signals gives the probability that augmenting helps; the query is
augmented when it reaches the threshold. ``fit_gate`` learns both on labelled queries (the threshold maximises
nDCG@10 with at most ``max_fraction`` of queries augmented, and may be "never"), then checks the fit out of
sample: refitted on two thirds of the queries and applied to the third left out, three times over, the gate
must raise the held-out queries' nDCG@10, else it never augments. A threshold picked on the same queries it is
scored on always looks like a gain; on held-out queries it often is not (per-query gains of pseudo-relevance
feedback are mostly unpredictable from these signals), and this check is what keeps ``auto`` from falling
below ``never``. The LLM augmenters are calibrated as a cascade instead (:func:`.cascade.calibrated_cascade`).
Either fit is stored as JSON in the collection's metadata. Without calibration
:func:`default_gate` applies: :data:`DEFAULT_GATE` (the cascade, :mod:`.cascade`) for the LLM augmenters, and for
pseudo-relevance feedback
:data:`PRF_UNCALIBRATED`, which augments nothing (no uncalibrated rule we measured beat ``never`` for PRF)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import InvalidArgumentError
from ..keys import META_GATE
from ..logistic import fit_logistic
from ..retrieval.signals import SIGNALS
from .augmenters import get_augmenter
from .cascade import DEFAULT_CASCADE, Cascade

MAX_FRACTION = 0.3
L2 = 1.0
MIN_GAIN = 0.0
CHECK_FOLDS = 3


@dataclass(frozen=True)
class Gate:
    """Logistic model over standardised signals plus a probability threshold (> 1 means never augment)."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    bias: float
    threshold: float
    source: str = "default"
    held_out_gain: float | None = None  # mean nDCG@10 gain per query on held-out calibration queries

    def probability(self, features: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
        x = (np.asarray(features, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(self.scale)
        return 1.0 / (1.0 + np.exp(-(x @ np.asarray(self.coef) + self.bias)))

    def decide(
        self, features: Sequence[Sequence[float]], confidence: Sequence[float] | None = None
    ) -> list[bool]:
        """Whether to augment each query (from its signals; ``confidence`` is not read)."""
        if not len(features):
            return []
        return [bool(p >= self.threshold) for p in self.probability(features)]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Gate:
        try:
            raw = json.loads(text)
            gate = cls(**{**raw, **{k: tuple(raw[k]) for k in ("mean", "scale", "coef")}})
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidArgumentError(
                f"stored augmentation gate is unreadable ({exc}); re-run hopscout calibrate --augment"
            ) from exc
        if not len(gate.mean) == len(gate.scale) == len(gate.coef) == len(SIGNALS):
            raise InvalidArgumentError(
                "stored augmentation gate has the wrong number of signals; re-run calibrate --augment"
            )
        return gate


ConfidenceGate = Cascade  # the cascade's first step alone was this gate: augment below a confidence

DEFAULT_GATE = DEFAULT_CASCADE  # the LLM augmenters' default under auto
# Uncalibrated default for pseudo-relevance feedback: augment nothing. PRF helps when the first hits are right,
# not when they look uncertain; a low-confidence rule and a gate fitted on our other sets each fell below
# ``never`` on some set (hopscout eval --augment), so PRF under ``auto`` waits for a calibrated gate.
PRF_UNCALIBRATED = Gate(
    (0.0,) * len(SIGNALS), (1.0,) * len(SIGNALS), (0.0,) * len(SIGNALS), 0.0, 2.0, "uncalibrated"
)
LLM_BUDGET = 0.5  # at most this share of queries go to an LLM augmenter under a calibrated gate


def default_gate(augmenter: str) -> Gate | Cascade:
    """The gate ``auto`` uses for ``augmenter`` on a collection without a calibrated one."""
    return PRF_UNCALIBRATED if get_augmenter(augmenter).prf else DEFAULT_GATE


def budget(augmenter: str) -> float:
    """The largest share of queries a calibrated gate may augment with ``augmenter``."""
    return LLM_BUDGET if get_augmenter(augmenter).needs_llm else MAX_FRACTION


def fit_gate(
    features: Sequence[Sequence[float]],
    gains: Sequence[float],
    *,
    max_fraction: float = MAX_FRACTION,
    l2: float = L2,
    min_gain: float = MIN_GAIN,
    check_folds: int = CHECK_FOLDS,
) -> Gate:
    """Fit the gate on labelled queries: ``gains`` = nDCG@10 with augmentation minus without, per query.

    The threshold is the one with the largest total gain on these queries within the ``max_fraction`` budget,
    kept only when that gain averages at least ``min_gain`` per query and, with ``check_folds`` > 1, when the
    same fit made without each fold of queries raises that fold's nDCG@10 in total (else it never augments)."""
    x = np.asarray(features, dtype=np.float64)
    g = np.asarray(gains, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(SIGNALS) or len(x) != len(g) or len(x) < 2:
        raise InvalidArgumentError(
            f"fit_gate needs at least 2 queries with {len(SIGNALS)} signals and a gain each"
        )
    gate = _fit(x, g, max_fraction, l2, min_gain)
    if check_folds < 2 or gate.threshold > 1.0:
        return gate
    if len(x) < 2 * check_folds:  # too few queries to hold any out: nothing shows the gate generalises
        return Gate(gate.mean, gate.scale, gate.coef, gate.bias, 2.0, "calibrated")
    fold = np.arange(len(x)) % check_folds
    held_out = 0.0
    for k in range(check_folds):
        inner = _fit(x[fold != k], g[fold != k], max_fraction, l2, min_gain)
        held_out += float(g[fold == k][np.asarray(inner.decide(x[fold == k]), dtype=bool)].sum())
    mean_gain = held_out / len(x)
    if held_out <= 1e-9:
        return Gate(gate.mean, gate.scale, gate.coef, gate.bias, 2.0, "calibrated", mean_gain)
    return Gate(gate.mean, gate.scale, gate.coef, gate.bias, gate.threshold, "calibrated", mean_gain)


def _fit(x: np.ndarray, g: np.ndarray, max_fraction: float, l2: float, min_gain: float) -> Gate:
    """The logistic model and the in-sample best threshold (2.0 = never) for features ``x`` and gains ``g``."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    y = (g > 1e-9).astype(np.float64)
    if y.sum() == 0:
        return Gate(tuple(mean), tuple(scale), tuple([0.0] * len(SIGNALS)), 0.0, 2.0, "calibrated")
    coef, bias = fit_logistic((x - mean) / scale, y, l2=l2)
    gate = Gate(tuple(mean), tuple(scale), tuple(float(c) for c in coef), bias, 2.0, "calibrated")
    p = gate.probability(x)
    budget = math.floor(max_fraction * len(x))
    best_gain, best_t = 0.0, 2.0
    for t in sorted(set(p.tolist()), reverse=True):
        chosen = p >= t
        if chosen.sum() > budget:
            break
        total = float(g[chosen].sum())
        if total > best_gain + 1e-9:
            best_gain, best_t = total, float(t)
    if best_gain < min_gain * len(x):
        best_t = 2.0
    return Gate(gate.mean, gate.scale, gate.coef, gate.bias, best_t, "calibrated")


def gate_key(augmenter: str, mode: str) -> str:
    return f"{augmenter}/{mode}"


def stored_gates(metadata: Mapping[str, object]) -> dict[str, str]:
    """The gates stored in a collection's metadata, by ``augmenter/mode``."""
    raw = metadata.get(META_GATE)
    if not isinstance(raw, str):
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return (
        {str(k): json.dumps(v) if not isinstance(v, str) else v for k, v in value.items()}
        if isinstance(value, dict)
        else {}
    )


def load_gate(metadata: Mapping[str, object], augmenter: str, mode: str) -> Gate | Cascade:
    """The calibrated gate (or cascade, for the LLM augmenters) for this augmenter and mode, else
    :func:`default_gate`."""
    text = stored_gates(metadata).get(gate_key(augmenter, mode))
    if not text:
        return default_gate(augmenter)
    return Cascade.from_json(text) if _is_cascade(text) else Gate.from_json(text)


def _is_cascade(text: str) -> bool:
    """Whether a stored gate's JSON is a :class:`~.cascade.Cascade` (it has a threshold ``below``)."""
    try:
        raw = json.loads(text)
    except ValueError:
        return False
    return isinstance(raw, dict) and "below" in raw


def gates_metadata(metadata: Mapping[str, object], augmenter: str, mode: str, gate: Gate | Cascade) -> str:
    """The metadata value with ``gate`` stored for this augmenter and mode beside the others."""
    gates = {k: json.loads(v) for k, v in stored_gates(metadata).items()}
    gates[gate_key(augmenter, mode)] = json.loads(gate.to_json())
    return json.dumps(gates, separators=(",", ":"))
