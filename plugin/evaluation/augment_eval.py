"""``hopscout eval augment DIR ...``: each augmenter never / always / auto / oracle in one run.

``auto`` is the cascade (:mod:`hopscout.augment.cascade`): augment below a confidence, then keep, fuse or
drop the augmented list by its own confidence and its agreement with the first; its threshold and margins
are 2-fold cross-fitted, and so are the confidence models it reads. ``auto_default`` is the shipped cascade
with the shipped confidence models; ``gate`` (beside the rows) the logistic gate over the signals, what ``auto``
was before.
The curve gives nDCG@10 against the share augmented; the mean cost per query counts LLM time as calls ×
:data:`LLM_CALL_MS`.

Every query's first retrieval is run once (timed per query); each augmenter then augments every query (timed
per query), so "never" and "always" rankings come from the same pass. ``auto`` is scored honestly by 2-fold
cross-fitting (:mod:`hopscout.evaluation.folds`, as for the hybrid weight): queries are split by position
(even / odd), the cascade (and the logistic gate) is fitted on one half and decides on the other half.
``oracle`` takes, per query, the better of never and always. Latency (p50) per policy, on an evenly spaced sample of ``latency_sample`` queries, one query per
call: the first retrieval, plus for queries the policy augments the whole augmentation (LLM call, stored
vectors, re-encoding, second retrieval, fusion), all measured in this run. nDCG comes from batched runs.
LLM calls count one completion per augmented query; each LLM augmenter starts from an empty completion cache
of its own (deleted after the run), so its latency is the LLM's, not a cache hit's."""

from __future__ import annotations

import dataclasses
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..agent_view import LOW_CONFIDENCE
from ..augment import AugmenterSpec, augment_batch, budget, default_gate, fit_gate, get_augmenter
from ..augment.cascade import (
    CASCADE_BUDGET,
    DROPPED,
    FUSED,
    KEPT,
    Cascade,
    JudgedQueries,
    fit_cascade,
    rbo,
)
from ..augment.stage import list_features, rerank
from ..calibration import confidence_data, fit_confidence
from ..engine import Engine
from ..errors import UnreadableFileError
from ..llm import LLM, CachedLLM, LLMCache, ReplayLLM
from ..metrics import per_query
from ..retrieval import SIGNALS, Candidates, FirstRetrieval
from ..retrieval.confidence import DEFAULT_CONFIDENCE, ConfidenceModels
from ..scout import Scout, engine_of
from ..settings import SEARCH_MODES
from .datasets import load_dataset
from .folds import SPLIT, cross_fit, halves
from .harness import cross_fitted_weights, index_dataset

Log = Callable[[str], None]
AGENT_EXPANSION_FIELD = "keywords"
REASK_SHARES = tuple(n / 10 for n in range(11))
# The stated cost of one LLM call (a ~100-token completion from a hosted model) for the mean cost per query:
# replayed recordings take no LLM time, so LLM time is counted as calls x this.
LLM_CALL_MS = 1000.0


def _ndcg(rankings: Sequence[Sequence[str]], qids: Sequence[str], qrels: Any) -> list[float]:
    scores = per_query(dict(zip(qids, rankings)), qrels)
    return [scores[q]["ndcg@10"] for q in qids]


def signal_correlations(features: Sequence[Sequence[float]], gains: Sequence[float]) -> dict[str, float]:
    """Spearman's rho of each gate signal with the gain, over the queries augmenting changed (0 when < 3).

    Near zero everywhere means no gate on these signals can tell the queries that gain from those that lose."""
    from scipy.stats import spearmanr

    g = np.asarray(gains, dtype=np.float64)
    moved = np.abs(g) > 1e-9
    x = np.asarray(features, dtype=np.float64)[moved]
    out = {}
    for j, name in enumerate(SIGNALS):
        constant = len(x) < 3 or np.ptp(x[:, j]) == 0 or np.ptp(g[moved]) == 0
        out[name] = 0.0 if constant else float(spearmanr(x[:, j], g[moved]).statistic)
    return out


