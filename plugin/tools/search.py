"""Tool search as a chain of small stages over the engine's first retrieval.

1. :class:`FirstToolScores`: per query, ``{tool key: score}`` from the shared first retrieval (the search
   mode's fused scores), a tool with views blending its description's score with its best view's;
2. :func:`fuse_queries`: one score per tool over the request's queries (:class:`~.planning.Plan`);
3. then :data:`RANK_STAGES`, each ``(Ranking, ToolRequest) -> Ranking``: the search's filter, the lift of
   tools the request names, the weight (:func:`guard.tool_weight` with the server's trust), the order, and the cap
   on untrusted servers (:func:`guard.cap_servers`). A later feature adds or swaps one stage.

The numbers (README, "Tool retrieval") were measured on MetaTool with recorded views and agent queries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .. import fusion
from ..engine import Engine
from ..filters import Where
from ..keys import TOOL_VIEW
from ..settings import Settings
from . import guard
from .documents import VIEW_REQUEST, VIEW_TOOL
from .names import name_matches
from .planning import Plan
from .policy import TrustPolicy
from .results import ToolHit
from .scope import Allowed, and_where
from .snapshot import Snapshot

VIEW_SHARE = 0.5  # a tool with views: (1 - share) x its description's score + share x its best view's score
# LLM-free steps: the best of the request and its steps, plus half the request's own score
STEP_RAW_BONUS = 0.5
REWRITE_RAW_SHARE = 0.25  # caller / LLM queries: the best query's score, plus a quarter of the request's
# A request naming a tool that is not vouched for (an untrusted server's, or a flagged one): its own score times
# (1 + this), never more: a name is the one thing a hostile server chooses freely ("send_an_email").
NAME_BOOST = 0.25

ToolScores = dict[str, float]  # one query's tools: key → score


class Scored(NamedTuple):
    """A tool's score for one request, the index of the query it came from, and whether the request named the
    tool by its very key (then it leads, its flags shown, and is not demoted)."""

    score: float
    query: int
    named: bool = False


Ranking = dict[str, Scored]  # key → its score; once ordered, best first


@dataclass(frozen=True)
class ToolRequest:
    """What the ranking stages read for one request."""

    plan: Plan
    k: int
    allowed: Allowed
    snap: Snapshot
    policy: TrustPolicy
    defend: bool  # False: flags are shown, nothing is demoted or capped, any name match may lead
    settings: Settings


class FirstToolScores:
    """Stage 1: per query, ``{tool key: score}``, the search mode's fused scores (the collection's fusion
    weight). A tool's score is its description's; a tool with views scores ``(1 - VIEW_SHARE) x`` its
    description's plus ``VIEW_SHARE x`` its best view's (each normalised in its own list: a field of its own).
    Only the tool documents of the snapshot score: anything else the store returns is passed over."""

    def __init__(self, engine: Engine, collection: str) -> None:
        self._engine = engine
        self.collection = collection

    def __call__(self, queries: list[str], k: int, where: Where | None, snap: Snapshot) -> list[ToolScores]:
        if not snap.specs:
            return [{} for _ in queries]
        settings = self._engine.settings
        index = self._engine.index(self.collection)
        index.sync()
        first = self._engine.first_retrieval(index)
        weight = self._engine.fusion_weight(index)
        mode = settings.search_mode
        n = min(settings.max_k, max(settings.candidates, 4 * k))

        def tool_scores(where_view: Where | None, vectors: Any = None) -> tuple[list[ToolScores], Any]:
            found = first.run(queries, mode=mode, depth=n, where=where_view, vectors=vectors)
            lists = []
            for cands in found:
                best: ToolScores = {}
                for doc_id, score in cands.ranking(mode, weight)[:n]:
                    key, view, _ = doc_id.partition("#")  # a view's id is "<tool key>#r<n>"; keys hold no '#'
                    if key not in (snap.view_hashes if view else snap.specs):
                        continue  # not a tool document of this snapshot (nor lifting one by its id)
                    best[key] = max(best.get(key, float("-inf")), score)
                lists.append(best)
            vecs = [c.vector for c in found if c.vector is not None]
            return lists, np.stack(vecs) if vecs and len(vecs) == len(found) else None

        if not snap.view_hashes:
            return tool_scores(where)[0]
        described, vectors = tool_scores(and_where(where, {TOOL_VIEW: VIEW_TOOL}))
        viewed, _ = tool_scores(and_where(where, {TOOL_VIEW: VIEW_REQUEST}), vectors)
        return blend_views(described, viewed)


def blend_views(described: Sequence[ToolScores], viewed: Sequence[ToolScores]) -> list[ToolScores]:
    """Per query: ``(1 - VIEW_SHARE) x`` a tool's description score ``+ VIEW_SHARE x`` its best view's."""
    return [
        {
            key: (1 - VIEW_SHARE) * d.get(key, 0.0) + VIEW_SHARE * v.get(key, 0.0)
            for key in d.keys() | v.keys()
        }
        for d, v in zip(described, viewed)
    ]


def find_hubs(scores: FirstToolScores, snap: Snapshot) -> set[str]:
    """The tools in the top results of many generic probe requests (:func:`guard.hubs`)."""
    if len(snap.specs) < guard.HUB_MIN_TOOLS:
        return set()
    probes = scores(list(guard.PROBES), guard.HUB_K, None, snap)
    tops = [sorted(found, key=lambda key: (-found[key], key)) for found in probes]
    return guard.hubs(tops, len(snap.specs))


def fuse_queries(lists: list[ToolScores], rewrites: bool) -> Ranking:
    """Stage 2: one score per tool from the raw request's list (``lists[0]``) and the other queries' lists.

    Rewrites (caller or LLM queries, each standing for a capability the request needs): a tool's best score
    over them plus ``REWRITE_RAW_SHARE x`` its raw-request score (the rewrites are sharper than the request;
    the request breaks their ties). LLM-free steps (fragments of the request): the best score over the request
    and its steps plus ``STEP_RAW_BONUS x`` the request's (the whole request stays ahead of any one fragment).
    Measured against max, RRF and CombSUM fusion: README, "Tool retrieval"."""
    raw, extra = lists[0], lists[1:]
    if not extra:
        return {key: Scored(score, 0) for key, score in raw.items()}
    best: fusion.Sourced
    if rewrites:
        best = {key: (score, n + 1) for key, (score, n) in fusion.max_lists(extra).items()}
        bonus = REWRITE_RAW_SHARE
    else:
        best = fusion.max_lists(lists)
        bonus = STEP_RAW_BONUS
    keys = best.keys() | raw.keys()
    return {
        key: Scored(best.get(key, (0.0, 0))[0] + bonus * raw.get(key, 0.0), best.get(key, (0.0, 0))[1])
        for key in keys
    }


RankStage = Callable[[Ranking, ToolRequest], Ranking]


def keep_allowed(ranking: Ranking, req: ToolRequest) -> Ranking:
    """The tools of the snapshot the call's filter lets in (tools written by another process since the
    snapshot are picked up on the next load)."""
    return {
        key: s for key, s in ranking.items() if key in req.snap.specs and req.allowed(req.snap.specs[key])
    }


def lift_named(ranking: Ranking, req: ToolRequest) -> Ranking:
    """Tools the raw request names: named by their key, or vouched for and unflagged (or the defences off),
    they lead (the best score plus the match's bonus); a name anyone could choose lifts a tool already found
    by ``NAME_BOOST x`` its own score, no more. A named tool joins only if the call's filter lets it in."""
    out = dict(ranking)
    top = max((s.score for s in ranking.values()), default=0.0)
    for key, match in name_matches(req.plan.queries[0], req.snap.specs, req.snap.by_name).items():
        spec = req.snap.specs[key]
        if not req.allowed(spec):
            continue
        source = out[key].query if key in out else 0
        if match.exact_key or not req.defend or (req.policy.vouched(spec) and not req.snap.flags(key)):
            out[key] = Scored(top + match.bonus, source, named=match.exact_key)
        elif key in out:
            score = out[key].score
            out[key] = Scored(score + NAME_BOOST * abs(score), source)
    return out


def apply_prior(ranking: Ranking, req: ToolRequest) -> Ranking:
    """Each tool's score times its weight (:func:`guard.tool_weight`: flagged untrusted tools are demoted), except
    the tools named by their key; 1 with the defences off."""
    return {key: s if s.named else s._replace(score=s.score * _prior(req, key)) for key, s in ranking.items()}


def _prior(req: ToolRequest, key: str) -> float:
    if not req.defend:
        return 1.0
    flags = req.snap.flags(key)
    if req.snap.clashes.get(key) is False:  # a name shared by untrusted servers only: shown, not held against
        flags = tuple(flag for flag in flags if flag != guard.NAME_CLASH)
    trust = req.policy.trust_of(req.snap.specs[key].namespace)
    return guard.tool_weight(flags, trust, req.settings.flagged_demotion)


def order(ranking: Ranking, req: ToolRequest) -> Ranking:
    """Best first; ties by key."""
    return dict(sorted(ranking.items(), key=lambda item: (-item[1].score, item[0])))


def cap_servers(ranking: Ranking, req: ToolRequest) -> Ranking:
    """The caps on untrusted servers (:func:`guard.cap_servers`), unless the defences are off or the caller
    asked for one server's tools."""
    if not req.defend or req.allowed.alone:
        return ranking
    namespaces = {key: req.snap.specs[key].namespace for key in ranking}
    ranked = guard.cap_servers(
        list(ranking),
        namespaces,
        {key: req.policy.trust_of(ns) for key, ns in namespaces.items()},
        req.k,
        req.settings.server_share,
        scores={key: s.score for key, s in ranking.items()},
    )
    return {key: ranking[key] for key in ranked}


RANK_STAGES: tuple[RankStage, ...] = (keep_allowed, lift_named, apply_prior, order, cap_servers)


def rank(
    lists: list[ToolScores], req: ToolRequest, stages: Sequence[RankStage] = RANK_STAGES
) -> list[ToolHit]:
    """The request's top ``k`` tools from its queries' lists (``lists[i]``: ``req.plan.queries[i]``'s)."""
    ranking = fuse_queries(lists, req.plan.rewrites)
    for stage in stages:
        ranking = stage(ranking, req)
    snap = req.snap
    return [
        ToolHit(
            spec=snap.specs[key],
            score=float(s.score),
            query=req.plan.queries[s.query],
            flags=snap.flags(key),
            trust=req.policy.trust_of(snap.specs[key].namespace),
        )
        for key, s in list(ranking.items())[: req.k]
    ]
