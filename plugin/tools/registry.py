"""A catalog's documents and the snapshot read from them: reading (again only when the store was written
since), flags, and the write path (register: diff by hash, embed outside the lock, write under it; remove).

Two locks: ``_lock`` guards the snapshot and the store's documents, held to read or to write, never to embed;
``_writing`` lets one register / remove run at a time through all its steps. A request that finds ``_lock``
held is answered from the last snapshot flagged in full (:meth:`Registry.guarded`).

Costs at gateway scale: a register call reads only the stored hashes of the tools it is given
(:func:`.snapshot.read_stored`), and a catalog read again parses only the tools whose stored hash changed
(:func:`.snapshot.read_snapshot`'s ``previous``); hubness measured again as requests are logged runs in a
thread of its own, one at a time, while requests are answered with the last measure."""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..engine import Engine
from ..errors import CollectionNotFoundError, ToolCatalogCollectionError
from ..index import CollectionIndex
from ..keys import KIND_TOOLS, META_KIND, META_VERSION, TOOL_KEY, TOOL_VIEW
from . import grouping, guard, hubness, measure_cache, pair_cache, shadowing
from .documents import VIEW_REQUEST, VIEW_TOOL, indexed_hash, tool_documents, views_hash
from .expansion import Expansion
from .intake import ReadTools
from .policy import TrustPolicy
from .probes import MAX_PROBES, MAX_REQUESTS, CatalogProbes, read_probes
from .results import RegisterReport
from .search import VIEW_SHARE, FirstToolScores, probe_hubness
from .snapshot import Snapshot, StoredTools, read_snapshot, read_stored
from .spec import ToolSpec

_log = logging.getLogger("hopscout.tools")
# Background measures (daemon threads) stop at their next step when the interpreter exits, and exit waits for them
# up to this long: a daemon thread still in numpy or the store while Python finalises crashed the process
# (SIGSEGV at exit, seen at 50K tools, where a measure takes seconds).
_EXIT_WAIT_S = 60.0
_EXITING = threading.Event()
# A changed catalog of this many tools or more is measured in the background, the last measured snapshot
# answering meanwhile (Registry.guarded); smaller ones in the request that finds the change.
BACKGROUND_MEASURE_TOOLS = 10_000
_MEASURES: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


class _Stopped(Exception):
    """A background measure stopped between two steps: its catalog closed, or the process is exiting."""


@atexit.register
def _stop_measures_at_exit() -> None:
    _EXITING.set()
    for thread in list(_MEASURES):
        thread.join(_EXIT_WAIT_S)


Expander = Callable[[Sequence[ToolSpec]], Expansion]  # writes views of the tools it is given


