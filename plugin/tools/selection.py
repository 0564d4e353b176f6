"""``select:NAME[,NAME]``: tools fetched by name, no search. An agent that already knows the names it wants (from a
pinned list, an earlier answer, the user) gets exactly those, in its order, with their flags and trust shown: a
name several servers list gives every tool bearing it (by key), and the call's filters still apply."""

from __future__ import annotations

from .names import selected_keys
from .results import ToolHit, ToolResults
from .search import ToolRequest


def select_tools(req: ToolRequest) -> ToolResults:
    """The tools ``req.plan.select`` names (:func:`~.names.selected_keys`; of a name several servers list, the
    vouched ones first) that the call's filter lets in, each once, at most ``max_k``, each scored 1; ``note`` names
    what selected no tool."""
    snap = req.snap
    groups, missing = selected_keys(req.plan.select or (), snap.by_name)
    keys: dict[str, None] = {}
    for group in groups:  # a name several servers list: the tools vouched for first
        keys.update(dict.fromkeys(sorted(group, key=lambda key: not req.policy.vouched(snap.specs[key]))))
    kept = [key for key in keys if key in snap.specs and req.allowed(snap.specs[key])]
    hits = [
        ToolHit(
            spec=snap.specs[key],
            score=1.0,
            query=req.plan.queries[0],
            flags=snap.flags(key),
            trust=req.policy.trust_of(snap.specs[key].namespace),
        )
        for key in kept[: req.settings.max_k]
    ]
    note = f"select: no tool named {', '.join(map(repr, missing))}" if missing else None
    return ToolResults(hits=hits, queries=req.plan.queries, generated=False, note=note)