def _p50(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


@dataclass
class _FirstPass:
    """What every augmenter is measured against: each query's first retrieval (both retrievers, signals), its
    cross-fitted fusion weight and fold, its nDCG@10 without augmentation, and the timed sample."""

    first: FirstRetrieval
    mode: str
    depth: int
    qids: list[str]
    qrels: Any
    found: list[Candidates]
    weights: list[float]
    folds: list[tuple[list[int], float]]
    never: list[float]
    sample: list[int]
    first_ms: list[float]
    expansions: list[str | None]  # the agent's own expansion= text per query (for the expansion augmenter)
    confidence: list[float]  # each query's confidence (the models fitted on the other fold)
    default_confidence: list[float]  # each query's confidence from the shipped (uncalibrated) models
    models: list[
        ConfidenceModels
    ]  # per query: the models its confidence came from (fitted on the other fold)

    @property
    def features(self) -> list[list[float]]:
        return [c.features or [] for c in self.found]


def run_augment_eval(
    folder: str | Path,
    scout: Scout,
    *,
    augmenters: Sequence[str] = ("rocchio", "rm3"),
    mode: str = "hybrid",
    limit: int | None = None,
    llm: LLM | None = None,
    recorded: str | Path | None = None,
    latency_sample: int = 50,
    log: Log = lambda _: None,
) -> dict[str, Any]:
    """Evaluate each augmenter under never / always / auto (cross-fitted) / oracle on the set in ``folder``.

    ``recorded``: a capable LLM's outputs (JSONL keyed by query id: ``passage``, ``queries``, ``keywords``),
    replayed as the LLM (:class:`~hopscout.llm.ReplayLLM`); its ``keywords`` are also the agent's own
    ``expansion=`` text for the ``expansion`` augmenter."""
    engine = engine_of(scout)
    dataset = load_dataset(folder)
    collection = index_dataset(scout, dataset, log)
    qids, queries, relevant = dataset.judged(limit)
    expansions: list[str | None] = [None] * len(qids)
    if recorded is not None:
        llm = ReplayLLM.from_jsonl(recorded, subjects=dataset.queries)
        rows = {q: r for q, r in _recorded_rows(recorded).items()}
        expansions = [_agent_expansion(rows.get(q)) for q in qids]
    specs = [get_augmenter(name) for name in augmenters]
    index = engine.index(collection)
    index.sync()
    first = engine.first_retrieval(index)
    depth = engine.settings.candidates
    even, odd = halves(len(qids))
    _, weights, (w_for_even, w_for_odd) = cross_fitted_weights(engine, collection, queries, relevant, log)
    log(f"first retrieval of {len(qids)} queries ({mode}) ...")
    folds = [(even, w_for_even), (odd, w_for_odd)]
    found: list[Any] = [None] * len(qids)
    for fold, _ in folds:  # one batch per fold, as the folds are searched
        batch = [queries[r] for r in fold]
        for r, cands in zip(
            fold, first.run(batch, mode=mode, depth=depth, both=True, with_signals=True) if fold else []
        ):
            found[r] = cands
    sample = list(range(0, len(qids), max(1, len(qids) // latency_sample)))[:latency_sample]
    first_ms = []
    for r in sample:  # one query per call, as an agent searches
        start = time.perf_counter()
        first.run([queries[r]], mode=mode, depth=depth, both=True, with_signals=True)
        first_ms.append((time.perf_counter() - start) * 1000)

    def ndcg_of(ranking_mode: str) -> list[float]:
        return _ndcg(
            [[i for i, _ in c.ranking(ranking_mode, w)[:10]] for c, w in zip(found, weights)],
            qids,
            dataset.qrels,
        )

    log("confidence of every query (2-fold cross-fitted) ...")
    confidence, default_confidence, models = _cross_fitted_confidence(
        engine, collection, queries, relevant, weights, mode
    )
    passed = _FirstPass(
        first,
        mode,
        depth,
        qids,
        dataset.qrels,
        found,
        weights,
        folds,
        ndcg_of(mode),
        sample,
        first_ms,
        expansions,
        confidence,
        default_confidence,
        models,
    )
    report: dict[str, Any] = {
        "dataset": dataset.name,
        "queries": len(qids),
        "corpus": len(dataset.corpus),
        "mode": mode,
        "embedder": engine.embedder.id,
        "fold_weights": [w_for_even, w_for_odd],
        "split": SPLIT,
        "baselines": {name: float(np.mean(ndcg_of(name))) for name in SEARCH_MODES},
        "results": {},
    }
    for spec in specs:
        with tempfile.TemporaryDirectory(prefix="hopscout-augment-eval-") as scratch:
            # an LLM augmenter starts from an empty completion cache of its own (deleted afterwards): hyde and
            # query2doc share prompts, and a completion cached by one (or by an earlier run) would time the next
            # at cache speed
            cold = LLMCache(Path(scratch) / f"{spec.name}.sqlite") if spec.needs_llm else None
            try:
                report["results"][spec.name] = _evaluate_augmenter(
                    passed, spec, engine.completions(llm, cold), log
                )
            finally:
                if cold is not None:
                    cold.close()
    return report


def _evaluate_augmenter(
    passed: _FirstPass, spec: AugmenterSpec, llm: CachedLLM | None, log: Log
) -> dict[str, Any]:
    """never / always / auto / auto_default / oracle for one augmenter (see the module docstring)."""
    qids, never, features, weights = passed.qids, passed.never, passed.features, passed.weights
    log(f"augmenter {spec.name}: augmenting all {len(qids)} queries ...")

    def run(fold: list[int], weight: float) -> list[Any]:
        return augment_batch(
            passed.first,
            [passed.found[r] for r in fold],
            [True] * len(fold),
            spec,
            mode=passed.mode,
            weight=weight,
            depth=passed.depth,
            where=None,
            llm=lambda: llm,
            expansion=[passed.expansions[r] for r in fold] if spec.caller_text else None,
        )

    aug_ms, judge_ms = [], []
    # timed one query per call first (for LLM augmenters this fills the cache the batch reads)
    for r in passed.sample:
        start = time.perf_counter()
        timed = run([r], weights[r])
        aug_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        _evidence(passed, [r], timed, [passed.models[r]])
        judge_ms.append((time.perf_counter() - start) * 1000)
    outcomes: list[Any] = [None] * len(qids)
    for fold, weight in passed.folds:
        if fold:
            for r, outcome in zip(fold, run(fold, weight)):
                outcomes[r] = outcome
    always = _ndcg([[i for i, _ in o.ranking[:10]] for o in outcomes], qids, passed.qrels)
    kept = _ndcg(
        [
            [i for i, _ in rerank(c, o, 1.0, passed.mode, w)[:10]]
            for c, o, w in zip(passed.found, outcomes, weights)
        ],
        qids,
        passed.qrels,
    )
    gains = [a - b for a, b in zip(always, never)]
    every = list(range(len(qids)))
    aug_confidence, agreement = _evidence(passed, every, outcomes, passed.models)
    default_aug, _ = _evidence(passed, every, outcomes, [DEFAULT_CONFIDENCE] * len(qids))
    judged = JudgedQueries(passed.confidence, aug_confidence, agreement, never, always, kept)
    fold_cascades, cascades = cross_fit(
        len(qids), lambda fold: fit_cascade(_subset(judged, fold), max_fraction=CASCADE_BUDGET)
    )
    cascade_scores = [_subset(judged, [r]).scores(c)[0] for r, c in enumerate(fold_cascades)]
    cascade_chosen = [c.should_augment(p) for c, p in zip(fold_cascades, passed.confidence)]
    default_judged = JudgedQueries(passed.default_confidence, default_aug, agreement, never, always, kept)
    default_cascade = default_gate(spec.name)
    fold_gates, gates = cross_fit(
        len(qids),
        lambda fold: fit_gate(
            [features[r] for r in fold], [gains[r] for r in fold], max_fraction=budget(spec.name)
        ),
    )
    gate_chosen = [gate.decide([f])[0] for gate, f in zip(fold_gates, features)]
    if isinstance(default_cascade, Cascade):
        default_scores = default_judged.scores(default_cascade)
        default_chosen = [default_cascade.should_augment(p) for p in passed.default_confidence]
    else:
        default_chosen = default_cascade.decide(features)
        default_scores = [a if c else b for a, b, c in zip(always, never, default_chosen)]
    table: dict[str, dict[str, float]] = {}
    for policy, chosen, scores in (
        ("never", [False] * len(qids), never),
        ("always", [True] * len(qids), always),
        ("auto", cascade_chosen, cascade_scores),
        ("auto_default", default_chosen, default_scores),
        ("oracle", [g > 0 for g in gains], [max(a, b) for a, b in zip(always, never)]),
    ):
        used = [c and o.augmented for c, o in zip(chosen, outcomes)]
        calls = int(sum(o.llm_calls for c, o in zip(chosen, outcomes) if c))
        table[policy] = {
            "ndcg@10": float(np.mean(scores)),
            "augmented": float(np.mean(used)),
            "llm_calls": calls,
            "p50_ms": _p50(
                [f + (a if chosen[r] else 0.0) for f, a, r in zip(passed.first_ms, aug_ms, passed.sample)]
            ),
            "mean_cost_ms": _mean_cost(
                passed, aug_ms, judge_ms if policy.startswith("auto") else [], chosen, calls
            ),
        }
    gate_scores = [a if c else b for a, b, c in zip(always, never, gate_chosen)]
    notes = sorted({o.note for o in outcomes if o.note})
    return {
        "rows": table,
        # the logistic gate over the signals, cross-fitted (what ``auto`` was before the cascade)
        "gate": {"ndcg@10": float(np.mean(gate_scores)), "augmented": float(np.mean(gate_chosen))},
        "oracle_capture": oracle_capture(table),
        "gain_capture": _capture(table, "auto"),
        "fallbacks": sum(o.note is not None for o in outcomes),
        "notes": notes[:3],
        # how many queries augmenting moves at all: the gate can only win on the gains and avoid the losses
        "changed": {
            "gain": sum(g > 1e-9 for g in gains),
            "loss": sum(g < -1e-9 for g in gains),
            "same": sum(abs(g) <= 1e-9 for g in gains),
        },
        "cascades": [dataclasses.asdict(c) for c in cascades],
        "verdicts": _verdicts(fold_cascades, judged),
        "curve": share_curve(judged, fold_cascades),
        # the bound: a perfect decision augmenting only the queries always's fused list (``fused``) or the
        # better of the fused and the augmented list alone (``best``) helps, largest gain first, beside the
        # share the confidence order (fused; judged by each query's cross-fitted cascade) needs for always
        "oracle_curve": _oracle_curves(judged, fold_cascades, float(np.mean(always))),
        "gates_never": sum(gate.threshold > 1.0 for gate in gates),
        "signal_rho": signal_correlations(features, gains),
        "llm_call_ms": LLM_CALL_MS,
        "agent_loop": agent_loop(passed.confidence, never, always),
        "agent_cascade": _agent_cascade(judged, fold_cascades),
        "agent_warned": _agent_warned(judged),
    }


def _oracle_curves(data: JudgedQueries, cascades: Sequence[Cascade], always: float) -> dict[str, Any]:
    """:func:`oracle_curve` for always's fused list and for the better of fused and kept, and the share the
    confidence order needs to reach ``always``: fused, judged by each query's cascade, and judged perfectly (the
    best of first, fused and kept: what the order alone allows, whatever the judge)."""
    judged = [_subset(data, [r]).scores(dataclasses.replace(c, below=2.0))[0] for r, c in enumerate(cascades)]
    best = [max(f, k) for f, k in zip(data.fused, data.kept)]
    return {
        "always": always,
        "fused": oracle_curve(data.first, data.fused, always),
        "best": oracle_curve(data.first, best, always),
        "confidence_reach": {
            "fused": confidence_reach(data.confidence, data.first, data.fused, always),
            "judged": confidence_reach(data.confidence, data.first, judged, always),
            "perfect_judge": confidence_reach(
                data.confidence, data.first, [max(f, b) for f, b in zip(data.first, best)], always
            ),
        },
    }


def _subset(data: JudgedQueries, rows: Sequence[int]) -> JudgedQueries:
    def pick(values: Sequence[float]) -> list[float]:
        return [values[r] for r in rows]

    return JudgedQueries(
        pick(data.confidence),
        pick(data.augmented_confidence),
        pick(data.agreement),
        pick(data.first),
        pick(data.fused),
        pick(data.kept),
    )


def _evidence(
    passed: _FirstPass, rows: Sequence[int], outcomes: Sequence[Any], models: Sequence[ConfidenceModels]
) -> tuple[list[float], list[float]]:
    """Per query in ``rows``: its augmented list's confidence (from ``models``) and agreement with the first
    (a query the augmenter left alone reads as its first list: confidence as is, agreement 1)."""
    found = [
        o.aug_candidates if o.aug_candidates is not None else passed.found[r] for r, o in zip(rows, outcomes)
    ]
    rankings = [c.ranking(passed.mode, passed.weights[r]) for r, c in zip(rows, found)]
    x = list_features(passed.first.index, found, rankings)
    p = [float(m.query_probability([f])[0]) for m, f in zip(models, x)]
    firsts = [passed.found[r].ranking(passed.mode, passed.weights[r]) for r in rows]
    agreement = [rbo([i for i, _ in a], [i for i, _ in b]) for a, b in zip(firsts, rankings)]
    return p, agreement


def _mean_cost(
    passed: _FirstPass, aug_ms: Sequence[float], judge_ms: Sequence[float], chosen: Sequence[bool], calls: int
) -> float:
    """Mean cost per query in ms: the first retrieval, plus for the augmented share the measured augmentation
    (replayed LLM: no LLM time) and the judging, plus :data:`LLM_CALL_MS` per LLM call."""
    share = float(np.mean(chosen)) if chosen else 0.0
    judged = float(np.mean(judge_ms)) if judge_ms else 0.0
    return (
        float(np.mean(passed.first_ms))
        + share * (float(np.mean(aug_ms)) + judged)
        + calls * LLM_CALL_MS / max(len(chosen), 1)
    )


def _capture(table: dict[str, dict[str, float]], policy: str) -> float | None:
    """The share of always's nDCG@10 gain over never that ``policy`` wins (None when always gains nothing)."""
    gain = table["always"]["ndcg@10"] - table["never"]["ndcg@10"]
    return (table[policy]["ndcg@10"] - table["never"]["ndcg@10"]) / gain if gain > 1e-9 else None


def _verdicts(cascades: Sequence[Cascade], data: JudgedQueries) -> dict[str, int]:
    """How many augmented queries kept, fused and dropped their augmented list."""
    out = {KEPT: 0, FUSED: 0, DROPPED: 0}
    for c, p, a, g in zip(cascades, data.confidence, data.augmented_confidence, data.agreement):
        if c.should_augment(p):
            out[c.judge(p, a, g).action] += 1
    return out


def share_curve(
    data: JudgedQueries, cascades: Sequence[Cascade], shares: Sequence[float] = REASK_SHARES
) -> list[dict[str, float]]:
    """nDCG@10 against the share of queries augmented (the least confident first): fused as ``always`` does,
    and judged by each query's cross-fitted cascade (its margins; the share sets the threshold)."""
    order = np.argsort(np.asarray(data.confidence), kind="stable")
    judged_all = [
        _subset(data, [r]).scores(dataclasses.replace(c, below=2.0))[0] for r, c in enumerate(cascades)
    ]
    curve = []
    for share in shares:
        chosen = set(order[: round(share * len(order))].tolist())
        curve.append(
            {
                "augmented": share,
                "fused": float(
                    np.mean([data.fused[r] if r in chosen else data.first[r] for r in range(len(order))])
                ),
                "judged": float(
                    np.mean([judged_all[r] if r in chosen else data.first[r] for r in range(len(order))])
                ),
            }
        )
    return curve


def reach_share(scores_at: Sequence[float], target: float) -> float | None:
    """The smallest share ``k / n`` whose mean nDCG@10 ``scores_at[k]`` (k = 0..n queries augmented) reaches
    ``target``; None when no share does."""
    n = len(scores_at) - 1
    for k, score in enumerate(scores_at):
        if score >= target - 1e-12:
            return k / max(n, 1)
    return None


def oracle_curve(
    first: Sequence[float],
    second: Sequence[float],
    target: float,
    shares: Sequence[float] = REASK_SHARES,
) -> dict[str, Any]:
    """What a perfect decision could do: augment exactly the queries whose ``second`` nDCG@10 beats the
    ``first``, the largest gain first. ``curve`` is nDCG@10 against the share augmented (flat once every helped
    query is taken); ``reach`` the smallest share whose nDCG@10 reaches ``target`` (always's, say), None if
    none does; ``helped`` the share of queries augmenting helps at all. The bound any confidence can approach."""
    gain = np.asarray(second, dtype=np.float64) - np.asarray(first, dtype=np.float64)
    n = len(gain)
    if not n:
        return {"curve": [], "reach": None, "helped": 0.0}
    taken = np.sort(np.clip(gain, 0.0, None))[::-1]
    scores_at = float(np.mean(first)) + np.concatenate([[0.0], np.cumsum(taken)]) / n
    return {
        "curve": [{"augmented": s, "ndcg@10": float(scores_at[round(s * n)])} for s in shares],
        "reach": reach_share(scores_at.tolist(), target),
        "helped": float(np.mean(gain > 1e-9)),
    }


def confidence_reach(
    confidence: Sequence[float], first: Sequence[float], second: Sequence[float], target: float
) -> float | None:
    """The smallest share of queries, the least confident first, whose ``second`` ranking lifts the mean
    nDCG@10 to ``target`` (None: none does): the confidence order's answer to :func:`oracle_curve`'s reach."""
    order = np.argsort(np.asarray(confidence), kind="stable")
    gain = (np.asarray(second, dtype=np.float64) - np.asarray(first, dtype=np.float64))[order]
    scores_at = float(np.mean(first)) + np.concatenate([[0.0], np.cumsum(gain)]) / max(len(gain), 1)
    return reach_share(scores_at.tolist(), target)


def _agent_cascade(data: JudgedQueries, cascades: Sequence[Cascade]) -> dict[str, float]:
    """The agent loop with the cascade's decision: re-ask (the second ranking) below the same confidence the
    cascade augments, and keep, fuse or drop the second result by the same judge."""
    scores = [_subset(data, [r]).scores(c)[0] for r, c in enumerate(cascades)]
    gain = float(np.mean(data.fused) - np.mean(data.first))
    won = float(np.mean(scores) - np.mean(data.first))
    return {
        "reasked": float(np.mean([c.should_augment(p) for c, p in zip(cascades, data.confidence)])),
        "ndcg@10": float(np.mean(scores)),
        "gain_capture": won / gain if gain > 1e-9 else float("nan"),
    }


def _agent_warned(data: JudgedQueries) -> dict[str, float]:
    """The agent loop where the result tells the agent its list is weak (confidence below
    :data:`~hopscout.agent_view.LOW_CONFIDENCE`), re-asking there with the fused second ranking."""
    again = [c < LOW_CONFIDENCE for c in data.confidence]
    scores = [f if a else b for a, f, b in zip(again, data.fused, data.first)]
    gain = float(np.mean(data.fused) - np.mean(data.first))
    won = float(np.mean(scores) - np.mean(data.first))
    return {
        "below": LOW_CONFIDENCE,
        "reasked": float(np.mean(again)) if again else 0.0,
        "ndcg@10": float(np.mean(scores)) if scores else 0.0,
        "gain_capture": won / gain if gain > 1e-9 else float("nan"),
    }


def _cross_fitted_confidence(
    engine: Engine,
    collection: str,
    queries: list[str],
    relevant: list[dict[str, int]],
    weights: list[float],
    mode: str,
) -> tuple[list[float], list[float], list[ConfidenceModels]]:
    """Each query's confidence from models fitted on the other fold (as a calibrated collection would give),
    from the shipped defaults (as an uncalibrated one does), and the fold models themselves."""
    data = confidence_data(engine, collection, queries, relevant, weights, mode=mode)
    out = np.zeros(len(queries))
    models: list[ConfidenceModels] = [DEFAULT_CONFIDENCE] * len(queries)
    for part in halves(len(queries)):
        rows = np.asarray(part, dtype=int)
        if len(rows):
            fitted = fit_confidence(data, np.setdiff1d(np.arange(len(queries)), rows))
            out[rows] = fitted.query_probability(data.queries[rows])
            for r in rows:
                models[int(r)] = fitted
    return out.tolist(), DEFAULT_CONFIDENCE.query_probability(data.queries).tolist(), models


def agent_loop(
    confidence: Sequence[float],
    first: Sequence[float],
    second: Sequence[float],
    shares: Sequence[float] = REASK_SHARES,
) -> list[dict[str, float]]:
    """An agent that searches, and where the result's confidence is lowest searches again with the second
    ranking (its own expansion, or an augmenter): nDCG@10 against the share of queries asked twice."""
    order = np.argsort(np.asarray(confidence), kind="stable")
    curve = []
    for share in shares:
        again = set(order[: round(share * len(order))].tolist())
        curve.append(
            {
                "reasked": share,
                "ndcg@10": float(np.mean([second[r] if r in again else first[r] for r in range(len(first))])),
            }
        )
    return curve


def _recorded_rows(path: str | Path) -> dict[str, dict[str, Any]]:
    rows = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UnreadableFileError(f"cannot read recorded outputs {path}: {exc}") from exc
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                row = json.loads(line)
                rows[str(row["_id"])] = row
            except (ValueError, KeyError) as exc:
                raise UnreadableFileError(f"{path}:{n}: expected a JSON object with an _id: {exc}") from exc
    return rows


def _agent_expansion(row: dict[str, Any] | None) -> str | None:
    """What an agent passes as ``expansion=``: the recorded expansion keywords, joined."""
    if not row or not row.get(AGENT_EXPANSION_FIELD):
        return None
    value = row[AGENT_EXPANSION_FIELD]
    return " ".join(value) if isinstance(value, list) else str(value)


def oracle_capture(rows: dict[str, dict[str, float]]) -> float | None:
    """The share of the oracle's nDCG@10 gain over ``never`` that ``auto`` wins (None when the oracle wins nothing).

    1.0 is a perfect gate; 0 is a gate no better than never augmenting; below 0, ``auto`` loses to ``never``."""
    headroom = rows["oracle"]["ndcg@10"] - rows["never"]["ndcg@10"]
    return (rows["auto"]["ndcg@10"] - rows["never"]["ndcg@10"]) / headroom if headroom > 1e-9 else None


def format_augment_report(report: dict[str, Any]) -> str:
    """A readable table of :func:`run_augment_eval`'s report."""
    b = report["baselines"]
    lines = [
        (
            f"{report['dataset']}: {report['queries']} queries, {report['corpus']} documents, "
            f"mode {report['mode']}, embedder {report['embedder']}"
        ),
        (
            f"baselines nDCG@10: dense {100 * b['dense']:.1f}  BM25 {100 * b['lexical']:.1f}  "
            f"hybrid (cross-fitted weight) {100 * b['hybrid']:.1f}"
        ),
        f"{'augmenter':<13}{'policy':<14}{'ndcg@10':>9}{'augmented':>11}{'llm_calls':>11}{'p50_ms':>9}",
    ]
    for name, result in report["results"].items():
        for policy, row in result["rows"].items():
            lines.append(
                f"{name:<13}{policy:<14}{100 * row['ndcg@10']:>9.1f}{100 * row['augmented']:>10.0f}%"
                f"{row['llm_calls']:>11}{row['p50_ms']:>9.1f}"
            )
        c = result["changed"]
        strongest = max(result["signal_rho"].items(), key=lambda item: abs(item[1]))
        signal = (
            f"strongest signal {strongest[0]} (Spearman {strongest[1]:+.2f} with the gain over the queries "
            "that moved)"
            if c["gain"] + c["loss"] >= 3
            else "too few queries moved to correlate signals"
        )
        capture = result["oracle_capture"]
        lines.append(
            f"  always vs never per query: {c['gain']} gain, {c['loss']} lose, {c['same']} same nDCG@10; "
            f"{result['gates_never']} of 2 fold gates never augment; {signal}"
        )
        lines.append(
            "  auto captures "
            + (
                f"{100 * capture:.0f}% of the oracle's gain over never"
                if capture is not None
                else "nothing: the oracle gains nothing over never"
            )
        )
        lines.append(
            f"  the logistic gate (cross-fitted): {100 * result['gate']['ndcg@10']:.1f} with "
            f"{100 * result['gate']['augmented']:.0f}% augmented"
        )
        lines.append(
            f"  cascade verdicts: {result['verdicts']}; always's gain won by auto: "
            + (f"{100 * result['gain_capture']:.0f}%" if result["gain_capture"] is not None else "n/a")
            + f"; mean cost/query (LLM call = {result['llm_call_ms']:.0f} ms): auto "
            + f"{result['rows']['auto']['mean_cost_ms']:.0f} ms, always {result['rows']['always']['mean_cost_ms']:.0f} ms"
        )
        lines.append(
            "  augmented share → nDCG@10 fused / judged: "
            + ", ".join(
                f"{int(100 * p['augmented'])}% {100 * p['fused']:.1f}/{100 * p['judged']:.1f}"
                for p in result["curve"]
            )
        )
        o = result["oracle_curve"]

        def _share(value: float | None) -> str:
            return "never" if value is None else f"{100 * value:.0f}%"

        lines.append(
            f"  oracle (augment only where it helps, best first) reaches always's {100 * o['always']:.1f} at "
            f"{_share(o['fused']['reach'])} fused ({100 * o['fused']['helped']:.0f}% helped), "
            f"{_share(o['best']['reach'])} choosing fused/kept; the confidence order at "
            f"{_share(o['confidence_reach']['fused'])} fused, {_share(o['confidence_reach']['judged'])} judged, "
            f"{_share(o['confidence_reach']['perfect_judge'])} judged perfectly"
        )
        lines.append(
            "  oracle share → nDCG@10 fused / best: "
            + ", ".join(
                f"{int(100 * p['augmented'])}% {100 * p['ndcg@10']:.1f}/{100 * q['ndcg@10']:.1f}"
                for p, q in zip(o["fused"]["curve"], o["best"]["curve"])
            )
        )
        a = result["agent_cascade"]
        lines.append(
            f"  agent loop with the cascade's decision: {100 * a['reasked']:.0f}% re-asked → "
            f"{100 * a['ndcg@10']:.1f} ({100 * a['gain_capture']:.0f}% of always's gain)"
        )
        w = result["agent_warned"]
        lines.append(
            f"  agent loop re-asking where told the list is weak (confidence < {w['below']:.2f}): "
            f"{100 * w['reasked']:.0f}% re-asked → {100 * w['ndcg@10']:.1f} ({100 * w['gain_capture']:.0f}% of "
            "always's gain)"
        )
        loop = {round(p["reasked"], 1): p["ndcg@10"] for p in result["agent_loop"]}
        lines.append(
            "  agent loop (re-ask the least confident share): "
            + ", ".join(f"{int(100 * share)}% → {100 * loop[share]:.1f}" for share in (0.2, 0.4, 0.6, 1.0))
        )
        if result["fallbacks"]:
            lines.append(f"  {result['fallbacks']} fallbacks: {'; '.join(result['notes'])}")
    lines.append(
        f"auto: the cascade, {report['split']}; auto_default: the shipped cascade; oracle: per query the better "
        "of never/always"
    )
    return "\n".join(lines)


__all__ = [
    "confidence_reach",
    "format_augment_report",
    "oracle_capture",
    "oracle_curve",
    "reach_share",
    "run_augment_eval",
]
