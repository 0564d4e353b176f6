"""Fitting hybrid fusion to a collection: the lexical weight that maximises nDCG@10 on labelled queries.

Dense and lexical candidates are fetched once per query; each weight on the grid re-fuses them offline with
the same :func:`hopscout.fusion.convex` that search uses, so the fitted weight behaves the same online."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import fusion
from .errors import InvalidArgumentError
from .evaluation.metrics import mean, per_query

if TYPE_CHECKING:
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
    return [[i for i, _ in fusion.convex(candidates.dense[r], candidates.lexical[r], weight)[:k]] for r in rows]


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
