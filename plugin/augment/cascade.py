"""The augmentation cascade: decide after a cheap first retrieval, then judge the augmented retrieval.

1. The first retrieval's confidence (:mod:`hopscout.retrieval.confidence`: P(top hit relevant)) at or above
   :attr:`Cascade.below` returns at once: no LLM call.
2. The rest are augmented, and the augmented retrieval is judged against the first by what the two say: each
   list's own confidence (the same model read on the augmented candidates) and their agreement (rank-biased
   overlap of the top 10, :func:`rbo`). The augmented list is *kept* (it replaces the first ranking) when it is
   clearly the more confident one, *dropped* (the first ranking stays) when it is clearly the less confident
   one while the two disagree, and *fused* with the first (convex, equal shares, as ``always`` does) otherwise.
   A harmful expansion (the LLM lacks the knowledge: Abe et al., SIGIR 2025) reads as a drop in confidence
   and costs one LLM call, not the query's ranking.

The shipped :data:`DEFAULT_CASCADE` and the agent loop's re-ask bar are the same decision
(:data:`REASK_BELOW`); the weak-list warning an agent reads (:data:`hopscout.agent_view.LOW_CONFIDENCE`) is a
different one, below it (see :data:`REASK_BELOW`). :func:`fit_cascade` fits the threshold and the judge's margins on labelled
queries (``hopscout eval augment`` cross-fits it, 2-fold); :func:`calibrated_cascade` is what ``hopscout
calibrate --augment`` stores with a collection: that fit, kept only if it beats the shipped cascade out of
sample. SciFact is the only set with recorded LLM
augmentations, so the shipped constants were set there (see :data:`DEFAULT_CASCADE`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import NamedTuple

import numpy as np

from ..errors import InvalidArgumentError

KEPT, FUSED, DROPPED = "kept", "fused", "dropped"
SHARES = {KEPT: 1.0, FUSED: 0.5, DROPPED: 0.0}  # the augmented list's share in the final ranking
RBO_P = 0.9
RBO_DEPTH = 10


def rbo(first: Sequence[str], second: Sequence[str], p: float = RBO_P, depth: int = RBO_DEPTH) -> float:
    """Rank-biased overlap of two rankings' top ``depth`` (Webber et al. 2010), normalised to 0–1 at that
    depth: 1 when they agree on every prefix, 0 when they share nothing."""
    if depth < 1:
        return 0.0
    seen_a: set[str] = set()
    seen_b: set[str] = set()
    total, weight_sum = 0.0, 0.0
    for d in range(1, depth + 1):
        if d <= len(first):
            seen_a.add(first[d - 1])
        if d <= len(second):
            seen_b.add(second[d - 1])
        w = p ** (d - 1)
        total += w * len(seen_a & seen_b) / d
        weight_sum += w
    return total / weight_sum


class Verdict(NamedTuple):
    """What became of one query's augmented retrieval: ``action`` (kept / fused / dropped), the augmented
    list's ``share`` of the final ranking, and the ``reason`` in words."""

    action: str
    share: float
    reason: str


