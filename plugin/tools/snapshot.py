"""The catalog as last read from its collection: the tools, their stored hashes, which have views, the forms
their names are looked up by, and their flags (what their text reads as, name clashes and hubs, the latter two
worked out on first use). Only tool documents count; anything else in the collection is passed over."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..index import CollectionIndex, written_seq
from ..keys import SEQ_KEY, TOOL_HASH, TOOL_JUDGED, TOOL_KEY, TOOL_SPEC, TOOL_VIEW, TOOL_VIEWS_HASH
from ..untrusted import shown
from . import guard, judge_cache
from .documents import VIEW_REQUEST, VIEW_TOOL, is_view_id
from .exposure import judged, stored_flags
from .names import NameIndex, name_form
from .spec import ToolSpec, split_name, to_spec

_log = logging.getLogger("hopscout.tools")


@dataclass
class Snapshot:
    specs: dict[str, ToolSpec] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    # the write (sequence number) that stored each tool; 0 unknown
    written: dict[str, int] = field(default_factory=dict)
    view_hashes: dict[str, str] = field(default_factory=dict)  # tools with views → what their views are
    view_ids: list[str] = field(default_factory=list)  # the ids of those views
    by_name: dict[str, list[str]] = field(default_factory=dict)  # name_form of a name, key, split name → keys
    names: NameIndex = field(default_factory=NameIndex)  # the names by their tokens: partial names
    count: int = -1
    version: str = ""  # the store's write version when read (hopscout.index: every write stamps a new one)
    # how many snapshots its registry had read, this one included: the later read, the larger
    read_no: int = 0
    text_flags: dict[str, tuple[str, ...]] = field(default_factory=dict)  # what each tool's text reads as
    # worked out on the first search of this snapshot, from the catalog's own probes (hopscout.tools.hubness)
    hubs: set[str] | None = None
    hubs_for: int = 0  # requests logged when measured (measured again as more are: probes.RequestLog.due)
    hub_penalty: dict[str, float] = field(default_factory=dict)  # CSLS: radius - median radius, per tool
    centered: dict[str, float] = field(default_factory=dict)  # cosine to the requests' centroid over the bar
    twins: list[tuple[str, str]] = field(default_factory=list)  # copies across servers (.shadowing.twins)
    twins_over: dict[str, str] = field(
        default_factory=dict
    )  # the tools (key → hash) twins were looked for among
    first_seen: dict[str, int] = field(default_factory=dict)  # the sequence number of the write storing it
    # name clashes under the trust configuration of version ``clashes_for`` (True: squats a vouched tool's name)
    clashes: dict[str, bool] = field(default_factory=dict)
    shadows: dict[str, tuple[str, ...]] = field(default_factory=dict)  # the same: shadow → what it copies
    any_vouched: bool = False  # the same: whether any tool is vouched for (the owner's or a trusted server's)
    clashes_for: int = -1
    # equivalent tools of different servers (hopscout.tools.grouping.groups_of): key → its group; None: not yet
    groups: dict[str, tuple[str, ...]] | None = None
    index: CollectionIndex | None = field(default=None, repr=False, compare=False)  # the store read from
    # while this snapshot answers for a newer one being measured (Registry.guarded): its tools changed or removed
    # in the store since, held back from requests (scope.Allowed.withheld)
    withheld: frozenset[str] = frozenset()
    # the same: tools in the store since that this snapshot does not offer yet (a search reads as many more)
    unoffered: int = 0

    def flags(self, key: str) -> tuple[str, ...]:
        """Why the tool ``key`` looks hostile: its text's flags, then a name clash, a shadow, and hub."""
        flags = self.text_flags.get(key, ()) + ((guard.NAME_CLASH,) if key in self.clashes else ())
        flags += (guard.SHADOW,) if key in self.shadows else ()
        return flags + (guard.HUB,) if self.hubs and key in self.hubs else flags


def read_snapshot(
    index: CollectionIndex, collection: str, count: int, version: str, previous: Snapshot | None = None
) -> Snapshot:
    """The tool documents of ``index`` as a snapshot (of ``count`` documents at write ``version``): a tool's own
    (:data:`TOOL_VIEW` "tool", its spec readable and filed under its key) and its views (:data:`TOOL_VIEW`
    "request", id ``<key>#r<n>`` of a tool read here); anything else is passed over, with a warning when it is
    dressed as a tool document. A tool whose stored hash is the one it had in ``previous`` (an earlier snapshot
    of the same collection) keeps what ``previous`` parsed and judged of it: a catalog read again after a write
    parses only what the write changed (the hash is the tool's content hash: the same hash, the same tool)."""
    snap = Snapshot(count=count, version=version, index=index)
    tools, views = _listed(index)
    kept = _Kept(index)
    for doc_id, meta in tools:
        stored_hash = str(meta.get(TOOL_HASH, ""))
        shown_spec, flags = _reused(previous, doc_id, stored_hash) or _read(collection, doc_id, meta, kept)
        if shown_spec is None:
            continue
        tool = shown_spec.key
        snap.specs[tool] = shown_spec  # as an agent is shown it: text clean, schema capped
        snap.hashes[tool] = stored_hash
        snap.written[tool] = written_seq(meta)
        # meta[TOOL_TRUST], written before trust became configuration, is never read
        for form in {name_form(shown_spec.name), name_form(tool), name_form(split_name(shown_spec.name))}:
            snap.by_name.setdefault(form, []).append(tool)
        if flags:
            snap.text_flags[tool] = flags
    for doc_id, meta in views:
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
        snap.view_ids.append(doc_id)
    snap.names = NameIndex(snap.specs.values())
    kept.store(len(snap.specs))
    return snap


