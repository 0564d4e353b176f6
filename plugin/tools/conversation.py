"""The conversation's recent turns as weighted extra queries beside a request (``find_tools(..., context=[...])``).

A turn says what the conversation is about ("I'm planning a trip to Lisbon"), not what this request needs ("book
it"): it may break the request's near-ties, never lead. Each turn is searched as a query (one batched search with
the request's own); :func:`add_context` then adds to each tool ``CONTEXT_WEIGHT x`` its best score over the turns,
that score capped at the request's best: a tool only the conversation found scores at most ``CONTEXT_WEIGHT x``
the request's best tool, and no tool moves by more than that."""

from __future__ import annotations

from collections.abc import Sequence

from .. import fusion
from .search import Ranking, RankStage, Scored, ToolRequest, ToolScores

# Half the request's weight, as the raw request counts beside its own steps (search.STEP_RAW_BONUS): a turn must
# never outweigh the request. No evaluation set holds conversations; set on MetaTool's first 300 requests (clean):
# one unrelated turn (another request) cost nDCG@10 -0.4 at 0.5 (+0.3 to -0.2 at 0.1-0.3; -2.3 at 0.7), and a vague
# request ("which tool can help with that?", 4.4) with the real request as its turn rose to 19.9 (6-9 at 0.1-0.3).
CONTEXT_WEIGHT = 0.5


def add_context(turns: Sequence[ToolScores]) -> RankStage:
    """A stage (run first, on the fused request scores) adding the turns' weighed scores: see the module."""
    best = {key: score for key, (score, _) in fusion.max_lists(turns).items()}

    def context_stage(ranking: Ranking, req: ToolRequest) -> Ranking:
        top = max((s.score for s in ranking.values()), default=0.0)
        if top <= 0 or not best:
            return ranking
        out = dict(ranking)
        for key, score in best.items():
            lift = CONTEXT_WEIGHT * min(max(score, 0.0), top)
            found = out.get(key)
            out[key] = Scored(lift, 0) if found is None else found._replace(score=found.score + lift)
        return out

    return context_stage