class Registry:
    """The tools of one catalog collection, read and written under ``policy`` (the catalog's trust); ``probe``
    (the search's first stage) scores the catalog's own probes to find hubs."""

    def __init__(
        self,
        engine: Engine,
        collection: str,
        policy: TrustPolicy,
        probe: FirstToolScores,
        *,
        background: bool = True,
    ) -> None:
        """``background=False`` measures hubness again inside the request that finds it due (as the first
        measure always is): slower requests, but a run whose every request sees the same measures."""
        self._engine = engine
        self.collection = collection
        self.policy = policy
        self.probe = probe
        self.background = background
        self._snapshot: Snapshot | None = None  # the catalog as last read (None: read it again)
        self._last_read: Snapshot | None = None  # the same, kept when stale: what a new read reuses
        self._flagged: Snapshot | None = None  # the last one read with its flags: what requests fall back on
        self._probes: CatalogProbes | None = None  # the last measure's tool vectors: what the next one reuses
        self._lock = threading.RLock()
        self._writing = threading.RLock()
        self._remeasure: threading.Thread | None = None  # the measure taken again in the background, if any
        # its result (with a first measure's clashes), set on the next request
        self._remeasured: tuple[Snapshot, Measure, Clashes | None] | None = None
        self._withheld_for: Snapshot | None = None  # the snapshot the answering one's withheld tools are for
        self._failed: Snapshot | None = None  # a snapshot whose first measure failed in the background
        self._reads = 0  # snapshots read so far: each one's read_no
        self._closed = False

    # -- reading ------------------------------------------------------------------------------------
    def load(self, force: bool = False) -> Snapshot:
        """The catalog as the store holds it now (read again only when the store was written since, or
        ``force``)."""
        with self._lock:
            try:
                index = self._engine.index(self.collection)
            except CollectionNotFoundError:
                self._snapshot = Snapshot(count=0)
                return self._snapshot
            version = _store_version(index)  # any write, here or by another process, changes it
            count = index.count()
            known = self._snapshot
            if not force and known is not None and (known.count, known.version) == (count, version):
                return known
            self._snapshot = read_snapshot(index, self.collection, count, version, previous=self._last_read)
            self._reads += 1
            self._snapshot.read_no = self._reads
            self._last_read = self._snapshot
            return self._snapshot

    def guarded(self, wait: bool = False, remeasure: bool = True) -> Snapshot:
        """The snapshot with its flags and priors: hubs and their CSLS penalties (:mod:`.hubness`: the catalog's
        own probes, run once per snapshot and again as requests are logged), then name clashes and shadows under
        the trust configuration now (:mod:`.shadowing`: twins found with the hubs). While another thread holds
        the catalog (a register writing, or a request reading a changed catalog), the last snapshot flagged in
        full answers: a request never waits behind a registration (only the very first one, with nothing to
        fall back on, waits). A new catalog's first measure is taken in the request, so it is defended from its
        first request; so is a changed catalog's, below :data:`BACKGROUND_MEASURE_TOOLS` tools. From that size
        on (seconds of work: 7-11 s at 50,000 tools) a changed catalog is measured in the background and the
        last snapshot flagged in full answers meanwhile, its tools changed or removed since held back
        (:attr:`Snapshot.withheld`), new ones not yet offered. Measures taken again as requests are logged run
        in the background too (``background``). ``wait``: the catalog as it is now, measured (waiting for a
        background measure): what inspection (flags, similar tools) reads. ``remeasure=False``: a measure due as
        requests are logged is not started (the next request starts it)."""
        while True:
            if wait:
                self._join()  # without the lock: a background measure takes it to hand its result over
            if not self._lock.acquire(blocking=False):
                last = self._flagged
                if last is not None and not wait:
                    return last
                self._lock.acquire()
            try:
                self._set_remeasured()
                snap = self.load()
                if snap.hubs is None:
                    if not wait and self._in_background(snap):
                        if not self._measuring():  # one at a time: this one is started when that one ends
                            snap.hubs_for = self.probe.requests.total
                            self._measure_later(snap, again=False)
                        return self._served(snap)
                    if wait and self._measuring():
                        continue  # released (finally), joined, then read again
                    snap.hubs_for = self.probe.requests.total
                    # raising, it leaves the snapshot unmeasured: the next request measures it
                    self._measure(snap)
                    if snap.hubs is None:
                        snap.hubs = set()  # nothing to measure (no tools): for good
                elif remeasure and self.probe.requests.due(snap.hubs_for) and not self._measuring():
                    snap.hubs_for = self.probe.requests.total
                    if self.background and not self._closed:
                        self._measure_later(snap, again=True)
                    else:
                        self._measure(snap, again=True)
                return self._flag(snap)
            finally:
                self._lock.release()

    def _flag(self, snap: Snapshot) -> Snapshot:
        """Name clashes and shadows of the measured ``snap`` under the trust configuration now; from now on the
        snapshot requests fall back on (called holding ``_lock``), its tools changed since in the catalog as
        last read held back (a background measure's snapshot, set when a later one was read meanwhile)."""
        self._clash(snap)
        latest = self._last_read
        if latest is None or latest is snap:
            snap.withheld, snap.unoffered, self._withheld_for = frozenset(), 0, None
        else:  # before it answers: a request finding the lock held takes it as it is
            snap.withheld, snap.unoffered = _changed(snap, latest), _unoffered(snap, latest)
            self._withheld_for = latest
        self._flagged = snap
        return snap

    def _clash(self, snap: Snapshot) -> None:
        """Set name clashes and shadows on the measured ``snap``, unless they are set under the trust
        configuration now."""
        if snap.clashes_for != self.policy.version:
            self._clashes(snap.specs, snap.twins, snap.first_seen).apply(snap)

    def _clashes(
        self, specs: Mapping[str, ToolSpec], twins: list[tuple[str, str]], first_seen: Mapping[str, int]
    ) -> Clashes:
        """Name clashes and shadows of ``specs`` (with their ``twins`` and when each was first stored) under the
        trust configuration now (50,000 tools, 241,603 twin pairs: 2 s)."""
        version = self.policy.version  # read first: a change meanwhile makes these stale, not wrongly current
        trust = {key: self.policy.trust_of(spec.namespace) for key, spec in specs.items()}
        return Clashes(
            version=version,
            clashes=guard.name_clashes(specs.values(), trust),
            shadows=shadowing.shadows(twins, specs, trust, first_seen),
            any_vouched=any(guard.vouched(s.namespace, trust[k]) for k, s in specs.items()),
        )

    def _in_background(self, snap: Snapshot) -> bool:
        """Whether the unmeasured ``snap`` is measured in the background while the last snapshot flagged in full
        answers: a catalog of :data:`BACKGROUND_MEASURE_TOOLS` tools or more, with a snapshot to answer from,
        unless its background measure failed (then a request takes it, and sees the error)."""
        return (
            self.background
            and not self._closed
            and self._flagged is not None
            and len(snap.specs) >= BACKGROUND_MEASURE_TOOLS
            and self._failed is not snap
        )

    def _served(self, pending: Snapshot) -> Snapshot:
        """The last snapshot flagged in full, answering while ``pending`` (the catalog as it is now) is measured:
        its tools changed or removed in ``pending`` withheld (:func:`_changed`); flags under the trust
        configuration now (a register may have changed a server's trust). Called holding ``_lock``."""
        last = self._flagged
        assert last is not None  # _in_background and the caller checked it
        if self._withheld_for is not pending:
            last.withheld, last.unoffered = _changed(last, pending), _unoffered(last, pending)
            self._withheld_for = pending
        self._clash(last)
        return last

    def _measure(self, snap: Snapshot, again: bool = False) -> None:
        """The trust-free signals of ``snap``: hubs and CSLS penalties over the requests logged so far and the
        stored views and documents, twins, and when each tool was first stored."""
        found = self._measured(snap, again)
        if found is not None:
            found.apply(snap)

    def _measured(self, snap: Snapshot, again: bool = False, background: bool = False) -> Measure | None:
        """:meth:`_measure`'s signals, not yet set on ``snap`` (None: nothing to measure). Twins and equivalent
        tools (the groups) depend on the snapshot's tools alone: a measure taken ``again`` keeps them. A first
        measure pairs for twins only the tools changed since the last twins found, this process's or those
        stored beside the collection (:mod:`.pair_cache`), then stores its own; it works the groups out from the
        tool vectors it read (:func:`grouping.equivalent_edges`). One in
        the ``background`` stops between steps once the catalog closes or the process exits (:class:`_Stopped`)."""
        if not snap.specs:
            return None
        try:
            index = self._engine.index(self.collection)
        except CollectionNotFoundError:
            return None
        logged = self.probe.requests.recent()
        # kept: a first measure over no requests, of tools whose stored hashes all say what they are
        keep = not again and not logged and all(snap.hashes.values()) and all(snap.view_hashes.values())
        stamp = self._measure_stamp(index, snap) if keep else ""
        if stamp:
            kept = self._kept_measure(index, snap, stamp)
            if kept is not None:
                return kept
        probes = read_probes(index, snap, logged, last=self._probes)
        self._probes = probes
        self._step(background)
        found = probe_hubness(self.probe, snap, probes)
        self._step(background)
        asked = [
            i for i, owner in enumerate(probes.owners) if not owner
        ]  # the logged requests among the probes
        over = {key: snap.hashes.get(key, "") for key in probes.keys}
        groups: grouping.Groups | None = None
        if again:
            twins, over = snap.twins, snap.twins_over
        else:  # the twins last found hold among the tools unchanged since: pair the rest only
            last = self._last_pairs(index)
            settled = {k for k, h in over.items() if h and last.over.get(k) == h}
            specs = [snap.specs[key] for key in probes.keys]
            twins = shadowing.twins(specs, probes.vectors, settled=settled, known=last.twins)
            if over != last.over:
                pair_cache.save(index.files.tool_pairs, pair_cache.Pairs(over, twins))
            self._step(background)
            row = {key: i for i, key in enumerate(probes.keys)}
            every = [snap.specs[key] for key in sorted(snap.specs)]
            groups = grouping.merge(
                grouping.equivalent_edges(
                    every, lambda keys: {k: probes.vectors[row[k]] for k in keys if k in row}
                ),
                {s.key: s.namespace for s in every},
            )
        if stamp and groups is not None and self._unwritten_since(index, snap):
            # a measure over no requests, of the store as the snapshot read it: a new process's first one
            measure_cache.save(
                index.files.tool_measure, stamp, probes.keys, found.hubs, found.penalty, groups
            )
        return Measure(
            hubs=set(found.hubs),
            penalty=found.penalty,
            centered=hubness.centering(probes.probe_vectors[asked], probes.vectors, probes.keys),
            twins=twins,
            twins_over=over,
            groups=groups,
            first_seen=probes.first_seen,
        )

    def _measure_stamp(self, index: CollectionIndex, snap: Snapshot) -> str:
        """What a first measure of ``snap`` over no requests is stored under (:func:`measure_cache.stamp`)."""
        settings = self._engine.settings
        rules = (
            # how the probes are searched (FirstToolScores), and over what store (the lexical backend's file)
            float(self._engine.fusion_weight(index)),
            settings.search_mode,
            settings.max_k,
            settings.candidates,
            index.files.bm25.name,
            snap.count,  # documents the catalog's snapshot passed over count in BM25 and take places too
            # what the measure reads of them: probes, hubness, groups
            (MAX_PROBES, MAX_REQUESTS, VIEW_SHARE),
            (hubness.HUB_K, hubness.HUB_LIFT, hubness.HUB_SHARE, hubness.HUB_MIN_TOOLS, hubness.RADIUS_K),
            (
                grouping.GROUP_COSINE,
                grouping.SAME_CONTENT,
                grouping.MIN_CONTENT_WORDS,
                grouping.MAX_MEMBERS,
                grouping.MAX_BUCKET,
            ),
        )
        return measure_cache.stamp(index.collection.id, rules, snap.hashes, snap.view_hashes)

    @staticmethod
    def _unwritten_since(index: CollectionIndex, snap: Snapshot) -> bool:
        """Whether the store is still as ``snap`` read it: a measure reads the store as it is while it runs, so
        one that a write (of any process) overlapped is not stored under ``snap``'s stamp."""
        return _store_version(index) == snap.version

    def _kept_measure(self, index: CollectionIndex, snap: Snapshot, stamp: str) -> Measure | None:
        """The first measure of ``snap`` as a process stored it (:mod:`.measure_cache`), with the twins the pairs
        file holds for these very tools; None when either is missing or was made over another catalog. No tool
        vector is read: the next measure (after a write, or as requests are logged) reads them all."""
        kept = measure_cache.load(index.files.tool_measure, stamp)  # first: another stamp is told cheaply
        if kept is None:
            return None
        over = {key: snap.hashes.get(key, "") for key in snap.specs}
        pairs = pair_cache.load(index.files.tool_pairs)
        if pairs is None or dict(pairs.over) != over:
            return None
        return Measure(
            hubs=set(kept.hubs),
            penalty=dict(kept.penalty),
            centered={},  # centering reads logged requests: none yet
            twins=list(pairs.twins),
            twins_over=over,
            groups=dict(kept.groups),
            first_seen={key: snap.written.get(key, 0) for key in sorted(snap.specs)},
        )

    def _last_pairs(self, index: CollectionIndex) -> pair_cache.Pairs:
        """The twins the last measure found: this process's, else those a process stored beside the
        collection's files (:mod:`.pair_cache`), else none."""
        last = self._flagged
        if last is not None and last.twins_over:
            return pair_cache.Pairs(last.twins_over, last.twins)
        return pair_cache.load(index.files.tool_pairs) or pair_cache.Pairs()

    def _step(self, background: bool) -> None:
        """Between two steps of a background measure: stop when the catalog closed or the process exits."""
        if background and (self._closed or _EXITING.is_set()):
            raise _Stopped

    def _measuring(self) -> bool:
        return self._remeasure is not None and self._remeasure.is_alive()

    def _join(self) -> None:
        """Wait for a background measure to end (called without ``_lock``: it takes it to hand its result over)."""
        thread = self._remeasure
        if thread is not None:
            thread.join()

    def _measure_later(self, snap: Snapshot, again: bool) -> None:
        """Measure ``snap`` in a thread of its own (called holding ``_lock``; one at a time): ``again``, as
        requests are logged; else its first measure."""
        # a daemon: a process exiting mid-measure waits for its current step only (see _EXIT_WAIT_S)
        thread = threading.Thread(
            target=self._measure_in_background,
            args=(snap, again),
            name=f"hopscout-hubness-{self.collection}",
            daemon=True,
        )
        self._remeasure = thread
        _MEASURES.add(thread)
        thread.start()

    def _measure_in_background(self, snap: Snapshot, again: bool) -> None:
        try:
            found = self._measured(snap, again=again, background=True)
        except _Stopped:
            return
        except Exception:  # noqa: BLE001 - a thread's exception reaches no caller: logged; the last measure stays
            # after close, the store may be closed under the measure: expected, so not a warning
            log = _log.debug if self._closed else _log.exception
            log(
                "tool catalog %r: measuring hubness again failed; the last measure stays"
                if again
                else "tool catalog %r: measuring the changed catalog failed; the next request measures it",
                self.collection,
                exc_info=True,
            )
            if not again:
                with self._lock:
                    self._failed = snap  # the next request measures it, and sees the error
            return
        if found is not None:
            # a first measure's snapshot will answer requests: its clashes and shadows too are worked out here,
            # not in the request that sets it
            clashes = None if again else self._clashes(snap.specs, found.twins, found.first_seen)
            with self._lock:
                if not self._closed:
                    self._remeasured = snap, found, clashes

    def _set_remeasured(self) -> None:
        """Set a background measure's result on its snapshot, between two requests (called holding ``_lock``):
        a request, or a batch of them, sees one measure throughout. A first measure's snapshot then answers
        requests (:meth:`_flag`), unless one read after it already does."""
        if self._remeasured is not None:
            (snap, found, clashes), self._remeasured = self._remeasured, None
            first = snap.hubs is None
            found.apply(snap)
            if clashes is not None and clashes.version == self.policy.version:
                clashes.apply(snap)
            last = self._flagged  # not put over a snapshot read after it and measured meanwhile
            if first and (last is None or snap.read_no > last.read_no):
                self._flag(snap)

    def wait_measured(self, timeout: float | None = None) -> bool:
        """Wait for a measure being taken in the background, then put the catalog as it is now in force,
        measured (tests, and evaluations whose figures must not depend on timing: call it after a write, and
        between batches of requests); a measure due again as requests are logged is left for the next request to
        start. Whether that was done (False: ``timeout`` seconds passed first). A catalog changed since its last
        measure is measured in the call (past ``timeout``; its error, if any, is raised)."""
        thread = self._remeasure
        if thread is not None:
            thread.join(timeout)
        if self._measuring():
            return False
        self.guarded(wait=True, remeasure=False)  # a due one: the next request starts it, as without waiting
        return True

    def close(self) -> None:
        """Start no more background measures and drop the result of one running (it is not waited for: it
        stops at its next step)."""
        self._closed = True
        self._remeasured = None

    # -- writing ------------------------------------------------------------------------------------
    def register(
        self,
        read: ReadTools,
        given: Mapping[str, list[str]],
        *,
        expand: Expander | None,
        namespace: str | None,
        trust: str | None,
    ) -> RegisterReport:
        """Write the tools of ``read`` that are new or changed (by :func:`indexed_hash`), the ``given`` views
        that differ from a tool's (key → requests), and, with ``expand``, views for tools ``given`` does not
        cover that are changed or have none; ``trust`` (checked) becomes ``namespace``'s level first."""
        specs = read.specs
        with self._writing:
            if trust is not None:
                with self._lock:
                    self.policy.set_trust(namespace, trust)
            stored = self._stored([s.key for s in specs])
            added = [s for s in specs if s.key not in stored.hashes]
            replaced = [
                s for s in specs if s.key in stored.hashes and stored.hashes[s.key] != indexed_hash(s)
            ]
            changed = {s.key for s in added + replaced}
            unchanged = [s for s in specs if s.key not in changed]
            new_views = {  # given views that differ from what the tool has now
                key: texts
                for key, texts in given.items()
                if key in changed or stored.view_hashes.get(key) != views_hash(texts)
            }
            note = None
            if expand is not None:
                want = [
                    s
                    for s in specs
                    if s.key not in given and (s.key in changed or s.key not in stored.view_hashes)
                ]
                expansion = expand(want)
                note = expansion.note
                new_views.update(expansion.views)
            stale = [s.key for s in replaced]
            stale_views = [key for key in new_views if key not in changed and key in stored.view_hashes]
            docs = tool_documents(added + replaced, new_views, {s.key: s for s in specs})
            if docs.ids or stale or stale_views:
                self._catalog_index(create=False)  # refuses a collection of documents before any work
            vectors = self._engine.embed(docs.texts) if docs.ids else None  # the long step: no lock held
            with self._lock:  # the short one: requests meanwhile are answered from the catalog as it was
                index = self._catalog_index(create=bool(docs.ids))
                if index is not None:
                    if stale:
                        index.delete(index.ids({TOOL_KEY: {"$in": stale}}))
                    if stale_views:
                        index.delete(
                            index.ids({"$and": [{TOOL_KEY: {"$in": stale_views}}, {TOOL_VIEW: VIEW_REQUEST}]})
                        )
                    if docs.ids:  # tools are found in one hop: no key phrases for the phrase hop
                        self._engine.write(
                            index, docs.ids, docs.texts, docs.metadatas, phrases=False, vectors=vectors
                        )
                self._snapshot = None  # read again on next use; _last_read keeps what is unchanged
        return RegisterReport(
            added=tuple(s.key for s in added),
            replaced=tuple(s.key for s in replaced),
            unchanged=tuple(s.key for s in unchanged),
            expanded=tuple(k for k, v in new_views.items() if v),
            note=note,
            skipped=read.skipped,
        )

    def remove(self, keys: Sequence[str]) -> int:
        """Delete the tools ``keys`` and their views; how many of them were registered."""
        with self._writing, self._lock:
            present = [k for k in keys if k in self._stored(keys).hashes]
            index = self._catalog_index(create=False)
            if index is not None and keys:  # also an unreadable document under one of these keys (skipped)
                found = set(index.ids({TOOL_KEY: {"$in": list(keys)}})) | set(index.get(keys))
                index.delete(sorted(found))
            self._snapshot = None
        return len(present)

    def _stored(self, keys: Sequence[str]) -> StoredTools:
        """What the store holds of the tools ``keys`` now (their documents only, not the catalog's)."""
        with self._lock:
            try:
                index = self._engine.index(self.collection)
            except CollectionNotFoundError:
                return StoredTools({}, {})
            return read_stored(index, self.collection, keys)

    def _catalog_index(self, create: bool) -> CollectionIndex | None:
        """The catalog's index (None if it does not exist and ``create`` is False), marked as a tool catalog:
        from then on ``Scout.add``, ``search`` and ``delete`` refuse it. A collection not yet marked is taken
        over only when it holds nothing but tool documents (a catalog made before the mark, or an empty one):
        one holding documents raises ToolCatalogCollectionError, and stays as it is."""
        try:
            index = self._engine.index(self.collection, create=create)
        except CollectionNotFoundError:
            return None
        if index.metadata().get(META_KIND) == KIND_TOOLS:
            return index
        total = index.count()
        tools = len(index.ids({TOOL_VIEW: {"$in": [VIEW_TOOL, VIEW_REQUEST]}})) if total else 0
        if tools < total:
            raise ToolCatalogCollectionError(
                f"collection {self.collection!r} holds {total - tools} documents that are not tools, so it cannot "
                "become a tool catalog (a catalog reads only the tools it wrote, and its collection is closed to "
                "documents): give the catalog a collection of its own, ToolCatalog(scout, collection=...)"
            )
        index.update_metadata(**{META_KIND: KIND_TOOLS})
        return index


