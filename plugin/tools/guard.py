"""Defences of the tool catalog against hostile tools: flags, a demoting prior, caps on untrusted servers.

A tool is *flagged* when its description reads as hostile (:func:`hopscout.suspicion.text_flags`: a word list,
repetition, instructions to the agent), when it lands among the top results of far more of the catalog's own
probes than chance allows (``hub``: written to match everything, :mod:`.hubness`), when it copies another
server's tool (``shadow``: :mod:`.shadowing`), or when it takes another tool's name (``name_clash``:
another server's tool name with words like "official", "pro", "an" or "the" added). In a clash the *vouched*
tools keep the name — a trusted server's, or the catalog owner's own (registered without a namespace: only a
server can squat a name) — and the untrusted tools decorating it are flagged; between untrusted servers every
member of a decorated pair is, but none of them is demoted for it (who answered ``list_tools`` first says
nothing about who is honest). One name spelled alike on several servers is a collision their keys resolve.

At query time a flagged tool of an untrusted server scores :data:`DEMOTION` times its score; one
untrusted server takes at most :data:`NAMESPACE_SHARE` of the ``k`` slots unless the caller asked for that server
alone, and untrusted servers together yield past ``floor(share x k)`` slots to vouched tools that score nearly as
well (:func:`cap_servers`). Tools of a trusted server keep their flags (shown to the caller) but are never demoted
or capped.

Trust is configuration (``ToolCatalog(trust=...)``, ``register(..., trust=...)``, the router's servers.json),
read when a request is answered; nothing stored with a tool decides it."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from ..errors import InvalidArgumentError
from .spec import ToolSpec, split_name

TRUSTED, UNTRUSTED = "trusted", "untrusted"
TRUST_LEVELS = (TRUSTED, UNTRUSTED)
HUB, NAME_CLASH, SHADOW = "hub", "name_clash", "shadow"
DEMOTION = 0.25  # a flagged untrusted tool's score is multiplied by this
NAMESPACE_SHARE = 0.6  # of k slots, one untrusted server takes at most ceil(share x k) unless asked for alone
_SQUAT_WORDS = frozenset(
    {"official", "pro", "plus", "new", "latest", "real", "original", "v2", "tool", "api"}
)
# Words that change no tool's meaning: ``send_an_email`` is ``send_email`` (no two-server name group of the
# LiveMCPBench catalog's 527 real tools, MetaTool's or Seal-Tools' gains a member by folding them).
_FILLER_WORDS = frozenset({"a", "an", "the", "to", "of", "for", "my", "please"})
YIELD_SHARE = (
    0.8  # an untrusted tool past the servers' joint budget yields to vouched ones scoring >= this share
)


def check_trust(trust: object) -> str:
    """``trust`` if it is a trust level (:data:`TRUST_LEVELS`); raises InvalidArgumentError otherwise."""
    if trust not in TRUST_LEVELS:
        raise InvalidArgumentError(
            f"trust must be one of {', '.join(map(repr, TRUST_LEVELS))}, got {trust!r}"
        )
    return str(trust)


def tool_weight(flags: Sequence[str], trust: str, demotion: float = DEMOTION) -> float:
    """The multiplier of a tool's score: ``demotion`` for a flagged untrusted tool, else 1."""
    return demotion if flags and trust != TRUSTED else 1.0


def vouched(namespace: str | None, trust: str) -> bool:
    """Whether a tool's name and rank can be taken at its server's word: the catalog owner's own (no namespace)
    or a trusted server's (``trust``: its server's level, from the configuration)."""
    return namespace is None or trust == TRUSTED


def _decorates(mine: frozenset[str], theirs: frozenset[str]) -> bool:
    """Whether one of two names of one core (their words run together, squat and filler words aside), spelled
    differently, is the other decorated, given the squat words each holds ("official", "pro", "tool"...): one's
    all among the other's (``GetForecastPro`` beside ``get_forecast``; ``send_an_email`` beside ``send_email``,
    a filler added). ``new_game`` beside ``GameTool`` each hold one the other lacks: two names sharing a word,
    and so is a squatter swapping one decoration for another (``weather_pro`` beside ``WeatherTool``), which its
    name alone does not tell (a copied description is a shadow)."""
    return mine <= theirs or theirs <= mine


