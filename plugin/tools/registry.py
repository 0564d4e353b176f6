"""A catalog's documents and the snapshot read from them: reading (again only when the store was written
since), flags, and the write path (register: diff by hash, embed outside the lock, write under it; remove).

Two locks: ``_lock`` guards the snapshot and the store's documents, held to read or to write, never to embed;
``_writing`` lets one register / remove run at a time through all its steps. A request that finds ``_lock``
held is answered from the last snapshot flagged in full (:meth:`Registry.guarded`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence

from ..engine import Engine
from ..errors import CollectionNotFoundError, ToolCatalogCollectionError
from ..index import CollectionIndex
from ..keys import KIND_TOOLS, META_KIND, META_VERSION, TOOL_KEY, TOOL_VIEW
from . import guard, shadowing
from .documents import VIEW_REQUEST, VIEW_TOOL, indexed_hash, tool_documents, views_hash
from .expansion import Expansion
from .intake import ReadTools
from .policy import TrustPolicy
from .probes import read_probes
from .results import RegisterReport
from .search import FirstToolScores, probe_hubness
from .snapshot import Snapshot, read_snapshot
from .spec import ToolSpec

_log = logging.getLogger("hopscout.tools")

Expander = Callable[[Sequence[ToolSpec]], Expansion]  # writes views of the tools it is given


class Registry:
    """The tools of one catalog collection, read and written under ``policy`` (the catalog's trust); ``probe``
    (the search's first stage) scores the catalog's own probes to find hubs."""

    def __init__(self, engine: Engine, collection: str, policy: TrustPolicy, probe: FirstToolScores) -> None:
        self._engine = engine
        self.collection = collection
        self.policy = policy
        self.probe = probe
        self._snapshot: Snapshot | None = None  # the catalog as last read (None: read it again)
        self._flagged: Snapshot | None = None  # the last one read with its flags: what requests fall back on
        self._lock = threading.RLock()
        self._writing = threading.RLock()

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
            index.sync()  # reads the store's write version: any write, here or by another process, changes it
            version = str((index.last_metadata or {}).get(META_VERSION, ""))
            count = index.count()
            known = self._snapshot
            if not force and known is not None and (known.count, known.version) == (count, version):
                return known
            self._snapshot = read_snapshot(index, self.collection, count, version)
            return self._snapshot

    def guarded(self) -> Snapshot:
        """The snapshot with its flags and priors: hubs and their CSLS penalties (:mod:`.hubness`: the catalog's
        own probes, run once per snapshot and again as requests are logged), then name clashes and shadows under
        the trust configuration now (:mod:`.shadowing`: twins found with the hubs). While another thread holds
        the catalog (a register writing, or a request reading a changed catalog), the last snapshot flagged in
        full answers: a request never waits behind a registration (only the very first one, with nothing to
        fall back on, waits)."""
        if not self._lock.acquire(blocking=False):
            last = self._flagged
            if last is not None:
                return last
            self._lock.acquire()
        try:
            snap = self.load()
            if snap.hubs is None or self.probe.requests.due(snap.hubs_for):
                snap.hubs = snap.hubs or set()  # for good if the catalog is empty
                snap.hubs_for = self.probe.requests.total
                self._measure(snap)
            if snap.clashes_for != self.policy.version:
                trust = {key: self.policy.trust_of(spec.namespace) for key, spec in snap.specs.items()}
                snap.clashes = guard.name_clashes(snap.specs.values(), trust)
                snap.shadows = shadowing.shadows(snap.twins, snap.specs, trust, snap.first_seen)
                snap.any_vouched = any(guard.vouched(s.namespace, trust[k]) for k, s in snap.specs.items())
                snap.clashes_for = self.policy.version
            self._flagged = snap
            return snap
        finally:
            self._lock.release()

    def _measure(self, snap: Snapshot) -> None:
        """The trust-free signals of ``snap``: hubs and CSLS penalties over the requests logged so far and the
        stored views and documents, twins, and when each tool was first stored."""
        if not snap.specs:
            return
        try:
            index = self._engine.index(self.collection)
        except CollectionNotFoundError:
            return
        probes = read_probes(index, snap, self.probe.requests.recent())
        found = probe_hubness(self.probe, snap, probes)
        snap.hubs, snap.hub_penalty = set(found.hubs), found.penalty
        snap.twins = shadowing.twins([snap.specs[key] for key in probes.keys], probes.vectors)
        snap.first_seen = probes.first_seen

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
            snap = self.load(force=True)
            added = [s for s in specs if s.key not in snap.hashes]
            replaced = [s for s in specs if s.key in snap.hashes and snap.hashes[s.key] != indexed_hash(s)]
            changed = {s.key for s in added + replaced}
            unchanged = [s for s in specs if s.key not in changed]
            new_views = {  # given views that differ from what the tool has now
                key: texts
                for key, texts in given.items()
                if key in changed or snap.view_hashes.get(key) != views_hash(texts)
            }
            note = None
            if expand is not None:
                want = [
                    s
                    for s in specs
                    if s.key not in given and (s.key in changed or s.key not in snap.view_hashes)
                ]
                expansion = expand(want)
                note = expansion.note
                new_views.update(expansion.views)
            stale = [s.key for s in replaced]
            stale_views = [key for key in new_views if key not in changed and key in snap.view_hashes]
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
                self._snapshot = None
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
            snap = self.load(force=True)
            present = [k for k in keys if k in snap.specs]
            index = self._catalog_index(create=False)
            if index is not None and keys:  # also an unreadable document under one of these keys (skipped)
                found = set(index.ids({TOOL_KEY: {"$in": list(keys)}})) | set(index.get(keys))
                index.delete(sorted(found))
            self._snapshot = None
        return len(present)

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
