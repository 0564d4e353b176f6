"""Adaptive query augmentation: augment only the queries that need it.

Use it through ``Scout.search(query, augment="auto" | "always" | "never", augmenter=..., expansion=...)``.
:func:`calibrate_augment` fits the per-collection gate on labelled queries (``hopscout calibrate DIR
--augment``) and stores it with the collection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import InvalidArgumentError
from ..evaluation.metrics import per_query
from .augmenters import AUGMENTERS, LLM_AUGMENTERS, Augmentation, get_augmenter
from .gate import (
    DEFAULT_GATE,
    META_GATE,
    PRF_UNCALIBRATED,
    SIGNALS,
    Gate,
    default_gate,
    fit_gate,
    gates_metadata,
    load_gate,
)
from .search import POLICIES, augmented_search, first_retrieval, run_augmentation

if TYPE_CHECKING:
    from ..llm import LLM
    from ..scout import Scout


# How an agent-facing search tool (MCP, LangChain, LlamaIndex) describes ``expansion=`` to the calling model.
EXPANSION_HELP = ("Optional: your own expansion of the query, searched too and fused with the query's results (no "
                  "LLM call): related terms, the likely answer's wording or a short hypothetical passage. Use it when "
                  "the query is short or uses words the documents may not.")


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
        raise InvalidArgumentError(f"calibration needs 2+ queries with relevance maps ({len(queries)} / {len(relevant)})")
    name = augmenter or scout.settings.augmenter
    get_augmenter(name)
    if name == "expansion":
        raise InvalidArgumentError("the 'expansion' augmenter uses caller text per call; it has no gate to calibrate")
    mode = mode or scout.settings.search_mode
    index = scout._index(collection)
    index.sync()
    weight = scout._fusion_weight(index, None)
    firsts, _ = first_retrieval(scout, index, list(queries), mode, weight, None)
    outcomes = run_augmentation(scout, index, firsts, [True] * len(firsts), name, mode, weight, None, llm=llm)
    qrels = {str(n): dict(r) for n, r in enumerate(relevant)}
    never = per_query({str(n): [i for i, _ in f.base[:10]] for n, f in enumerate(firsts)}, qrels)
    always = per_query({str(n): [i for i, _ in o.ranking[:10]] for n, o in enumerate(outcomes)}, qrels)
    gains = [always[str(n)]["ndcg@10"] - never[str(n)]["ndcg@10"] for n in range(len(firsts))]
    gate = fit_gate([f.features for f in firsts], gains)
    chosen = gate.decide([f.features for f in firsts])
    base = [never[str(n)]["ndcg@10"] for n in range(len(firsts))]
    gated = sum(b + (g if c else 0.0) for b, g, c in zip(base, gains, chosen)) / len(base)
    if store:
        index.update_metadata(**{META_GATE: gates_metadata(index.metadata(), name, mode, gate)})
    return GateFit(name, mode, gate, len(firsts), sum(chosen) / len(chosen), sum(base) / len(base),
                   sum(always[str(n)]["ndcg@10"] for n in range(len(firsts))) / len(base), gated)


__all__ = [
    "AUGMENTERS", "DEFAULT_GATE", "EXPANSION_HELP", "LLM_AUGMENTERS", "POLICIES", "PRF_UNCALIBRATED", "SIGNALS",
    "Augmentation", "Gate", "GateFit", "augmented_search", "calibrate_augment", "default_gate", "fit_gate",
    "get_augmenter", "load_gate",
]
