"""Hubness of a tool catalog, measured against the catalog itself, and the CSLS prior that reduces it.

A *hub* is a tool written to match everything: it sits among the top tools of far more requests than its
share. Fixed generic probe requests measure that only for the requests someone thought of; here the probes are
the catalog's own texts: the requests it was asked lately (:class:`~.probes.RequestLog`), every view (a request
a user might make of a tool) and every tool's document read as a query, each searched as a request is (the
catalog's own first retrieval, so a tool stuffed with words that match everything lexically stands out as well
as one that is near everything in meaning). For each probe the ``k``
best tools, its own tool left out, are counted: a tool's count is its k-occurrence ``N_k`` (Radovanović et al.,
2010). By chance a tool is in ``k`` of the ``tools - 1`` places a probe fills, so it is expected in
``probes x k / (tools - 1)`` of them; a hub is in far more (:func:`is_hub`). Requests are not spread evenly
over tools: an honest popular tool reaches 11 times chance among MetaTool's requests, so the flag is kept for
tools far beyond that, and the prior does the graded work.

The prior is CSLS's (Conneau et al., 2018): a tool's *radius* ``r_y``, its mean score over its
:data:`RADIUS_K` best probes, is what it scores for anything near it; ``score - w x (r_y - median r)`` ranks a
tool by how much better it fits *this* request than requests in general. A text written to fit everything has
a large radius and loses what its genericity won; so does a tool many requests honestly want, which is why the
prior's weight is small (:data:`~.search.HUB_PRIOR`).

The second prior is *centering* (Suzuki et al., EMNLP 2013, "Centering similarity measures to reduce hubs"): a
tool's cosine to the centroid of the requests logged lately, ``<x, centroid>``, its mean cosine to them. Unlike
the radius, which is set by a tool's nearest requests and so grows with honest popularity (a weather tool asked
for daily), the mean over *all* requests is set by the many requests a tool is not for: a text written to be near
every request is near them all; a popular tool is near its own requests and far from the rest. Requests come in
bursts (an agent on one task asks for the same few tools a hundred times), so the centroid is the requested
*topics'* (:func:`topic_centroid`), and only a tool's excess over the median tool counts. Pure: the registry runs
the probes and hands over their score lists and vectors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import median

import numpy as np

HUB_K = 5  # a probe's top HUB_K tools are counted
# A hub is in the top HUB_K of at least HUB_LIFT times its chance count, or (a cap for small catalogs, where the
# lift cannot reach that) of HUB_SHARE of the probes. Set on clean catalogs only (false flags): the largest honest
# lift was 6.4 over documents as probes (Seal-Tools' 4,076 tools; MetaTool 4.2, LiveMCPBench's 527 tools 3.4)
# and 11.5 over MetaTool's own requests as probes (a popular tool: "local"); 20- to 100-tool samples reached
# 75% (20 tools) to 26% (100 tools) of the probes.
HUB_LIFT = 15.0
HUB_SHARE = 0.85
HUB_MIN_TOOLS = 20  # smaller catalogs have too few probes for any tool to stand out
RADIUS_K = 10  # a tool's CSLS radius: its mean score over this many best probes
CENTER_MIN_REQUESTS = (
    50  # requests logged before their centroid is trusted to center on (probes.FIRST_MEASURE)
)
CENTER_QUANTILE = 0.5  # centering counts a tool's excess over this quantile of the catalog's tools only
SAME_TOPIC = 0.6  # two requests this close (cosine) are on one topic (topic_centroid): MiniLM's paraphrases

ProbeList = tuple[str, Mapping[str, float]]  # a probe's own tool's key, and its tools' scores


@dataclass(frozen=True)
class Hubness:
    """What the catalog's own probes say about each tool: its k-occurrence (``counts``), that over chance
    (``lift``), the hubs, and its CSLS penalty (``r_y - median r``, in the probes' score units)."""

    probes: int
    counts: dict[str, int]
    lift: dict[str, float]
    hubs: frozenset[str]
    penalty: dict[str, float]


def measure(
    lists: Sequence[ProbeList], tools: Sequence[str], k: int = HUB_K, radius_k: int = RADIUS_K
) -> Hubness:
    """Each of ``tools``' k-occurrence over the probes' score ``lists``, the hubs (:func:`is_hub`), and its CSLS
    penalty (none below :data:`HUB_MIN_TOOLS` tools: too few neighbours to measure a radius). A probe's own tool
    never counts for it; a tool missing from a list scores 0 there."""
    n = len(tools)
    counts = dict.fromkeys(tools, 0)
    best: dict[str, list[float]] = {key: [] for key in tools}
    for owner, scores in lists:
        ranked = sorted(
            ((s, key) for key, s in scores.items() if key != owner and key in counts),
            key=lambda p: (-p[0], p[1]),
        )
        for _, key in ranked[:k]:
            counts[key] += 1
        for score, key in ranked:
            best[key].append(score)
    probes = len(lists)
    chance = probes * k / (n - 1) if n > 1 else 0.0
    radius = {key: _top_mean(values, radius_k) for key, values in best.items()}
    middle = median(radius.values()) if radius else 0.0
    return Hubness(
        probes=probes,
        counts=counts,
        lift={key: c / chance if chance else 0.0 for key, c in counts.items()},
        hubs=frozenset(key for key, c in counts.items() if is_hub(c, probes, n, k)),
        penalty={key: r - middle for key, r in radius.items()} if n >= HUB_MIN_TOOLS else {},
    )


def centering(requests: np.ndarray, tools: np.ndarray, keys: Sequence[str]) -> dict[str, float]:
    """Each tool's centering penalty: how far its cosine to the centroid of the logged ``requests`` (unit rows)
    exceeds the catalog's :data:`CENTER_QUANTILE` (0 for most tools; only the tools above it are listed);
    ``tools[i]`` (unit rows) is ``keys[i]``'s document vector. None (an empty dict) below
    :data:`CENTER_MIN_REQUESTS` requests or :data:`HUB_MIN_TOOLS` tools: a centroid of a few requests is theirs,
    not the catalog's traffic."""
    if len(requests) < CENTER_MIN_REQUESTS or len(keys) < HUB_MIN_TOOLS or not len(tools):
        return {}
    mean = tools @ topic_centroid(requests)
    bar = float(np.quantile(mean, CENTER_QUANTILE))
    return {key: float(m) - bar for key, m in zip(keys, mean) if m > bar}


def topic_centroid(requests: np.ndarray) -> np.ndarray:
    """The centroid of ``requests`` (unit rows) with each request weighted by one over the number of requests
    within :data:`SAME_TOPIC` of it (itself included): a run of requests on one topic counts about as much as a
    single request on another, so the centroid is the requested topics', not the last burst's."""
    near = (requests @ requests.T >= SAME_TOPIC).sum(axis=1)
    weights = 1.0 / np.maximum(near, 1)
    return (weights[:, None] * requests).sum(axis=0) / weights.sum()


def is_hub(count: int, probes: int, tools: int, k: int = HUB_K) -> bool:
    """Whether a tool in the top ``k`` of ``count`` of ``probes`` probes, in a catalog of ``tools``, is a hub:
    at least :data:`HUB_LIFT` times its chance count (``probes x k / (tools - 1)``), or :data:`HUB_SHARE` of
    the probes when that is fewer, in a catalog of at least :data:`HUB_MIN_TOOLS`. In a catalog of 30 a tool
    is in a probe's top 5 one time in six by chance: honest tools of small catalogs reach half the probes."""
    if tools < HUB_MIN_TOOLS or probes == 0:
        return False
    chance = probes * k / (tools - 1)
    return count >= min(HUB_LIFT * chance, HUB_SHARE * probes)


def _top_mean(values: list[float], n: int) -> float:
    """The mean of the ``n`` largest ``values``, padded with zeros (a tool few probes reach scores 0 for the
    rest)."""
    top = sorted(values, reverse=True)[:n]
    return sum(top) / n if n else 0.0


__all__ = [
    "CENTER_MIN_REQUESTS",
    "CENTER_QUANTILE",
    "HUB_K",
    "HUB_LIFT",
    "HUB_MIN_TOOLS",
    "HUB_SHARE",
    "RADIUS_K",
    "SAME_TOPIC",
    "Hubness",
    "ProbeList",
    "centering",
    "is_hub",
    "measure",
    "topic_centroid",
]