@dataclass(frozen=True)
class Cascade:
    """Augment below ``below`` confidence; keep the augmented list when its confidence exceeds the first's by
    ``keep_margin``; drop it when its confidence falls short of the first's by ``drop_margin`` and the two
    lists agree less than ``drop_agreement`` (RBO); fuse otherwise."""

    below: float = 0.5
    keep_margin: float = 0.0
    drop_margin: float = 0.2
    drop_agreement: float = 0.25
    source: str = "default"
    # mean nDCG@10 gain per query over never on calibration queries it was not fitted on (None: not calibrated)
    held_out_gain: float | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Cascade:
        """The cascade :meth:`to_json` wrote (stored with a collection by ``hopscout calibrate --augment``)."""
        try:
            return cls(**json.loads(text))
        except (ValueError, TypeError) as exc:
            raise InvalidArgumentError(
                f"stored augmentation cascade is unreadable ({exc}); re-run hopscout calibrate --augment"
            ) from exc

    def should_augment(self, confidence: float) -> bool:
        """Whether a query whose first retrieval has this confidence is augmented."""
        return confidence < self.below

    def decide(
        self, features: Sequence[Sequence[float]], confidence: Sequence[float] | None = None
    ) -> list[bool]:
        """Whether to augment each query, from its ``confidence`` (its signals ``features`` are not read)."""
        if confidence is None:
            raise InvalidArgumentError("the cascade needs each query's confidence")
        return [self.should_augment(c) for c in confidence]

    def first_reason(self, confidence: float) -> str:
        """Why a query was not augmented."""
        return f"not augmented: search confidence {confidence:.2f} is at least {self.below:.2f}"

    def judge(self, first_confidence: float, augmented_confidence: float, agreement: float) -> Verdict:
        """The verdict on one augmented retrieval (see the module docstring)."""
        said = (
            f"augmented (search confidence {first_confidence:.2f} below {self.below:.2f}); the augmented "
            f"retrieval's confidence {augmented_confidence:.2f}, agreement with the first {agreement:.2f}"
        )
        if augmented_confidence >= first_confidence + self.keep_margin:
            return Verdict(KEPT, SHARES[KEPT], f"{said}: augmented list kept")
        if augmented_confidence <= first_confidence - self.drop_margin and agreement < self.drop_agreement:
            return Verdict(DROPPED, SHARES[DROPPED], f"{said}: augmented list dropped, first kept")
        return Verdict(FUSED, SHARES[FUSED], f"{said}: the two fused")


# Set on SciFact with the recorded expansions (hyde, query2doc), the shipped confidence models: below 0.55
# augments 30% of its queries; keeping the augmented list when it is at least as confident as the first (margin 0)
# was chosen by both 2-fold fits (margins -0.2 to 0); dropping is a guard for expansions that lose the query
# (no SciFact fit chose to drop: the recorded LLM rarely hurts there).
DEFAULT_CASCADE = Cascade(below=0.55, keep_margin=0.0, drop_margin=0.2, drop_agreement=0.25)
# An agent re-asks (or expands) below the same confidence the cascade augments: both spend a second retrieval
# (and an LLM call) where it pays. It is not :data:`hopscout.agent_view.LOW_CONFIDENCE` (0.3), the line below
# which a result tells the agent its top passage is *probably irrelevant*: that is a claim about the list, honest
# only well below 0.5, while this bar is where a second retrieval gains enough nDCG@10 to pay for its call, and
# sits above one half (a coin-flip top hit is still worth a second look). The warning bar stays below this one, so
# a list the agent is told is weak is always one the cascade would augment (tests/unit/test_cascade.py).
REASK_BELOW = DEFAULT_CASCADE.below


CASCADE_BUDGET = 0.35  # the largest share of queries a fitted cascade may augment
_MARGINS = (
    -1.0,
    -0.2,
    -0.1,
    -0.05,
    0.0,
    0.05,
    0.1,
    0.2,
    0.3,
    2.0,
)  # ±1 and 2: always / never kept or dropped
_AGREEMENTS = (0.0, 0.25, 0.5, 0.75, 1.01)


@dataclass(frozen=True)
class JudgedQueries:
    """What fitting a cascade reads, per labelled query: the first retrieval's confidence, the augmented
    retrieval's confidence and agreement with the first, and nDCG@10 of the first ranking, of the two fused and
    of the augmented ranking alone."""

    confidence: Sequence[float]
    augmented_confidence: Sequence[float]
    agreement: Sequence[float]
    first: Sequence[float]
    fused: Sequence[float]
    kept: Sequence[float]

    def scores(self, cascade: Cascade) -> list[float]:
        """Each query's nDCG@10 under ``cascade``."""
        out = []
        for c, a, g, first, fused, kept in zip(
            self.confidence, self.augmented_confidence, self.agreement, self.first, self.fused, self.kept
        ):
            if not cascade.should_augment(c):
                out.append(first)
                continue
            action = cascade.judge(c, a, g).action
            out.append(kept if action == KEPT else first if action == DROPPED else fused)
        return out


