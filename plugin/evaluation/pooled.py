"""Scoring a tool ranking whose entries stand for groups of equivalent tools (``ToolHit.alternatives``).

Gold is the evaluated set's own judgements only: a tool of a pooled set (registered under its server's
namespace, ``server/name``) is never gold, even when it is a copy of a gold tool, unless an entry credits the gold
tool itself through its alternatives."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# one ranking: per entry, its first member's key, then its alternatives' keys
Entries = Sequence[Sequence[str]]


def first_member_run(entries: Mapping[str, Entries]) -> dict[str, list[str]]:
    """Each entry scored as its first member: the ranking an agent reads first."""
    return {qid: [members[0] for members in ranked if members] for qid, ranked in entries.items()}


def any_member_run(
    entries: Mapping[str, Entries], qrels: Mapping[str, Mapping[str, int]]
) -> dict[str, list[str]]:
    """Each entry scored as relevant when its first member or any alternative is gold: the entry takes the key of
    its first gold member that no earlier entry took (so one gold tool is credited once), else its first member's
    (a gold tool already credited counts as a miss).
    With no alternatives this is :func:`first_member_run`."""
    out: dict[str, list[str]] = {}
    for qid, ranked in entries.items():
        gold = {key for key, grade in qrels.get(qid, {}).items() if grade > 0}
        taken: set[str] = set()
        keys: list[str] = []
        for members in ranked:
            if not members:
                continue
            credited = next((m for m in members if m in gold and m not in taken), members[0])
            if credited in taken:  # a gold tool credited through an earlier entry's alternatives: never twice
                credited = f"{credited}#again{len(keys)}"  # "#" cannot be in a tool key: never gold
            taken.add(credited)
            keys.append(credited)
        out[qid] = keys
    return out


__all__ = ["any_member_run", "first_member_run"]
