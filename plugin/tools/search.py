"""Tool search as a chain of small stages over the engine's first retrieval.

1. :class:`FirstToolScores`: per query, ``{tool key: score}`` from the shared first retrieval (the search
   mode's fused scores), a tool with views blending its description's score with its best view's;
2. :func:`fuse_queries`: one score per tool over the request's queries (:class:`~.planning.Plan`);
3. then :data:`RANK_STAGES`, each ``(Ranking, ToolRequest) -> Ranking``: the search's filter, the lift of
   tools the request names, the weight (:func:`guard.tool_weight` with the server's trust), the order, and the cap
   on untrusted servers (:func:`guard.cap_servers`). A later feature adds or swaps one stage;
4. :func:`rank` folds equivalent tools of different servers into one entry (:mod:`.grouping`).

The numbers (README, "Tool retrieval") were measured on MetaTool with recorded views and agent queries."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .. import fusion
from ..engine import Engine
from ..filters import Where
from ..keys import TOOL_VIEW
from ..settings import Settings
from . import grouping, guard, hubness
from .documents import VIEW_REQUEST, VIEW_TOOL
from .names import NAMED_ORDER, PARTIAL_BONUS, WHOLE_BONUS, name_matches
from .planning import Plan
from .policy import TrustPolicy
from .probes import CatalogProbes, RequestLog
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
# The CSLS prior's weight (reduce_hubness), in the fused scores' units. Set on clean data only (MetaTool's first
# 600 requests, 300 logged before): clean nDCG@10 lost 0.7 points at 0.1 and 2.5 at 0.3 (the radius also grows
# with a tool's honest popularity), so it stays at half of 0.1, within the 0.5-point budget.
HUB_PRIOR = 0.05
# An untrusted tool's CSLS weight in a catalog with vouched tools (the owner's or a trusted server's): it must fit
# this request better than requests in general to outrank them. Set on clean data only: MetaTool split into the
# owner's half and an untrusted server's half, 600 requests after 300 logged, nDCG@10 68.4 at 0.05, 68.1 at 0.25,
# 67.3 at 0.5, 64.3 at 1.0 (honest popular tools have radii as large as any hub's); 0.25 keeps the cost within
# 0.5 points. With no vouched tool (a router of untrusted servers only) every tool keeps HUB_PRIOR.
UNTRUSTED_HUB_PRIOR = 0.25
# The centering prior's weight (reduce_hubness): an untrusted tool's cosine to the centroid of the requested
# topics over the median tool's (hubness.centering), in the fused scores' units. Set on clean data only: MetaTool
# and Seal-Tools out each split into two untrusted servers, the even half of the first 1,000 requests logged, the
# odd half measured: the largest weight whose own cost (against weight 0) stayed within 0.5 nDCG@10 points.
# MetaTool split 59.2 at 0, 59.1 at 2.0, 58.6 at 2.5, 58.4 at 3.0, 58.3 at 4.0; Seal-Tools out split 92.8 at 0,
# 93.5 at 2.0, 93.4 at 3.0, 93.0 at 4.0; MetaTool + livemcp's 527 honest untrusted tools 50.8 at 0, 51.4 at 2.0,
# 52.2 at 4.0. Above 2.0 MetaTool's split pays 0.5-0.9 points for 1-2 points less ToolFlood and fluent prose.
CENTER_PRIOR = 2.0
# An untrusted tool's centering weight in a catalog with vouched tools: the vouched ones pay none, so only the
# untrusted servers' honest tools bear its cost. Same protocol: MetaTool + livemcp 51.4 at 2.0, 52.2 at 4.0 (50.0
# undefended); Seal-Tools out + livemcp 94.5 at 2.0 and 4.0 (94.4 undefended). MetaTool's own tools vouched, two
# of five variants: ToolFlood top 5 14.1% at 2.0, 11.7% at 4.0; fluent prose 7.4%, 5.5% (+ livemcp: 18.9%, 13.6%;
# 3.0%, 1.3%).
UNTRUSTED_CENTER_PRIOR = 4.0
# Where vouched tools exist, an untrusted tool must beat them by this much, in the fused scores' units (the median
# gap from a request's first tool to its fifth is ~0.5): near-ties go to the owner's or a trusted server's tool.
# Set on clean data, the protocol above (MetaTool / Seal-Tools out split into the owner's half and an untrusted
# server's half, even half of the first 1,000 requests logged, odd half measured): nDCG@10 62.61 at 0, 62.57 at
# 0.02, 62.17 at 0.05, 61.86 at 0.1 (requests whose tool is the untrusted half's: 63.24, 62.64, 61.47, 59.49);
# Seal-Tools out 91.01 at 0, 90.62 at 0.05 (90.27, 89.63): 0.05 is the largest within the 0.5-point budget.
UNTRUSTED_MARGIN = 0.05

_IDENTIFIER = re.compile(r"[_.-]|[a-z][A-Z]")  # a separator inside a word, or camelCase
ToolScores = dict[str, float]  # one query's tools: key → score


class Scored(NamedTuple):
    """A tool's score for one request, the index of the query it came from, and whether the request named the
    tool: by its very key, or by its name letter for letter when no other tool bears that name, no vouched tool
    answers to it and its text is unflagged (then it leads, its flags shown, and is neither demoted nor put below
    a tool it copies)."""

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
    Only the tool documents of the snapshot score: anything else the store returns is passed over. The requests
    it searches (not the probes) are kept in ``requests``, the last few hundred: the hubness measure's probes."""

    def __init__(self, engine: Engine, collection: str) -> None:
        self._engine = engine
        self.collection = collection
        self.requests = RequestLog()

    def __call__(
        self, queries: list[str], k: int, where: Where | None, snap: Snapshot, vectors: Any = None
    ) -> list[ToolScores]:
        """``vectors``: the queries' embeddings when the caller has them (the catalog's probes: stored, and not
        logged as requests)."""
        if not snap.specs:
            return [{} for _ in queries]
        settings = self._engine.settings
        index = self._engine.index(self.collection)
        index.sync()
        first = self._engine.first_retrieval(index)
        weight = self._engine.fusion_weight(index)
        mode = settings.search_mode
        # tools held back (snap.withheld) or not offered yet (snap.unoffered) are dropped after the search, not
        # filtered in the store: read as many more
        n = min(settings.max_k, max(settings.candidates, 4 * k) + len(snap.withheld) + snap.unoffered)

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

        probing = vectors is not None
        if not snap.view_hashes:
            lists, vectors = tool_scores(where, vectors)
        else:
            described, vectors = tool_scores(and_where(where, {TOOL_VIEW: VIEW_TOOL}), vectors)
            viewed, _ = tool_scores(and_where(where, {TOOL_VIEW: VIEW_REQUEST}), vectors)
            lists = blend_views(described, viewed)
        if not probing and vectors is not None:
            self.requests.add(queries, vectors)
        return lists


