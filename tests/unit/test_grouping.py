"""hopscout.tools.grouping: which tools of different servers are one function (the text rule, the candidate
pairs against a brute-force reference, groups bounded and complete), how a ranking folds them into entries and
who heads an entry; and the fold inside ``search.rank`` (alternatives keep their scores and flags), on hand-made
vectors and snapshots (no model, no store)."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from hopscout import Settings
from hopscout.tools import grouping, guard
from hopscout.tools.grouping import (
    GROUP_COSINE,
    MAX_MEMBERS,
    SAME_CONTENT,
    Entry,
    candidate_pairs,
    equivalent,
    find_groups,
    fold,
    lead,
)
from hopscout.tools.planning import Plan
from hopscout.tools.policy import TrustPolicy
from hopscout.tools.scope import Allowed
from hopscout.tools.search import ToolRequest, rank
from hopscout.tools.snapshot import Snapshot
from hopscout.tools.spec import ToolSpec

CLICK_A = ToolSpec("playwright_click", "Click an element on the page", namespace="playwright")
CLICK_B = ToolSpec("puppeteer_click", "Click an element on the page", namespace="puppeteer")
MOVE_A = ToolSpec("move_file", "Move or rename files and directories.", namespace="filesystem")
MOVE_B = ToolSpec("move_file", "Rename or move a file; can also move folders.", namespace="desktop-commander")
PLAYER = ToolSpec("getPlayerStats", "Retrieve statistics about a football player", namespace="sport-a")
TEAM = ToolSpec("getTeamStats", "Retrieve statistics about a football team", namespace="sport-b")


def unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def at_cosine(cos: float) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors ``cos`` apart."""
    return unit(1.0, 0.0), unit(cos, float(np.sqrt(1 - cos * cos)))


def vectors_by_key(specs: list[ToolSpec], vectors: list[np.ndarray]) -> grouping.VectorsOf:
    table = {s.key: v for s, v in zip(specs, vectors)}
    return lambda keys: {key: table[key] for key in keys if key in table}


def test_one_function_by_its_name_or_its_words_not_by_a_word_apart() -> None:
    assert equivalent(CLICK_A, CLICK_B)  # the server's own word set aside, the same name
    assert equivalent(MOVE_A, MOVE_B)  # the same name, other words
    assert not equivalent(PLAYER, TEAM)  # 6 of 7 content words shared: under SAME_CONTENT
    assert 5 / 7 < SAME_CONTENT
    same_words = ToolSpec("countWords", "Count the words of a text", namespace="x")
    assert equivalent(same_words, ToolSpec("wordCount", "Count the words in a text", namespace="y"))
    assert not equivalent(ToolSpec("a", "Fetch", namespace="x"), ToolSpec("b", "Fetch", namespace="y"))


def test_candidate_pairs_are_exactly_those_of_a_brute_force_pass() -> None:
    """The prefix filter drops no pair the rule could pass (random descriptions over a small vocabulary, so many
    pairs are close), and pairs only tools of different servers."""
    rng = random.Random(7)
    vocabulary = [f"w{i}" for i in range(14)]
    specs = [
        ToolSpec(
            f"tool{i}_{rng.choice(['get', 'put'])}",
            " ".join(rng.sample(vocabulary, rng.randint(1, 9))),
            namespace=f"s{rng.randint(0, 5)}",
        )
        for i in range(160)
    ]
    servers = [s.namespace for s in specs]
    found = {pair for pair in candidate_pairs(specs, servers) if equivalent(specs[pair[0]], specs[pair[1]])}
    brute = {
        (i, j)
        for i, j in itertools.combinations(range(len(specs)), 2)
        if servers[i] != servers[j] and equivalent(specs[i], specs[j])
    }
    assert brute and found == brute


def test_groups_need_every_pair_close_distinct_servers_and_a_bound() -> None:
    a, b = at_cosine(0.9)
    assert find_groups([CLICK_A, CLICK_B], vectors_by_key([CLICK_A, CLICK_B], [a, b])) == {
        CLICK_A.key: (CLICK_A.key, CLICK_B.key),
        CLICK_B.key: (CLICK_A.key, CLICK_B.key),
    }
    far_a, far_b = at_cosine(GROUP_COSINE - 0.05)
    assert find_groups([CLICK_A, CLICK_B], vectors_by_key([CLICK_A, CLICK_B], [far_a, far_b])) == {}
    same_server = ToolSpec("pw_click", "Click an element on the page", namespace="playwright")
    assert find_groups([CLICK_A, same_server], vectors_by_key([CLICK_A, same_server], [a, b])) == {}
    assert find_groups([CLICK_A, CLICK_B], vectors_by_key([CLICK_A], [a])) == {}  # no vector: left out
    clicks = [ToolSpec("click", "Click an element", namespace=f"s{i}") for i in range(MAX_MEMBERS + 2)]
    groups = find_groups(clicks, vectors_by_key(clicks, [unit(1.0, 0.01 * i) for i in range(len(clicks))]))
    assert groups and max(map(len, groups.values())) <= MAX_MEMBERS
    assert all(len({k.split("/")[0] for k in g}) == len(g) for g in groups.values())


