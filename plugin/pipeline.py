"""The search pipeline assembled from one :class:`~hopscout.retrieval.options.ResolvedSearch`:

    first retrieval → FirstStage | AugmentStage → [HopStage] → [PassagePriorStage] → [ConfidenceStage]

It sits between the engine (which owns what the stages share: the embedder, the worker pool, the LLM, the hop
operators, the key phrases, the passage prior) and the stages (``augment``, ``hop``, ``retrieval``): the only
module that knows them all, so a new option touches the options and the stage that reads it, nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Protocol

from . import augment
from .embedders import Embedder
from .hop import HopOperator, HopStage, PassagePhrases, get_operator
from .index import CollectionIndex
from .llm import CachedLLM
from .retrieval import FirstRetrieval, FirstStage, Ranked, Stage
from .retrieval.confidence import ConfidenceStage
from .retrieval.options import ResolvedSearch
from .retrieval.prior import PassagePrior, PassagePriorStage
from .settings import Settings


class PipelineParts(Protocol):
    """What the stages share, owned by the engine (:class:`~hopscout.engine.Engine` is one)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def embedder(self) -> Embedder: ...
    @property
    def pool(self) -> Executor: ...
    @property
    def passage_prior(self) -> PassagePrior: ...

    def index(self, collection: str | None = None, *, create: bool = False) -> CollectionIndex: ...
    def fusion_weight(self, index: CollectionIndex, override: float | None = None) -> float: ...
    def first_retrieval(self, index: CollectionIndex) -> FirstRetrieval: ...
    def hop_operator(self, name: str) -> HopOperator: ...
    def phrases(self, index: CollectionIndex) -> PassagePhrases: ...
    def completions(self) -> CachedLLM | None: ...


@dataclass(frozen=True)
class Pipeline:
    """One search's chain of stages over its collection's index."""

    index: CollectionIndex
    stage: Stage

    def retrieve(self, queries: Sequence[str]) -> list[Ranked]:
        return self.stage.retrieve(queries)


def build_pipeline(opts: ResolvedSearch, parts: PipelineParts) -> Pipeline:
    """The chain for ``opts``. The augmenter's and hop operator's names are checked (and a trained operator's
    weights loaded) before the collection is opened and synced."""
    plan = (
        augment.resolve(parts.settings, opts.augment, opts.augmenter, opts.expansion)
        if opts.augmenting
        else None
    )
    hop = get_operator(opts.hop_operator) if opts.hops > 1 else None
    operator = parts.hop_operator(hop.name) if hop is not None else None
    index = parts.index(opts.collection)
    index.sync()
    weight = opts.fusion_weight if opts.fusion_weight != "collection" else parts.fusion_weight(index)
    first = parts.first_retrieval(index)
    stage: Stage
    if plan is None:  # first retrieval → hits
        stage = FirstStage(first, opts, weight)
    else:  # first retrieval → gate → augmenter → fusion with the original
        stage = augment.AugmentStage(first, opts, weight, plan=plan, llm=parts.completions)
    if hop is not None and operator is not None:  # the stage above is the first hop
        stage = HopStage(
            PassagePriorStage(stage, opts, parts.passage_prior, index)
            if opts.prior
            else stage,  # flagged: no frontier
            opts,
            index=index,
            embedder=parts.embedder,
            spec=hop,
            operator=operator,
            phrases=parts.phrases(index) if hop.phrases else None,
            pool=parts.pool,
        )
    if opts.prior:
        stage = PassagePriorStage(stage, opts, parts.passage_prior, index)
    if opts.confidence:  # on the list as returned: after the passage prior's demotion, when it ran
        demotion = parts.passage_prior.demotion if opts.prior else 1.0
        stage = ConfidenceStage(stage, opts, index, weight, demotion)
    return Pipeline(index, stage)