def fit_cascade(
    data: JudgedQueries, *, max_fraction: float = CASCADE_BUDGET, source: str = "fitted"
) -> Cascade:
    """The cascade with the best total nDCG@10 on ``data`` augmenting at most ``max_fraction`` of its queries:
    the judge's margins on a grid and, for each, the confidence threshold (between the queries' own
    confidences) that gains most; "never augment" (gain 0) unless something gains."""
    conf = np.asarray(data.confidence, dtype=np.float64)
    n = len(conf)
    aug = np.asarray(data.augmented_confidence, dtype=np.float64)
    agreement = np.asarray(data.agreement, dtype=np.float64)
    first, fused, kept = (np.asarray(v, dtype=np.float64) for v in (data.first, data.fused, data.kept))
    order = np.argsort(conf, kind="stable")
    budget = int(np.floor(max_fraction * n))
    best = (1e-9, Cascade(below=0.0, source=source))
    if budget < 1:
        return best[1]
    cuts = np.append((conf[order][1:] + conf[order][:-1]) / 2, conf[order][-1] + 1e-6)
    for keep in _MARGINS:
        for drop in _MARGINS:
            for agree in _AGREEMENTS:
                is_kept = aug >= conf + keep
                is_dropped = ~is_kept & (aug <= conf - drop) & (agreement < agree)
                gain = np.where(is_kept, kept, np.where(is_dropped, first, fused)) - first
                running = np.cumsum(gain[order][:budget])
                m = int(np.argmax(running))
                if running[m] > best[0] + 1e-9:
                    best = (float(running[m]), Cascade(float(cuts[m]), keep, drop, agree, source))
    return best[1]


def calibrated_cascade(
    data: JudgedQueries, *, max_fraction: float = CASCADE_BUDGET, shipped: Cascade = DEFAULT_CASCADE
) -> Cascade:
    """The cascade a collection stores after calibration on ``data``, checked out of sample.

    :func:`fit_cascade` is run on each half of the queries (even / odd positions) and scored on the other; that
    held-out gain over never is compared with the ``shipped`` cascade's on the same queries (which it was not fitted
    on), if the shipped one keeps within ``max_fraction`` here: its threshold was set for the shipped confidence
    models, and a collection's calibrated ones can put many more queries below it (on SciFact 47% instead of 30%).
    The fit on all queries is kept when its held-out gain is positive and beats the shipped one's; else the
    shipped cascade is kept when it gains; else nothing is augmented (``below`` 0). Each carries its
    ``held_out_gain``. With fewer than 4 queries nothing can be held out: the shipped cascade stays."""
    n = len(data.confidence)
    if n < 4:
        return replace(shipped, source="shipped")
    first = np.asarray(data.first, dtype=np.float64)
    halves = (list(range(0, n, 2)), list(range(1, n, 2)))
    held = np.zeros(n)
    for fit_rows, score_rows in (halves, halves[::-1]):
        fitted = fit_cascade(_rows(data, fit_rows), max_fraction=max_fraction)
        held[score_rows] = _rows(data, score_rows).scores(fitted)
    fitted_gain = float(np.mean(held - first))
    within = np.mean([shipped.should_augment(c) for c in data.confidence]) <= max_fraction + 1e-9
    shipped_gain = float(np.mean(np.asarray(data.scores(shipped)) - first)) if within else float("-inf")
    if fitted_gain > 1e-9 and fitted_gain > shipped_gain:
        fit = fit_cascade(data, max_fraction=max_fraction, source="calibrated")
        return replace(fit, held_out_gain=fitted_gain)
    if shipped_gain > 1e-9:
        return replace(shipped, source="shipped", held_out_gain=shipped_gain)
    return Cascade(below=0.0, source="calibrated", held_out_gain=fitted_gain)


def _rows(data: JudgedQueries, rows: Sequence[int]) -> JudgedQueries:
    """The queries ``rows`` of ``data``."""
    fields = (data.confidence, data.augmented_confidence, data.agreement, data.first, data.fused, data.kept)
    picked = [[values[r] for r in rows] for values in fields]
    return JudgedQueries(*picked)