def _store_version(index: CollectionIndex) -> str:
    """The store's write version as it is now (read again: every write stamps a new one)."""
    index.sync()
    return str((index.last_metadata or {}).get(META_VERSION, ""))


def _changed(served: Snapshot, now: Snapshot) -> frozenset[str]:
    """The tools of ``served`` that ``now`` (a later read of the catalog) holds otherwise: removed, changed
    (another content hash), or with other views (views are searched as the tool)."""
    return frozenset(
        key
        for key, h in served.hashes.items()
        if now.hashes.get(key) != h or now.view_hashes.get(key) != served.view_hashes.get(key)
    )


def _unoffered(served: Snapshot, now: Snapshot) -> int:
    """How many tools ``now`` holds that ``served`` does not: in the store, not offered until measured."""
    return sum(1 for key in now.hashes if key not in served.hashes)


@dataclass(frozen=True)
class Measure:
    """What one hubness measure finds of a snapshot (:meth:`Registry._measure`), set on it in one step."""

    hubs: set[str]
    penalty: dict[str, float]
    centered: dict[str, float]
    twins: list[tuple[str, str]]
    twins_over: dict[str, str]  # the tools (key → hash) the twins were looked for among
    groups: grouping.Groups | None  # equivalent tools; None: the snapshot's stay (measured again)
    first_seen: dict[str, int]

    def apply(self, snap: Snapshot) -> None:
        snap.hubs, snap.hub_penalty, snap.centered, snap.first_seen = (
            self.hubs,
            self.penalty,
            self.centered,
            self.first_seen,
        )
        snap.twins, snap.twins_over = self.twins, self.twins_over
        if self.groups is not None:
            snap.groups = self.groups


@dataclass(frozen=True)
class Clashes:
    """Name clashes and shadows of a measured snapshot under the trust configuration of ``version``."""

    version: int
    clashes: dict[str, bool]
    shadows: dict[str, tuple[str, ...]]
    any_vouched: bool

    def apply(self, snap: Snapshot) -> None:
        snap.clashes, snap.shadows, snap.any_vouched = self.clashes, self.shadows, self.any_vouched
        snap.clashes_for = self.version
