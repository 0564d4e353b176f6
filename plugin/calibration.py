"""Fitting a collection to labelled queries, stored with the collection so every later search uses it:

- the hybrid fusion weight (:func:`calibrate_fusion`): the lexical weight that maximises nDCG@10. Dense and
  lexical candidates are fetched once per query; each weight on the grid re-fuses them offline with the same
  :func:`hopscout.fusion.convex` that search uses, so the fitted weight behaves the same online;
- the augmentation gate (:func:`calibrate_augment`, see :mod:`hopscout.augment.gate`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import fusion
from .augment import Gate, augment_batch, fit_gate, gates_metadata, get_augmenter
from .augment.gate import META_GATE
from .errors import InvalidArgumentError
from .llm import LLM
from .metrics import mean, per_query
from .scout import Scout

WEIGHT_GRID = tuple(round(0.1 * i, 1) for i in range(11))


@dataclass(frozen=True)
class Candidates:
    """Per query: dense and lexical ``{id: score}`` candidate maps."""

    dense: list[dict[str, float]]
    lexical: list[dict[str, float]]


@dataclass(frozen=True)
class FusionFit:
    """The fitted weight and nDCG@10 at every weight tried."""

    weight: float
    ndcg_by_weight: dict[float, float]
    queries: int


def gather_candidates(scout: Scout, queries: Sequence[str], collection: str | None = None) -> Candidates:
    """Dense and lexical candidates at the depth hybrid search fuses (``settings.candidates``)."""
    n = scout.settings.candidates
    dense = scout.search_batch(queries, n, mode="dense", collection=collection)
    lexical = scout.search_batch(queries, n, mode="lexical", collection=collection)
    return Candidates(
        [{h.id: h.scores["dense"] for h in hits} for hits in dense],
        [{h.id: h.scores["lexical"] for h in hits} for hits in lexical],
    )


def fused_ids(candidates: Candidates, rows: Sequence[int], weight: float, k: int = 10) -> list[list[str]]:
    """The hybrid ranking (ids) of the given query rows at ``weight``."""
    return [
        [i for i, _ in fusion.convex(candidates.dense[r], candidates.lexical[r], weight)[:k]] for r in rows
    ]


def fit_weight(
    candidates: Candidates, relevant: Sequence[Mapping[str, int]], rows: Sequence[int] | None = None
) -> FusionFit:
    """The grid weight with the best mean nDCG@10 over ``rows`` (ties go to the weight nearest 0.5)."""
    rows = list(range(len(relevant))) if rows is None else list(rows)
    if not rows:
        raise InvalidArgumentError("calibration needs at least one labelled query")
    qrels = {str(r): dict(relevant[r]) for r in rows}
    table = {}
    for weight in WEIGHT_GRID:
        run = dict(zip((str(r) for r in rows), fused_ids(candidates, rows, weight)))
        table[weight] = mean(per_query(run, qrels))["ndcg@10"]
    best = max(table, key=lambda w: (round(table[w], 6), -abs(w - 0.5)))
    return FusionFit(best, table, len(rows))


def calibrate_fusion(
    scout: Scout,
    queries: Sequence[str],
    relevant: Sequence[Mapping[str, int]],
    *,
    collection: str | None = None,
    store: bool = True,
) -> FusionFit:
    """Fit the collection's hybrid weight on labelled queries and (by default) store it with the collection."""
    if len(queries) != len(relevant):
        raise InvalidArgumentError(f"{len(queries)} queries but {len(relevant)} relevance maps")
    fit = fit_weight(gather_candidates(scout, queries, collection), relevant)
    if store:
        scout.set_fusion_weight(fit.weight, collection=collection)
    return fit


@dataclass(frozen=True)
class GateFit:
    """A fitted gate and what it did on the labelled queries (nDCG@10 in 0–1)."""

    augmenter: str
    mode: str
    gate: Gate
    queries: int
    augmented: float
    ndcg_never: float
    ndcg_always: float
    ndcg_gate: float


def calibrate_augment(
    scout: Scout,
    queries: Sequence[str],
    relevant: Sequence[Mapping[str, int]],
    *,
    augmenter: str | None = None,
    mode: str | None = None,
    collection: str | None = None,
    llm: LLM | None = None,
    store: bool = True,
) -> GateFit:
    """Fit the gate for ``augmenter`` on labelled queries and (by default) store it with the collection."""
    if len(queries) != len(relevant) or len(queries) < 2:
        raise InvalidArgumentError(
            f"calibration needs 2+ queries with relevance maps ({len(queries)} / {len(relevant)})"
        )
    spec = get_augmenter(augmenter or scout.settings.augmenter)
    if spec.caller_text:
        raise InvalidArgumentError(
            f"the {spec.name!r} augmenter uses caller text per call; it has no gate to calibrate"
        )
    engine = scout.engine
    mode = mode or scout.settings.search_mode
    index = engine.index(collection)
    index.sync()
    weight = engine.fusion_weight(index)
    first = engine.first_retrieval(index)
    depth = scout.settings.candidates
    firsts = first.run(list(queries), mode=mode, depth=depth, both=True, with_signals=True)
    outcomes = augment_batch(
        first,
        firsts,
        [True] * len(firsts),
        spec,
        mode=mode,
        weight=weight,
        depth=depth,
        where=None,
        llm=lambda: engine.completions(llm),
    )
    qrels = {str(n): dict(r) for n, r in enumerate(relevant)}
    never = per_query(
        {str(n): [i for i, _ in c.ranking(mode, weight)[:10]] for n, c in enumerate(firsts)}, qrels
    )
    always = per_query({str(n): [i for i, _ in o.ranking[:10]] for n, o in enumerate(outcomes)}, qrels)
    gains = [always[str(n)]["ndcg@10"] - never[str(n)]["ndcg@10"] for n in range(len(firsts))]
    features = [c.features or [] for c in firsts]
    gate = fit_gate(features, gains)
    chosen = gate.decide(features)
    base = [never[str(n)]["ndcg@10"] for n in range(len(firsts))]
    gated = sum(b + (g if c else 0.0) for b, g, c in zip(base, gains, chosen)) / len(base)
    if store:
        index.update_metadata(**{META_GATE: gates_metadata(index.metadata(), spec.name, mode, gate)})
    return GateFit(
        spec.name,
        mode,
        gate,
        len(firsts),
        sum(chosen) / len(chosen),
        sum(base) / len(base),
        sum(always[str(n)]["ndcg@10"] for n in range(len(firsts))) / len(base),
        gated,
    )