def test_a_chain_of_close_pairs_does_not_join_its_ends() -> None:
    x, y, z = (ToolSpec("search", "Search", namespace=f"s{i}") for i in range(3))
    # x~y and y~z close, x and z not: y joins the closer one, the other end stays alone
    vx, vy, vz = unit(1.0, 0.0), unit(0.8, 0.6), unit(0.28, 0.96)
    assert float(vx @ vy) >= GROUP_COSINE and float(vy @ vz) >= GROUP_COSINE and float(vx @ vz) < GROUP_COSINE
    groups = find_groups([x, y, z], vectors_by_key([x, y, z], [vx, vy, vz]))
    assert {len(g) for g in groups.values()} == {2} and len(set(groups.values())) == 1


def test_fold_keeps_k_entries_each_at_its_best_member_s_place() -> None:
    groups = {"a": ("a", "c"), "c": ("a", "c"), "b": ("b", "d"), "d": ("b", "d")}
    assert fold(["a", "b", "c", "d", "e", "f"], groups, 3) == [
        Entry("a", ("c",)),
        Entry("b", ("d",)),
        Entry("e"),
    ]
    assert fold(["c", "b", "a"], groups, 5) == [Entry("c", ("a",)), Entry("b")]  # d not ranked: left out
    assert fold(["a", "b", "c"], {}, 2) == [Entry("a"), Entry("b")]
    assert fold(["a", "x", "c"], groups, 2, head=lambda members: members[-1]) == [
        Entry("c", ("a",)),
        Entry("x"),
    ]


def test_who_heads_a_group() -> None:
    def head(
        members: list[str],
        named: str = "",
        vouched: str = "",
        flagged: str = "",
        shadows: dict[str, tuple[str, ...]] | None = None,
    ) -> str:  # the one-letter keys named, vouched for or flagged
        return lead(
            members,
            named=lambda key: key in named,
            vouched=lambda key: key in vouched,
            flagged=lambda key: key in flagged,
            shadows=shadows or {},
        )

    assert head(["u", "v"]) == "u"  # the best-ranked
    assert head(["u", "v"], vouched="v") == "v"  # a vouched tool before an untrusted one
    assert head(["u", "v"], flagged="u") == "v"  # an unflagged one before a flagged one
    assert head(["u", "v"], vouched="uv", flagged="u") == "v"
    assert head(["s", "o"], shadows={"s": ("o",)}) == "o"  # a shadow never heads over what it copies
    assert head(["s", "o"], vouched="s", shadows={"s": ("o",)}) == "o"
    assert head(["s", "x"], shadows={"s": ("o",)}) == "s"  # its original is not in the group
    assert head(["u", "v"], named="v", vouched="u") == "v"  # the request named it by its key


def request(snap: Snapshot, k: int, *, policy: TrustPolicy | None = None, group: bool = True) -> ToolRequest:
    return ToolRequest(
        plan=Plan(["click the button"], False, False, None),
        k=k,
        allowed=Allowed(None, None),
        snap=snap,
        policy=policy or TrustPolicy(),
        defend=True,
        settings=Settings(group_tools=group),
    )


def snapshot(*specs: ToolSpec) -> Snapshot:
    snap = Snapshot(count=len(specs), specs={s.key: s for s in specs})
    snap.hubs = set()
    return snap


def test_rank_folds_equivalent_tools_and_refills_to_k() -> None:
    snap = snapshot(CLICK_A, CLICK_B, MOVE_A, PLAYER)
    snap.groups = {CLICK_A.key: (CLICK_A.key, CLICK_B.key), CLICK_B.key: (CLICK_A.key, CLICK_B.key)}
    snap.text_flags = {CLICK_A.key: ("instructions",)}
    scores = {CLICK_A.key: 0.9, CLICK_B.key: 0.8, MOVE_A.key: 0.5, PLAYER.key: 0.4}
    trusted = TrustPolicy({"puppeteer": "trusted", "playwright": "trusted"})  # never demoted: flags shown
    hits = rank([scores], request(snap, 2, policy=trusted))
    assert [h.key for h in hits] == [CLICK_B.key, MOVE_A.key]  # the unflagged member heads; move_file fills
    (alternative,) = hits[0].alternatives
    assert (
        alternative.key == CLICK_A.key and alternative.flags == ("instructions",) and alternative.score == 0.9
    )
    off = rank([scores], request(snap, 2, policy=trusted, group=False))
    assert [h.key for h in off] == [CLICK_A.key, CLICK_B.key] and not off[0].alternatives
    snap.text_flags = {}
    (hit,) = rank([scores], request(snap, 1, policy=TrustPolicy({"puppeteer": "trusted"})))
    assert hit.key == CLICK_B.key and [a.key for a in hit.alternatives] == [CLICK_A.key]  # vouched heads
    assert hit.alternatives[0].trust == guard.UNTRUSTED
    assert Snapshot().groups is None and grouping.groups_of(Snapshot()) == {}  # no store: nothing grouped


@pytest.mark.parametrize("k", [1, 3])
def test_rank_never_returns_more_than_k_entries(k: int) -> None:
    specs = [ToolSpec("click", "Click an element", namespace=f"s{i}") for i in range(6)]
    snap = snapshot(*specs)
    snap.groups = {s.key: tuple(x.key for x in specs[:3]) for s in specs[:3]}
    hits = rank([{s.key: 1.0 - 0.1 * i for i, s in enumerate(specs)}], request(snap, k))
    assert len(hits) == k and len({h.key for h in hits}) == k
    assert sum(1 + len(h.alternatives) for h in hits) == (k + 2 if k > 1 else 3)