def blend_views(described: Sequence[ToolScores], viewed: Sequence[ToolScores]) -> list[ToolScores]:
    """Per query: ``(1 - VIEW_SHARE) x`` a tool's description score ``+ VIEW_SHARE x`` its best view's."""
    return [
        {
            key: (1 - VIEW_SHARE) * d.get(key, 0.0) + VIEW_SHARE * v.get(key, 0.0)
            for key in d.keys() | v.keys()
        }
        for d, v in zip(described, viewed)
    ]


def probe_hubness(scores: FirstToolScores, snap: Snapshot, probes: CatalogProbes) -> hubness.Hubness:
    """The catalog's hubness over its own probes, each searched as a request is (:mod:`.hubness`)."""
    lists = scores(probes.texts, hubness.HUB_K, None, snap, probes.probe_vectors) if probes.texts else []
    return hubness.measure(list(zip(probes.owners, lists)), sorted(snap.specs))


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
    """Tools the raw request names (its whole name, an unambiguous part of one name, or a mention:
    :func:`~.names.name_matches`): named by their key, or vouched for and their text unflagged (or the defences
    off), they lead (the best score plus the match's bonus; tools sharing the name keep their own order). So does
    an untrusted tool with unflagged text whose name the request is letter for letter (then no prior, hubness or
    shadow rule moves it: :class:`Scored`) or, written as an identifier, a part of, unless a vouched tool answers
    to that name; else a name anyone could choose lifts a tool already found by ``NAME_BOOST x`` its own score,
    no more. A named tool joins only if the call's filter lets it in."""
    out = dict(ranking)
    top = max((s.score for s in ranking.values()), default=0.0)
    request = req.plan.queries[0].strip()
    named = name_matches(request, req.snap.specs, req.snap.by_name, req.snap.names)
    # a request that is a tool's name letter for letter, or a part of one written as an identifier
    # ("forecastToday", "forecast_today": no one writes a sentence so), was typed for that tool: an unflagged
    # untrusted tool so named leads too, unless a vouched tool answers to the name (then the vouched one does)
    as_name = " " not in request and bool(_IDENTIFIER.search(request))
    spelled = any(
        req.snap.specs[k].name == request for k in named
    )  # then only that spelling is the one typed
    typed = not any(
        m.bonus == WHOLE_BONUS and req.policy.vouched(req.snap.specs[k]) and req.allowed(req.snap.specs[k])
        for k, m in named.items()
    )
    # the one tool (of those the call lets in) bearing the name typed: several bearing it, the request does not
    # say which, so a copy or a hub among them keeps its rules
    bearers = [k for k in named if req.snap.specs[k].name == request and req.allowed(req.snap.specs[k])]
    for key, match in named.items():
        spec = req.snap.specs[key]
        if not req.allowed(spec):
            continue
        source = out[key].query if key in out else 0
        own = max(out[key].score, 0.0) / top if key in out and top > 0 else 0.0
        # a vouched tool loses the lead for what its own text says, not for being popular (hub): the statistical
        # signals flag honest tools too (4-6 of Seal-Tools' 4,076 once its requests are logged: 1.3 nDCG@10)
        if (
            match.exact_key
            or not req.defend
            or (req.policy.vouched(spec) and not req.snap.text_flags.get(key))
            or (
                typed
                and (request == spec.name or (as_name and not spelled and match.bonus >= PARTIAL_BONUS))
                and not req.snap.text_flags.get(key)
            )
        ):
            # the name typed letter for letter is a request for that very tool, a copy (shadow) or a popular
            # one (hub) too: it leads, flags shown; what its own text says (orders, word lists) still holds
            spelled_out = typed and bearers == [key] and not req.snap.text_flags.get(key)
            out[key] = Scored(
                top + match.bonus + NAMED_ORDER * own, source, named=match.exact_key or spelled_out
            )
        elif key in out:
            score = out[key].score
            out[key] = Scored(score + NAME_BOOST * abs(score), source)
    return out


