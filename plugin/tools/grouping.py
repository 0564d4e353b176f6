"""Equivalent tools: the same function offered by several servers (``playwright_click`` and ``puppeteer_click``,
``filesystem/move_file`` and ``desktop-commander/move_file``), shown by find_tools as one entry, the best first
and the others as its alternatives, so that k entries cover k functions.

Two tools of different servers are *equivalent* when their stored document vectors are at least
:data:`GROUP_COSINE` close and either their names say the same once each server's own words are set aside, or
their descriptions hold the same content words (a Jaccard overlap of at least :data:`SAME_CONTENT` of at least
:data:`MIN_CONTENT_WORDS` words each). A group is a set of at most :data:`MAX_MEMBERS` tools of different servers
every two of which are equivalent (complete linkage, built greedily from the closest pairs): a chain of near
pairs never joins distinct functions, and each tool is in one group at most. The groups depend on the tools
alone (never on trust): worked out once per snapshot (:func:`groups_of`); who heads a group is decided per
request (:func:`lead`), from trust and flags."""

from __future__ import annotations

import functools
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from ..analysis import STOPWORDS
from ..errors import CollectionNotFoundError
from ..index import CollectionIndex
from ..keys import TOOL_VIEW
from .documents import VIEW_TOOL
from .snapshot import Snapshot
from .spec import ToolSpec, split_name

# Set on clean data only: the pooled catalog MetaTool + livemcp_catalog (726 tools) and, as a stress test where
# every tool counts as a server of its own, MetaTool (199) and Seal-Tools (4,076) alone. At these values the pool
# forms 15 groups, every one the same function (puppeteer / playwright, filesystem / desktop-commander, two arXiv
# servers' search_papers, ...); MetaTool alone none; Seal-Tools alone 31 (64 tools), mostly its own duplicates
# ("moveRobot" / "robotMovement"), costing find_tools 0.07 nDCG@10 on Seal-Tools out (654 requests). A content
# Jaccard of 0.8 let in tools one word apart ("power generation" / "solar power generation"), a cosine of 0.6
# names that mean different things on different servers.
GROUP_COSINE = 0.65  # document vectors (name, description and parameters) at least this close ...
SAME_CONTENT = 0.85  # ... and descriptions' content words overlapping this much (Jaccard), or the same name
MIN_CONTENT_WORDS = 2  # fewer content words say too little to call two descriptions the same
MAX_MEMBERS = 4  # a group's size at most: an entry stands for one function, not for a neighbourhood
# A name (or a description's rarest word) shared by more tools than this says nothing about any two of them, and
# its pairs would grow with the square of the catalog: passed over (the bound on the cost at 50K tools).
MAX_BUCKET = 256
_WORD = re.compile(r"\w+")
_LOCK = threading.Lock()

# key → the keys of its group (itself included, sorted); grouped tools only
Groups = dict[str, tuple[str, ...]]


class Entry(NamedTuple):
    """One entry of a folded ranking: the tool that heads it and the equivalent tools folded into it, best
    first."""

    key: str
    alternatives: tuple[str, ...] = ()


# Each name's and description's words are read once per process: a catalog measured again after a write reads the
# words of what changed (50,000 tools: a measure's groups 5.3 s -> 4.7 s).
_WORDS_KEPT = 100_000  # names and descriptions (strings only: no tool is kept whole)


@functools.lru_cache(maxsize=_WORDS_KEPT)
def _content(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower())) - STOPWORDS


def _name_words(spec: ToolSpec) -> frozenset[str]:
    """A tool's name in words less its server's (``puppeteer_click`` of server ``puppeteer`` → ``click``)."""
    return _words_of_name(spec.name, spec.namespace or "")


@functools.lru_cache(maxsize=_WORDS_KEPT)
def _words_of_name(name: str, server: str) -> frozenset[str]:
    return frozenset(split_name(name).split()) - set(split_name(server).split())


def equivalent(a: ToolSpec, b: ToolSpec) -> bool:
    """Whether two tools whose vectors are :data:`GROUP_COSINE` close do the same thing by their text: the same
    name once their servers' words are set aside, or descriptions with the same content words."""
    return _same_text(_name_words(a), _name_words(b), _content(a.description), _content(b.description))


def _same_text(na: frozenset[str], nb: frozenset[str], ca: frozenset[str], cb: frozenset[str]) -> bool:
    if na and na == nb:
        return True
    if min(len(ca), len(cb)) < MIN_CONTENT_WORDS:
        return False
    return len(ca & cb) / len(ca | cb) >= SAME_CONTENT


