"""The catalog as last read from its collection: the tools, their stored hashes, which have views, the forms
their names are looked up by, and their flags (what their text reads as, name clashes and hubs, the latter two
worked out on first use). Only tool documents count; anything else in the collection is passed over."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..index import CollectionIndex
from ..keys import TOOL_HASH, TOOL_KEY, TOOL_SPEC, TOOL_VIEW, TOOL_VIEWS_HASH
from ..untrusted import shown
from . import guard
from .documents import VIEW_REQUEST, VIEW_TOOL, is_view_id
from .exposure import Exposure, judge
from .names import NameIndex, name_form
from .spec import ToolSpec, split_name, to_spec

_log = logging.getLogger("hopscout.tools")


@dataclass
class Snapshot:
    specs: dict[str, ToolSpec] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    view_hashes: dict[str, str] = field(default_factory=dict)  # tools with views → what their views are
    by_name: dict[str, list[str]] = field(default_factory=dict)  # name_form of a name, key, split name → keys
    names: NameIndex = field(default_factory=NameIndex)  # the names by their tokens: partial names
    count: int = -1
    version: str = ""  # the store's write version when read (hopscout.index: every write stamps a new one)
    text_flags: dict[str, tuple[str, ...]] = field(default_factory=dict)  # what each tool's text reads as
    # worked out on the first search of this snapshot, from the catalog's own probes (hopscout.tools.hubness)
    hubs: set[str] | None = None
    hubs_for: int = 0  # requests logged when measured (measured again as more are: probes.RequestLog.due)
    hub_penalty: dict[str, float] = field(default_factory=dict)  # CSLS: radius - median radius, per tool
    twins: list[tuple[str, str]] = field(default_factory=list)  # copies across servers (.shadowing.twins)
    first_seen: dict[str, int] = field(default_factory=dict)  # the sequence number of the write storing it
    # name clashes under the trust configuration of version ``clashes_for`` (True: squats a vouched tool's name)
    clashes: dict[str, bool] = field(default_factory=dict)
    shadows: dict[str, tuple[str, ...]] = field(default_factory=dict)  # the same: shadow → what it copies
    any_vouched: bool = False  # the same: whether any tool is vouched for (the owner's or a trusted server's)
    clashes_for: int = -1
    # equivalent tools of different servers (hopscout.tools.grouping.groups_of): key → its group; None: not yet
    groups: dict[str, tuple[str, ...]] | None = None
    index: CollectionIndex | None = field(default=None, repr=False, compare=False)  # the store read from

    def flags(self, key: str) -> tuple[str, ...]:
        """Why the tool ``key`` looks hostile: its text's flags, then a name clash, a shadow, and hub."""
        flags = self.text_flags.get(key, ()) + ((guard.NAME_CLASH,) if key in self.clashes else ())
        flags += (guard.SHADOW,) if key in self.shadows else ()
        return flags + (guard.HUB,) if self.hubs and key in self.hubs else flags


def read_snapshot(index: CollectionIndex, collection: str, count: int, version: str) -> Snapshot:
    """The tool documents of ``index`` as a snapshot (of ``count`` documents at write ``version``): a tool's own
    (:data:`TOOL_VIEW` "tool", its spec readable and filed under its key) and its views (:data:`TOOL_VIEW`
    "request", id ``<key>#r<n>`` of a tool read here); anything else is passed over, with a warning when it is
    dressed as a tool document."""
    snap = Snapshot(count=count, version=version, index=index)
    for doc_id, meta in index.metadatas({TOOL_VIEW: VIEW_TOOL}):
        spec = _stored_spec(collection, doc_id, meta)
        if spec is None:
            continue
        snap.specs[spec.key] = _exposure(spec).spec  # as an agent is shown it: text clean, schema capped
        snap.hashes[spec.key] = str(meta.get(TOOL_HASH, ""))
        # meta[TOOL_TRUST], written before trust became configuration, is never read
        for form in {name_form(spec.name), name_form(spec.key), name_form(split_name(spec.name))}:
            snap.by_name.setdefault(form, []).append(spec.key)
        flags = _text_flags(spec)
        if flags:
            snap.text_flags[spec.key] = flags
    for doc_id, meta in index.metadatas({TOOL_VIEW: VIEW_REQUEST}):
        key = meta.get(TOOL_KEY)
        if not isinstance(key, str) or not is_view_id(doc_id, key):
            _log.warning(
                "tool catalog %r: skipped view %s: its id is not <tool_key>#r<n>", collection, shown(doc_id)
            )
            continue
        if key not in snap.specs:
            _log.warning(
                "tool catalog %r: skipped view %s: no tool %s", collection, shown(doc_id), shown(key)
            )
            continue
        snap.view_hashes[key] = str(meta.get(TOOL_VIEWS_HASH, ""))
    snap.names = NameIndex(snap.specs.values())
    return snap


def _stored_spec(collection: str, doc_id: str, meta: Mapping[str, Any]) -> ToolSpec | None:
    """The tool a catalog document holds, checked as :func:`to_spec` checks a registered one; None, with a
    warning naming the document, when it is unreadable or filed under another key."""
    try:
        data = json.loads(meta[TOOL_SPEC])
        spec = to_spec(ToolSpec(**data))
    except (KeyError, TypeError, ValueError) as exc:  # InvalidArgumentError is a ValueError
        _log.warning(
            "tool catalog %r: skipped document %r: unreadable tool_spec (%s)", collection, doc_id, exc
        )
        return None
    if spec.key != doc_id:
        _log.warning("tool catalog %r: skipped document %r: it holds tool %r", collection, doc_id, spec.key)
        return None
    return spec


def _text_flags(spec: ToolSpec) -> tuple[str, ...]:
    """What reads as hostile in anything of the tool an agent reads (:func:`hopscout.tools.exposure.judge`):
    its description, orders in any of its strings, invisible characters, look-alike letters, a capped schema."""
    return _exposure(spec).flags


# By the stored tool's content hash: a catalog read again judges only what changed.
_JUDGED: dict[str, Exposure] = {}
_JUDGED_KEPT = 50_000


def _exposure(spec: ToolSpec) -> Exposure:
    digest = spec.content_hash
    found = _JUDGED.get(digest)
    if found is None:
        if len(_JUDGED) >= _JUDGED_KEPT:
            _JUDGED.clear()
        found = _JUDGED[digest] = judge(spec)
    return found