def apply_prior(ranking: Ranking, req: ToolRequest) -> Ranking:
    """Each tool's score times its weight (:func:`guard.tool_weight`: flagged untrusted tools are demoted), except
    the tools the request named (:class:`Scored`); 1 with the defences off."""
    return {key: s if s.named else s._replace(score=s.score * _prior(req, key)) for key, s in ranking.items()}


def _prior(req: ToolRequest, key: str) -> float:
    if not req.defend:
        return 1.0
    flags = req.snap.flags(key)
    if req.snap.clashes.get(key) is False:  # a name shared by untrusted servers only: shown, not held against
        flags = tuple(flag for flag in flags if flag != guard.NAME_CLASH)
    if req.snap.shadows.get(key) == ():  # a copy among untrusted servers stored together: the same
        flags = tuple(flag for flag in flags if flag != guard.SHADOW)
    spec = req.snap.specs[key]
    if req.policy.vouched(
        spec
    ):  # popular is not hostile: a vouched tool is demoted for its text, never as a hub
        flags = tuple(flag for flag in flags if flag != guard.HUB)
    return guard.tool_weight(flags, req.policy.trust_of(spec.namespace), req.settings.flagged_demotion)


def reduce_hubness(ranking: Ranking, req: ToolRequest) -> Ranking:
    """The hubness priors (:mod:`.hubness`), except for the tools the request named (:class:`Scored`); none with
    the defences off. CSLS: each tool's score less a weight times its radius over the catalog's probes (less the
    median radius), the weight :data:`HUB_PRIOR`, or :data:`UNTRUSTED_HUB_PRIOR` for an untrusted tool in a catalog with vouched
    ones. Centering: an untrusted tool's score less :data:`CENTER_PRIOR` (:data:`UNTRUSTED_CENTER_PRIOR` in a
    catalog with vouched tools) times how far it is nearer the requested topics' centroid than the median tool.
    A tool written to fit every request loses what that won it; the rest move little."""
    snap = req.snap
    if not req.defend or not (snap.hub_penalty or snap.centered):
        return ranking

    def penalty(key: str) -> float:
        untrusted = not req.policy.vouched(snap.specs[key])
        csls = UNTRUSTED_HUB_PRIOR if untrusted and snap.any_vouched else HUB_PRIOR
        center = (UNTRUSTED_CENTER_PRIOR if snap.any_vouched else CENTER_PRIOR) if untrusted else 0.0
        return csls * snap.hub_penalty.get(key, 0.0) + center * snap.centered.get(key, 0.0)

    return {key: s if s.named else s._replace(score=s.score - penalty(key)) for key, s in ranking.items()}


