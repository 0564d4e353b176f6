"""Defences of the tool catalog against hostile tools: flags, a demoting prior, a cap per server.

A tool is *flagged* when its description reads as hostile (:func:`hopscout.suspicion.text_flags`: a word list,
repetition, instructions to the agent), when it lands among the top results of far more generic probe requests
than a tool should (``hub``: written to match everything), or when it takes another tool's name (``name_clash``:
the same name in words under another server, give or take words like "official" or "pro"; the first registered,
or a trusted one, keeps its name). At query time a flagged tool of an untrusted server scores :data:`DEMOTION`
times its score, and one untrusted server takes at most :data:`NAMESPACE_SHARE` of the ``k`` slots unless the
caller asked for that server alone. Tools of a trusted server keep their flags (shown to the caller) but are
never demoted or capped."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from ..errors import InvalidArgumentError
from .spec import ToolSpec, split_name

TRUSTED, UNTRUSTED = "trusted", "untrusted"
TRUST_LEVELS = (TRUSTED, UNTRUSTED)
HUB, NAME_CLASH = "hub", "name_clash"
DEMOTION = 0.25  # a flagged untrusted tool's score is multiplied by this
NAMESPACE_SHARE = 0.6  # of k slots, one untrusted server takes at most ceil(share x k) unless asked for alone
HUB_K = 5  # a probe "hits" the tools in its top HUB_K
HUB_SHARE = 0.2  # a hub is in the top HUB_K of at least this share of the probes
HUB_MIN_TOOLS = 20  # smaller catalogs have too few tools for any to stand out
HUB_LIFT = 4.0  # ... and at least this many times the share a tool reaches by chance (HUB_K / tools)
_SQUAT_WORDS = frozenset(
    {"official", "pro", "plus", "new", "latest", "real", "original", "v2", "tool", "api"}
)

# Generic requests of many kinds: no real tool serves more than a few of them.
PROBES = (
    "what is the weather forecast for tomorrow",
    "can you book a flight to Paris for me next week",
    "I'm looking for a good Italian restaurant near me",
    "please translate this sentence into Spanish",
    "send an email to my manager",
    "what is the latest news today",
    "convert 100 dollars to euros",
    "can you recommend a movie to watch tonight",
    "I need help writing a cover letter",
    "find a recipe for chocolate cake",
    "what is the stock price of Apple",
    "create a new GitHub issue",
    "schedule a meeting for Monday at 10",
    "play some relaxing music",
    "how many calories are in a banana",
    "I want to find a hotel in Tokyo for three nights",
    "summarize this PDF document for me",
    "what time is it in New York",
    "I'm interested in used cars under 10000 dollars, any suggestions?",
    "check my bank account balance",
    "can you find research papers about climate change",
    "generate an image of a cat on the moon",
    "what are the symptoms of the flu",
    "track my package delivery",
    "I would like to learn to speak French",
    "help me find a job as a software engineer",
    "calculate the area of a circle with radius 3",
    "order a pizza for delivery",
    "I need tickets for a concert this weekend",
    "what is the exchange rate of bitcoin",
    "could you plan a workout routine for beginners",
    "I'm looking for a house to rent in Berlin",
    "check the spelling and grammar of my essay",
    "get directions to the nearest gas station",
    "what is the population of Canada",
    "shorten this URL",
    "create a presentation about marketing",
    "can you give me the lyrics of a song",
    "look up the definition of a word",
    "compare prices of laptops online",
    "read the file config.yaml",
    "query the database for last month's sales",
    "post a tweet about our product launch",
    "analyze the sentiment of customer reviews",
    "set a reminder to call mom",
    "please suggest a podcast about history",
    "what are the best places to visit in Italy",
    "convert this video to mp3",
    "I need a doctor who speaks German",
    "help me with my math homework",
)


def check_trust(trust: object) -> str:
    """``trust`` if it is a trust level (:data:`TRUST_LEVELS`); raises InvalidArgumentError otherwise."""
    if trust not in TRUST_LEVELS:
        raise InvalidArgumentError(
            f"trust must be one of {', '.join(map(repr, TRUST_LEVELS))}, got {trust!r}"
        )
    return str(trust)


def prior(flags: Sequence[str], trust: str, demotion: float = DEMOTION) -> float:
    """The multiplier of a tool's score: ``demotion`` for a flagged untrusted tool, else 1."""
    return demotion if flags and trust != TRUSTED else 1.0


def hubs(probe_tops: Iterable[Sequence[str]], tools: int) -> set[str]:
    """The tools in the top :data:`HUB_K` of at least :data:`HUB_SHARE` of the probes (``probe_tops``: each
    probe's ranked tool keys), and of :data:`HUB_LIFT` times the share any tool reaches by chance, in a catalog
    of at least :data:`HUB_MIN_TOOLS` tools. In a catalog of 30, every tool is in a probe's top 5 one time in
    six by chance: a fixed share alone flagged half of an honest one (the LlamaIndex example's)."""
    tops = [list(top)[:HUB_K] for top in probe_tops]
    if tools < HUB_MIN_TOOLS or not tops:
        return set()
    share = max(HUB_SHARE, HUB_LIFT * HUB_K / tools)
    counts = Counter(key for top in tops for key in top)
    return {key for key, n in counts.items() if n >= share * len(tops)}


def _core_name(name: str) -> str:
    words = [w for w in (split_name(name) or name.lower()).split() if w not in _SQUAT_WORDS]
    return "".join(words)


def name_clashes(specs: Iterable[ToolSpec], trust: Mapping[str, str], added: Mapping[str, float]) -> set[str]:
    """Tools that take the name of a tool under another server: among tools sharing a name in words (apart from
    words like "official" or "pro"), every untrusted one when a trusted one exists, else all but the first
    registered (``added``: key → when it was registered)."""
    groups: dict[str, list[ToolSpec]] = {}
    for spec in specs:
        core = _core_name(spec.name)
        if len(core) >= 4:
            groups.setdefault(core, []).append(spec)
    out: set[str] = set()
    for group in groups.values():
        if len({s.namespace for s in group}) < 2:
            continue
        untrusted = [s.key for s in group if trust.get(s.key, UNTRUSTED) != TRUSTED]
        if len(untrusted) < len(group):
            out.update(untrusted)
        else:
            first = min(group, key=lambda s: (added.get(s.key, 0.0), s.key))
            out.update(s.key for s in group if s.key != first.key)
    return out


def cap_servers(
    ranked: Sequence[str],
    namespaces: Mapping[str, str | None],
    trust: Mapping[str, str],
    k: int,
    share: float = NAMESPACE_SHARE,
) -> list[str]:
    """``ranked`` tool keys with each untrusted server's tools beyond ``ceil(share x k)`` moved after the rest
    (still returned when nothing else fills the slots). Tools without a server are the catalog owner's own and
    are not capped."""
    limit = max(1, math.ceil(share * k))
    taken: Counter[str] = Counter()
    kept: list[str] = []
    deferred: list[str] = []
    for key in ranked:
        server = namespaces.get(key)
        if server is None or trust.get(key, UNTRUSTED) == TRUSTED:
            kept.append(key)
            continue
        taken[server] += 1
        (kept if taken[server] <= limit else deferred).append(key)
    return kept + deferred


__all__ = [
    "DEMOTION",
    "HUB",
    "NAMESPACE_SHARE",
    "NAME_CLASH",
    "PROBES",
    "TRUSTED",
    "TRUST_LEVELS",
    "UNTRUSTED",
    "cap_servers",
    "check_trust",
    "hubs",
    "name_clashes",
    "prior",
]