def name_clashes(specs: Iterable[ToolSpec], trust: Mapping[str, str]) -> dict[str, bool]:
    """Tools that take the name of a tool under another server (``trust``: tool key → its server's level, from
    the configuration), each with whether it takes a *vouched* tool's name. A clash is a name decorated
    (:func:`_decorates`: "official", "pro", "an"... added, the squatter's signature) under another server. An
    untrusted tool decorating a vouched tool's name, or decorated by it, is flagged and True (a squatter: its
    flag demotes it like any other); else one in a decorated pair with another untrusted server's tool is
    flagged and False: nothing tells the honest one, and the first to answer must not win — each is shown with
    the flag, none is demoted for it (demoting them all would only hand a request for that name to other
    tools). One name spelled alike on several servers, a vouched one's too, is no clash: a gateway's servers
    share names like ``search`` or ``read_file`` (all 33 name-sharing tools of the LiveMCPBench catalog's 527;
    four of them beside MetaTool's own ``search``), the router calls tools by their keys only, and a copied
    description is a shadow (:mod:`.shadowing`). A group's distinct spellings are compared, not its members."""
    # core → (spelling, squat words) → the tools so named
    groups: dict[str, dict[tuple[str, frozenset[str]], list[ToolSpec]]] = {}
    for spec in specs:
        tokens = (split_name(spec.name) or spec.name.lower()).split()
        core = "".join(w for w in tokens if w not in _SQUAT_WORDS and w not in _FILLER_WORDS)
        if len(core) >= 4:
            form = ("".join(tokens), frozenset(tokens) & _SQUAT_WORDS)
            groups.setdefault(core, {}).setdefault(form, []).append(spec)
    out: dict[str, bool] = {}
    for forms in groups.values():
        if len({spelled for spelled, _ in forms}) < 2:
            continue  # one name spelled alike everywhere: a collision the keys resolve
        owned_names = {  # a name a vouched tool bears: the others bearing it collide with it, no more
            spelled
            for (spelled, _), tools in forms.items()
            if any(vouched(t.namespace, trust.get(t.key, UNTRUSTED)) for t in tools)
        }
        for (spelled, squat), tools in forms.items():
            if spelled in owned_names:
                continue
            rivals = [  # the tools this name decorates or is decorated by
                o
                for (other, other_squat), others in forms.items()
                if other != spelled and _decorates(squat, other_squat)
                for o in others
            ]
            owned = {o.namespace for o in rivals if vouched(o.namespace, trust.get(o.key, UNTRUSTED))}
            untrusted = {o.namespace for o in rivals} - owned
            for s in tools:
                if owned - {s.namespace}:
                    out[s.key] = True
                elif untrusted - {s.namespace}:
                    out[s.key] = False
    return out


def cap_servers(
    ranked: Sequence[str],
    namespaces: Mapping[str, str | None],
    trust: Mapping[str, str],
    k: int,
    share: float = NAMESPACE_SHARE,
    *,
    scores: Mapping[str, float],
    yield_share: float = YIELD_SHARE,
) -> list[str]:
    """``ranked`` tool keys (best first; ``scores`` theirs) with two caps on untrusted servers' tools
    (``trust``: key → its server's level; a tool without a server is the catalog owner's own, never capped):

    - one server: its tools beyond ``ceil(share x k)`` move after all the rest (still returned when nothing
      else fills the slots);
    - all untrusted servers together: once they hold ``floor(share x k)`` of the slots (0 at k=1, 3 at k=5),
      an untrusted tool yields its place to the next vouched tool (trusted, or the owner's) if that one scores
      at least ``yield_share`` of its score, and keeps it otherwise: the cap never hands a slot to a clearly
      worse tool. Untrusted tools keep their order among themselves, and so do vouched ones.

    When every candidate is untrusted (the router's default) only the per-server cap acts."""
    per_server = max(1, math.ceil(share * k))
    together = math.floor(share * k)
    taken: Counter[str] = Counter()
    untrusted: list[str] = []
    trusted: list[str] = []
    over: list[str] = []  # beyond their server's own cap
    for key in ranked:
        server = namespaces.get(key)
        if vouched(server, trust.get(key, UNTRUSTED)):
            trusted.append(key)
            continue
        taken[str(server)] += 1
        (untrusted if taken[str(server)] <= per_server else over).append(key)
    position = {key: n for n, key in enumerate(ranked)}
    out: list[str] = []
    placed = 0  # untrusted tools among the first k
    u = v = 0
    while u < len(untrusted) or v < len(trusted):
        if v == len(trusted) or (
            u < len(untrusted)
            and position[untrusted[u]] < position[trusted[v]]
            and (
                len(out) >= k
                or placed < together
                or not _close(scores.get(trusted[v], 0.0), scores.get(untrusted[u], 0.0), yield_share)
            )
        ):
            placed += len(out) < k
            out.append(untrusted[u])
            u += 1
        else:
            out.append(trusted[v])
            v += 1
    return out + over


def _close(score: float, to: float, share: float) -> bool:
    """Whether ``score`` is at least ``share`` of ``to`` (or not below it, when ``to`` is not positive)."""
    return score >= share * to if to > 0 else score >= to


__all__ = [
    "DEMOTION",
    "HUB",
    "NAMESPACE_SHARE",
    "NAME_CLASH",
    "SHADOW",
    "TRUSTED",
    "TRUST_LEVELS",
    "UNTRUSTED",
    "YIELD_SHARE",
    "cap_servers",
    "check_trust",
    "name_clashes",
    "tool_weight",
    "vouched",
]