def prefer_vouched(ranking: Ranking, req: ToolRequest) -> Ranking:
    """An untrusted tool's score less :data:`UNTRUSTED_MARGIN` in a catalog with vouched tools, unless the request
    named it (:class:`Scored`); none with the defences off, or where every tool is untrusted (a router of
    untrusted servers only: no tool is preferred)."""
    if not req.defend or not req.snap.any_vouched:
        return ranking
    specs, vouched = req.snap.specs, req.policy.vouched
    return {
        key: s if s.named or vouched(specs[key]) else s._replace(score=s.score - UNTRUSTED_MARGIN)
        for key, s in ranking.items()
    }


def keep_shadows_below(ranking: Ranking, req: ToolRequest) -> Ranking:
    """A shadow (:mod:`.shadowing`) scores just below the lowest of the tools it copies that are in the ranking,
    unless the request named it (:class:`Scored`); as it is with the defences off."""
    if not req.defend or not req.snap.shadows:
        return ranking
    out = dict(ranking)
    for key in (
        ranking.keys() & req.snap.shadows.keys()
    ):  # the ranking's shadows only: catalogs hold thousands
        originals = req.snap.shadows[key]
        present = [ranking[o].score for o in originals if o in ranking]
        if key in out and present and not out[key].named and out[key].score >= min(present):
            out[key] = out[key]._replace(score=float(np.nextafter(min(present), -np.inf)))
    return out


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


RANK_STAGES: tuple[RankStage, ...] = (
    keep_allowed,
    lift_named,
    apply_prior,
    reduce_hubness,
    prefer_vouched,
    keep_shadows_below,
    order,
    cap_servers,
)


def rank(
    lists: list[ToolScores], req: ToolRequest, stages: Sequence[RankStage] = RANK_STAGES
) -> list[ToolHit]:
    """The request's top ``k`` entries from its queries' lists (``lists[i]``: ``req.plan.queries[i]``'s): after
    the stages, equivalent tools of different servers are folded into one entry (:mod:`.grouping`; unless
    ``settings.group_tools`` is off), the others its ``alternatives``, and further tools fill the places."""
    ranking = fuse_queries(lists, req.plan.rewrites)
    for stage in stages:
        ranking = stage(ranking, req)
    if not req.settings.group_tools:
        return [_hit(key, ranking, req) for key in list(ranking)[: req.k]]
    entries = grouping.fold(
        list(ranking), grouping.groups_of(req.snap), req.k, functools.partial(_lead, ranking, req)
    )
    return [
        _hit(entry.key, ranking, req, tuple(_hit(other, ranking, req) for other in entry.alternatives))
        for entry in entries
    ]


def _lead(ranking: Ranking, req: ToolRequest, members: Sequence[str]) -> str:
    """Who heads a group (:func:`grouping.lead`): with the defences off, the tool the request named or else the
    best-ranked."""
    snap = req.snap
    if not req.defend:
        return next((key for key in members if ranking[key].named), members[0])
    return grouping.lead(
        members,
        named=lambda key: ranking[key].named,
        vouched=lambda key: req.policy.vouched(snap.specs[key]),
        flagged=lambda key: bool(snap.flags(key)),
        shadows=snap.shadows,
    )


def _hit(key: str, ranking: Ranking, req: ToolRequest, alternatives: tuple[ToolHit, ...] = ()) -> ToolHit:
    spec, s = req.snap.specs[key], ranking[key]
    return ToolHit(
        spec=spec,
        score=float(s.score),
        query=req.plan.queries[s.query],
        flags=req.snap.flags(key),
        trust=req.policy.trust_of(spec.namespace),
        alternatives=alternatives,
    )