# every metadata key a snapshot reads of a tool document or a view (the test of this module's reads checks it
# against a read of whole metadata)
_LISTED = (TOOL_VIEW, TOOL_HASH, SEQ_KEY, TOOL_SPEC, TOOL_JUDGED, TOOL_KEY, TOOL_VIEWS_HASH)


def _listed(
    index: CollectionIndex,
) -> tuple[list[tuple[str, dict[str, Any]]], list[tuple[str, dict[str, Any]]]]:
    """``(id, metadata)`` of the tool documents and of the views: the keys a snapshot reads (:data:`_LISTED`) of
    every document in one read where the store lists them so (:meth:`CollectionIndex.key_values`, the embedded
    store: 50,000 tools in 1 s), else every document's whole metadata, page by page (8 s)."""
    listed = index.key_values(_LISTED)
    if listed is None:
        return index.metadatas({TOOL_VIEW: VIEW_TOOL}), _views(index, None)
    return (
        [(doc_id, meta) for doc_id, meta in listed if meta.get(TOOL_VIEW) == VIEW_TOOL],
        [(doc_id, meta) for doc_id, meta in listed if meta.get(TOOL_VIEW) == VIEW_REQUEST],
    )


class StoredTools(NamedTuple):
    """What the catalog stores of some tools: their hashes (readable tools only, as a snapshot reads them) and,
    for those with views, what their views are."""

    hashes: dict[str, str]
    view_hashes: dict[str, str]


def read_stored(index: CollectionIndex, collection: str, keys: Sequence[str]) -> StoredTools:
    """The stored hashes of the tools ``keys`` and of their views, read as :func:`read_snapshot` reads them but
    from those tools' documents only: what a register call diffs against costs the tools in the call, not the
    catalog."""
    hashes: dict[str, str] = {}
    for doc_id, doc in index.get(sorted(set(keys))).items():
        if (
            doc.metadata.get(TOOL_VIEW) == VIEW_TOOL
            and _stored_spec(collection, doc_id, doc.metadata) is not None
        ):
            hashes[doc_id] = str(doc.metadata.get(TOOL_HASH, ""))
    view_hashes = {
        str(meta[TOOL_KEY]): str(meta.get(TOOL_VIEWS_HASH, ""))
        for doc_id, meta in _views(index, sorted(hashes))
        if meta.get(TOOL_KEY) in hashes and is_view_id(doc_id, str(meta[TOOL_KEY]))
    }
    return StoredTools(hashes, view_hashes)


_KEYS_PER_FILTER = 500  # keys per "$in" filter: a register call of thousands of tools reads them in parts


def _views(index: CollectionIndex, keys: Sequence[str] | None) -> list[tuple[str, dict[str, Any]]]:
    """``(id, metadata)`` of the views of the tools ``keys`` (None: of every tool)."""
    if keys is None:
        return index.metadatas({TOOL_VIEW: VIEW_REQUEST})
    return [
        row
        for at in range(0, len(keys), _KEYS_PER_FILTER)
        for row in index.metadatas(
            {"$and": [{TOOL_VIEW: VIEW_REQUEST}, {TOOL_KEY: {"$in": list(keys[at : at + _KEYS_PER_FILTER])}}]}
        )
    ]


_Read = tuple[ToolSpec | None, tuple[str, ...]]  # a tool as shown, and its text's flags (None: unreadable)


def _reused(previous: Snapshot | None, doc_id: str, stored_hash: str) -> _Read | None:
    """The tool ``doc_id`` as ``previous`` read it, when its stored hash is unchanged since (None: read it)."""
    if previous is None or not stored_hash or previous.hashes.get(doc_id) != stored_hash:
        return None
    spec = previous.specs.get(doc_id)
    return (spec, previous.text_flags.get(doc_id, ())) if spec is not None else None


def _read(collection: str, doc_id: str, meta: Mapping[str, Any], kept: _Kept) -> _Read:
    spec = _stored_spec(collection, doc_id, meta)
    if spec is None:
        return None, ()
    flags = stored_flags(meta.get(TOOL_JUDGED), spec)  # judged when written, by the judge in force now
    if flags is not None:
        return spec, flags
    return kept.judged(spec)


class _Kept:
    """The judgements a read makes of tools stored without one the judge in force made, kept beside the
    collection's files (:mod:`.judge_cache`): read when the first such tool comes, stored again when the read
    judged any."""

    def __init__(self, index: CollectionIndex) -> None:
        self._path = index.files.tool_judgements
        self._stored: dict[str, tuple[str, ...]] | None = None
        self._taken: dict[str, tuple[str, ...]] = {}  # content hash → flags, of this read's clean tools
        self._made = False

    def judged(self, spec: ToolSpec) -> _Read:
        if self._stored is None:
            self._stored = judge_cache.load(self._path)
        content = spec.content_hash
        flags = self._stored.get(content)
        if flags is not None:  # kept of clean tools only: the tool as stored is the tool shown
            self._taken[content] = flags
            return spec, flags
        found = judged(spec)
        if found.spec == spec:
            self._taken[content] = found.flags
            self._made = True
        return found.spec, found.flags

    def store(self, tools: int) -> None:
        """If this read judged any tool, keep its judgements beside those kept before (a read after a write sees
        only the changed tools); once the file would hold more than twice the catalog's ``tools`` (judgements
        of tools long changed or removed), only this read's."""
        if not self._made:
            return
        before = self._stored or {}
        kept = dict(before) if len(before) + len(self._taken) <= 2 * tools else {}
        kept.update(self._taken)
        judge_cache.save(self._path, kept)


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