def candidate_pairs(specs: Sequence[ToolSpec], servers: Sequence[str | None]) -> set[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, of tools of different servers that pass the text half of :func:`equivalent`
    or may: those sharing their name in words, and those whose descriptions could hold :data:`SAME_CONTENT` of
    their content words in common (prefix filtering: under one order of the words, rarest first, two sets that
    close share a word among each one's first ``len - ceil(SAME_CONTENT x len) + 1``). No loop over all pairs:
    a 50K-tool catalog costs what its shared names and rare words cost (a name or word shared by more than
    :data:`MAX_BUCKET` tools pairs none of them)."""
    return _candidates([_name_words(s) for s in specs], [_content(s.description) for s in specs], servers)


def _candidates(
    names: Sequence[frozenset[str]], contents: Sequence[frozenset[str]], servers: Sequence[str | None]
) -> set[tuple[int, int]]:
    buckets: dict[frozenset[str], list[int]] = {}
    for i, words in enumerate(names):
        if words:
            buckets.setdefault(words, []).append(i)
    rarity = Counter(word for words in contents for word in words)
    for i, words in enumerate(contents):
        if len(words) >= MIN_CONTENT_WORDS:
            ordered = sorted(words, key=lambda w: (rarity[w], w))
            for word in ordered[: len(words) - math.ceil(SAME_CONTENT * len(words)) + 1]:
                buckets.setdefault(frozenset(("#", word)), []).append(i)  # "#": no name is a set holding "#"
    pairs: set[tuple[int, int]] = set()
    for members in buckets.values():
        if len(members) > MAX_BUCKET:
            continue
        for at, i in enumerate(members):
            for j in members[at + 1 :]:
                if servers[i] != servers[j]:
                    pairs.add((min(i, j), max(i, j)))
    return pairs


VectorsOf = Callable[[Sequence[str]], Mapping[str, Any]]  # keys → their vectors (array-like)
Edges = dict[tuple[str, str], float]  # (key, key) in order → their vectors' cosine: equivalent tools


def equivalent_edges(
    specs: Sequence[ToolSpec], vectors_of: VectorsOf, servers: Sequence[str | None] | None = None
) -> Edges:
    """The pairs of equivalent tools among ``specs`` with their cosines (``vectors_of(keys)``: the document
    vectors of the tools that need one, by key, asked once; a tool without one is left out; ``servers[i]``:
    ``specs[i]``'s server, its namespace unless given). Worked out whole each time: which tools are candidates
    depends on the whole catalog (a name or rare word shared by more than :data:`MAX_BUCKET` tools pairs none,
    and the words' rarity orders the prefixes), so pairs kept from an earlier answer could miss one a change
    elsewhere made a candidate."""
    server = list(servers) if servers is not None else [s.namespace for s in specs]
    if len(server) != len(specs):
        raise ValueError(f"equivalent_edges: {len(specs)} tools but {len(server)} servers")
    keys = [s.key for s in specs]
    names = [_name_words(s) for s in specs]
    contents = [_content(s.description) for s in specs]
    candidates = sorted(
        (i, j)
        for i, j in _candidates(names, contents, server)
        if _same_text(names[i], names[j], contents[i], contents[j])
    )
    wanted = sorted({keys[m] for pair in candidates for m in pair})
    found = vectors_of(wanted) if wanted else {}
    row = {key: at for at, key in enumerate(key for key in wanted if key in found)}
    pairs = [(i, j) for i, j in candidates if keys[i] in row and keys[j] in row]
    edges: Edges = {}
    if pairs:
        matrix = np.asarray([found[key] for key in row], dtype=np.float32)
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        left = matrix[[row[keys[i]] for i, _ in pairs]]
        right = matrix[[row[keys[j]] for _, j in pairs]]
        cosines = np.einsum("ij,ij->i", left, right)
        for (i, j), cos in zip(pairs, cosines.tolist()):
            if cos >= GROUP_COSINE:
                edges[(keys[i], keys[j]) if keys[i] < keys[j] else (keys[j], keys[i])] = cos
    return edges


def merge(edges: Mapping[tuple[str, str], float], server: Mapping[str, str | None]) -> Groups:
    """The groups :data:`MAX_MEMBERS`-bounded complete linkage makes of equivalent tools' ``edges`` (``server``:
    key → its server). Pairs are taken closest first; two groups merge when every pair across them is an edge,
    no server is in both and they hold :data:`MAX_MEMBERS` tools at most together."""
    group: dict[str, list[str]] = {}  # member → its group's members (one list shared by them)
    for a, b in sorted(edges, key=lambda pair: (-edges[pair], pair)):
        ga, gb = group.get(a, [a]), group.get(b, [b])
        if ga is gb or len(ga) + len(gb) > MAX_MEMBERS:
            continue
        if {server[m] for m in ga} & {server[m] for m in gb}:
            continue
        if any((min(x, y), max(x, y)) not in edges for x in ga for y in gb):
            continue
        merged = ga + gb
        for m in merged:
            group[m] = merged
    out: Groups = {}
    for members in group.values():
        keys = tuple(sorted(members))
        for key in keys:
            out[key] = keys
    return out


def find_groups(
    specs: Sequence[ToolSpec], vectors_of: VectorsOf, servers: Sequence[str | None] | None = None
) -> Groups:
    """The groups of equivalent tools among ``specs`` (:func:`equivalent_edges`, then :func:`merge`): each a set
    of at most :data:`MAX_MEMBERS` tools of different servers every two of which are equivalent."""
    server = list(servers) if servers is not None else [s.namespace for s in specs]
    edges = equivalent_edges(specs, vectors_of, server)
    return merge(edges, {s.key: srv for s, srv in zip(specs, server)})


def groups_of(snap: Snapshot) -> Groups:
    """The groups of ``snap``'s tools, worked out on first use from the vectors its store holds, then kept with
    it (a snapshot read without its store has none)."""
    if snap.groups is not None:
        return snap.groups
    with _LOCK:
        if snap.groups is None:
            index = snap.index
            snap.groups = _read_groups(snap, index) if index is not None else {}
        return snap.groups


def _read_groups(snap: Snapshot, index: CollectionIndex) -> Groups:
    def vectors_of(wanted: Sequence[str]) -> dict[str, Any]:
        stored = index.get(wanted, embeddings=True)
        return {key: doc.embedding for key, doc in stored.items() if doc.embedding is not None}

    try:
        return find_groups([snap.specs[key] for key in sorted(snap.specs)], vectors_of)
    except CollectionNotFoundError:  # dropped since it was read: the next snapshot is read without it
        return {}


def similar(snap: Snapshot, key: str, k: int) -> list[tuple[str, float]]:
    """The ``k`` tools of ``snap`` most like the tool ``key``, each with its cosine to it: its group's other
    members first (:func:`groups_of`), then its nearest neighbours in the store by document vector (empty when
    ``snap`` was read without its store or ``key`` has no vector)."""
    index = snap.index
    if index is None or key not in snap.specs or k < 1:
        return []
    mates = [m for m in groups_of(snap).get(key, ()) if m != key]
    stored = index.get([key, *mates], embeddings=True)
    if key not in stored or stored[key].embedding is None:
        return []
    own = np.asarray(stored[key].embedding, dtype=np.float32)
    matches = index.dense(own[None, :], k + len(mates) + 1, {TOOL_VIEW: VIEW_TOOL}, documents=False)[0]
    near = {m.id: float(m.score) for m in matches if m.id != key and m.id in snap.specs}
    for mate in mates:
        vector = stored[mate].embedding if mate in stored else None
        if mate not in near and vector is not None:
            other = np.asarray(vector, dtype=np.float32)
            near[mate] = float(own @ other / max(float(np.linalg.norm(own) * np.linalg.norm(other)), 1e-12))
    ranked = sorted(near, key=lambda m: (m not in mates, -near[m], m))
    return [(m, near[m]) for m in ranked[:k]]


def first(members: Sequence[str]) -> str:
    """The best-ranked member heads its group."""
    return members[0]


def lead(
    members: Sequence[str],
    *,
    named: Callable[[str], bool],
    vouched: Callable[[str], bool],
    flagged: Callable[[str], bool],
    shadows: Mapping[str, tuple[str, ...]],
) -> str:
    """Which of a group's ``members`` (best-ranked first) heads it: a tool the request named (its key, or a name
    it alone bears); else, never a shadow over a member it copies (``shadows``: shadow → the tools it copies), a
    vouched tool before one nobody vouches for, an unflagged one before a flagged one, then the best-ranked."""
    present = set(members)

    def standing(item: tuple[int, str]) -> tuple[bool, bool, bool, bool, int]:
        at, key = item
        copies = any(original in present for original in shadows.get(key, ()))
        return (not named(key), copies, not vouched(key), flagged(key), at)

    return min(enumerate(members), key=standing)[1]


def fold(
    ranked: Sequence[str],
    groups: Mapping[str, tuple[str, ...]],
    k: int,
    head: Callable[[Sequence[str]], str] = first,
) -> list[Entry]:
    """The first ``k`` entries of ``ranked`` (tool keys, best first) with each group's members folded into one
    entry at the place of its best-ranked member, headed by ``head(members)`` (members best first), the others
    its alternatives; members not in ``ranked`` are left out, and further tools fill the places folded ones
    leave."""
    position = {key: at for at, key in enumerate(ranked)}
    taken: set[str] = set()
    out: list[Entry] = []
    for key in ranked:
        if len(out) >= k:
            break
        if key in taken:
            continue
        members = sorted(
            (m for m in groups.get(key, (key,)) if m in position and m not in taken), key=position.__getitem__
        )
        if key not in members:  # a group that does not name the tool itself: it stands alone
            members = [key]
        taken.update(members)
        chosen = head(members) if len(members) > 1 else key
        out.append(Entry(chosen, tuple(m for m in members if m != chosen)))
    return out


__all__ = [
    "GROUP_COSINE",
    "MAX_BUCKET",
    "MAX_MEMBERS",
    "SAME_CONTENT",
    "Entry",
    "Groups",
    "candidate_pairs",
    "equivalent",
    "find_groups",
    "first",
    "fold",
    "groups_of",
    "lead",
    "similar",
]
