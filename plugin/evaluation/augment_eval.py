"""``hopscout eval augment DIR ...``: each augmenter never / always / auto / oracle in one run.

Every query's first retrieval is run once (timed per query); each augmenter then augments every query (timed
per query), so "never" and "always" rankings come from the same pass. ``auto`` is scored honestly by 2-fold
cross-fitting (:mod:`hopscout.evaluation.folds`, as for the hybrid weight): queries are split by position
(even / odd), the gate is fitted on one half's signals and gains and decides on the other half. ``auto_default``
uses the uncalibrated default gate. ``oracle`` takes, per query, the better of never and always (the bound a
gate can reach). Latency (p50) per policy, on an evenly spaced sample of ``latency_sample`` queries, one query per
call: the first retrieval, plus for queries the policy augments the whole augmentation (LLM call, stored
vectors, re-encoding, second retrieval, fusion), all measured in this run. nDCG comes from batched runs.
LLM calls count one completion per augmented query; each LLM augmenter starts from an empty completion cache
of its own (deleted after the run), so its latency is the LLM's, not a cache hit's."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..augment import AugmenterSpec, augment_batch, budget, default_gate, fit_gate, get_augmenter
from ..calibration import confidence_data, fit_confidence
from ..engine import Engine
from ..errors import UnreadableFileError
from ..llm import LLM, CachedLLM, LLMCache, ReplayLLM
from ..metrics import per_query
from ..retrieval import SIGNALS, Candidates, FirstRetrieval
from ..retrieval.confidence import DEFAULT_CONFIDENCE
from ..scout import Scout, engine_of
from ..settings import SEARCH_MODES
from .datasets import load_dataset
from .folds import SPLIT, cross_fit, halves
from .harness import cross_fitted_weights, index_dataset

Log = Callable[[str], None]
AGENT_EXPANSION_FIELD = "keywords"
REASK_SHARES = tuple(n / 10 for n in range(11))


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
    confidence, default_confidence = _cross_fitted_confidence(
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

    aug_ms = []
    # timed one query per call first (for LLM augmenters this fills the cache the batch reads)
    for r in passed.sample:
        start = time.perf_counter()
        run([r], weights[r])
        aug_ms.append((time.perf_counter() - start) * 1000)
    outcomes: list[Any] = [None] * len(qids)
    for fold, weight in passed.folds:
        if fold:
            for r, outcome in zip(fold, run(fold, weight)):
                outcomes[r] = outcome
    always = _ndcg([[i for i, _ in o.ranking[:10]] for o in outcomes], qids, passed.qrels)
    gains = [a - b for a, b in zip(always, never)]
    fold_gates, gates = cross_fit(
        len(qids),
        lambda fold: fit_gate(
            [features[r] for r in fold], [gains[r] for r in fold], max_fraction=budget(spec.name)
        ),
    )
    decide = [gate.decide([f])[0] for gate, f in zip(fold_gates, features)]
    default = default_gate(spec.name).decide(features, passed.default_confidence)
    table: dict[str, dict[str, float]] = {}
    for policy, chosen in (
        ("never", [False] * len(qids)),
        ("always", [True] * len(qids)),
        ("auto", decide),
        ("auto_default", default),
        ("oracle", [g > 0 for g in gains]),
    ):
        used = [c and o.augmented for c, o in zip(chosen, outcomes)]
        table[policy] = {
            "ndcg@10": float(np.mean([a if c else b for a, b, c in zip(always, never, chosen)])),
            "augmented": float(np.mean(used)),
            "llm_calls": int(sum(o.llm_calls for c, o in zip(chosen, outcomes) if c)),
            "p50_ms": _p50(
                [f + (a if chosen[r] else 0.0) for f, a, r in zip(passed.first_ms, aug_ms, passed.sample)]
            ),
        }
    notes = sorted({o.note for o in outcomes if o.note})
    return {
        "rows": table,
        "oracle_capture": oracle_capture(table),
        "fallbacks": sum(o.note is not None for o in outcomes),
        "notes": notes[:3],
        # how many queries augmenting moves at all: the gate can only win on the gains and avoid the losses
        "changed": {
            "gain": sum(g > 1e-9 for g in gains),
            "loss": sum(g < -1e-9 for g in gains),
            "same": sum(abs(g) <= 1e-9 for g in gains),
        },
        "gates_never": sum(gate.threshold > 1.0 for gate in gates),
        "signal_rho": signal_correlations(features, gains),
        "agent_loop": agent_loop(passed.confidence, never, always),
    }


def _cross_fitted_confidence(
    engine: Engine,
    collection: str,
    queries: list[str],
    relevant: list[dict[str, int]],
    weights: list[float],
    mode: str,
) -> tuple[list[float], list[float]]:
    """Each query's confidence from models fitted on the other fold (as a calibrated collection would give),
    and from the shipped defaults (as an uncalibrated one does)."""
    data = confidence_data(engine, collection, queries, relevant, weights, mode=mode)
    out = np.zeros(len(queries))
    for part in halves(len(queries)):
        rows = np.asarray(part, dtype=int)
        if len(rows):
            model = fit_confidence(data, np.setdiff1d(np.arange(len(queries)), rows)).query
            out[rows] = model.probability(data.queries[rows])
    return out.tolist(), DEFAULT_CONFIDENCE.query.probability(data.queries).tolist()


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
        loop = {round(p["reasked"], 1): p["ndcg@10"] for p in result["agent_loop"]}
        lines.append(
            "  agent loop (re-ask the least confident share): "
            + ", ".join(f"{int(100 * share)}% → {100 * loop[share]:.1f}" for share in (0.2, 0.4, 0.6, 1.0))
        )
        if result["fallbacks"]:
            lines.append(f"  {result['fallbacks']} fallbacks: {'; '.join(result['notes'])}")
    lines.append(
        f"auto: {report['split']}; auto_default: uncalibrated gate; oracle: per query the better of never/always"
    )
    return "\n".join(lines)


__all__ = ["format_augment_report", "oracle_capture", "run_augment_eval"]
