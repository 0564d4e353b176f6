"""``ToolCatalog``: register tools, then find the few that fit a request.

Each tool is one document (split name, name, description, parameters) in its own collection, searched with
the core's hybrid retrieval (dense + BM25, the collection's calibrated weight). Optional index-time expansion
adds a few LLM-written user requests per tool as extra documents pointing at it; a tool scores as its best
view. A request is searched as several queries — the raw request always, plus the caller's queries, or
LLM-written ones, or (LLM-free) the request's own steps — and the per-query tool lists are fused into one.
LLM failures never raise from ``find_tools``: it falls back to the LLM-free path and says so in ``note``."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import fusion
from ..errors import (
    CollectionNotFoundError,
    InvalidArgumentError,
    InvalidQueryError,
    InvalidToolError,
    LLMUnavailableError,
    NoRecordedReplyError,
    ToolCatalogCollectionError,
    ToolNotFoundError,
    UnreadableFileError,
)
from ..index import KIND_TOOLS, META_KIND, META_VERSION, CollectionIndex
from ..llm import LLM, CachedLLM
from ..llm.replay import TOOL_QUERIES, TOOL_VIEWS
from ..llm.replies import parse_list
from ..retrieval import check_k
from ..scout import Scout
from ..store import check_collection_name
from ..suspicion import has_instructions, text_flags
from ..untrusted import namespace_problem, shown
from . import guard
from .queries import PROMPT_VERSION, decompose, expansion_prompt, generation_prompt
from .spec import DOCUMENT_VERSION, ToolSpec, split_name, to_spec, tool_document

_log = logging.getLogger("hopscout.tools")

VIEW_TOOL, VIEW_REQUEST = "tool", "request"
MAX_QUERIES = 8  # raw request + at most 7 more per call
EXPANSION_VIEWS = 3
# How a tool's score is made (measured on MetaTool with recorded views and agent queries; README, "Tool retrieval"):
VIEW_SHARE = 0.5  # a tool with views: (1 - share) x its description's score + share x its best view's score
STEP_RAW_BONUS = (
    0.5  # LLM-free steps: the best of the request and its steps, plus half the request's own score
)
REWRITE_RAW_SHARE = 0.25  # caller / LLM queries: the best query's score, plus a quarter of the request's
# A request naming a tool that is not vouched for (an untrusted server's, or a flagged one): its own score times
# (1 + this), never more: a name is the one thing a hostile server chooses freely ("send_an_email").
NAME_BOOST = 0.25
_NORM = re.compile(r"[^a-z0-9]+")
_IDENT = re.compile(r"[A-Za-z_][\w.-]*[\w]")
_VIEW_ID = re.compile(r"#r\d+")  # what follows a tool's key in the id of one of its views


@dataclass(frozen=True)
class ToolHit:
    """A tool found for a request: its spec and a higher-is-better score (comparable within one result)."""

    spec: ToolSpec
    score: float
    query: str | None = None  # the query whose result list gave the tool its score
    flags: tuple[str, ...] = ()  # why it looks hostile (word_list, repetitive, instructions, hub, name_clash)
    trust: str = guard.UNTRUSTED  # its server's trust level, from the catalog's configuration

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def namespace(self) -> str | None:
        return self.spec.namespace

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def schema(self) -> dict[str, Any]:
        return self.spec.input_schema

    @property
    def annotations(self) -> dict[str, Any] | None:
        """The tool's MCP annotations (``readOnlyHint``, ``destructiveHint``, ...), as its server gave them."""
        return self.spec.annotations

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "key": self.key,
            "score": self.score,
            "description": self.spec.description,
            "input_schema": self.schema,
            "annotations": self.annotations,
            "query": self.query,
            "flags": list(self.flags),
            "trust": self.trust,
        }


@dataclass(frozen=True)
class ToolResults:
    """Ranked tools, the queries searched (the raw request first), whether an LLM wrote some, and a note on
    any fallback (e.g. "LLM endpoint ... timed out after 10s; used the raw request only")."""

    hits: list[ToolHit]
    queries: list[str]
    generated: bool = False
    note: str | None = None

    def __iter__(self) -> Any:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    @property
    def keys(self) -> list[str]:
        return [h.key for h in self.hits]

    def to_dict(self) -> dict[str, Any]:
        return {
            "hits": [h.to_dict() for h in self.hits],
            "queries": list(self.queries),
            "generated": self.generated,
            "note": self.note,
        }


@dataclass(frozen=True)
class RegisterReport:
    """Tool keys added, replaced (changed) and left unchanged; tools given new views (your ``views`` or LLM
    requests); a fallback note; the tools skipped, each with why (its key, or its name or position when it
    has no valid one → the reason: a name that could pass for another tool's, an over-long description, ...)."""

    added: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    expanded: tuple[str, ...] = ()
    note: str | None = None
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": list(self.added),
            "replaced": list(self.replaced),
            "unchanged": list(self.unchanged),
            "expanded": list(self.expanded),
            "note": self.note,
            "skipped": dict(self.skipped),
        }


@dataclass
class _Snapshot:
    specs: dict[str, ToolSpec] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    view_hashes: dict[str, str] = field(default_factory=dict)  # tools with views → what their views are
    by_name: dict[str, list[str]] = field(default_factory=dict)
    count: int = -1
    version: str = ""  # the store's write version when read (hopscout.index: every write stamps a new one)
    text_flags: dict[str, tuple[str, ...]] = field(default_factory=dict)  # what each description reads as
    hubs: set[str] | None = None  # computed on the first search of this snapshot
    # name clashes under the trust configuration of version ``clashes_for`` (True: squats a vouched tool's name)
    clashes: dict[str, bool] = field(default_factory=dict)
    clashes_for: int = -1


class ToolCatalog:
    """Tool retrieval over one collection (``settings.tools_collection`` unless named).

    >>> catalog = ToolCatalog(Scout())
    >>> catalog.register(mcp_tools, namespace="github")        # MCP, OpenAI, LangChain, LlamaIndex tools or dicts
    >>> for hit in catalog.find_tools("open a pull request and ask for review", k=5):
    ...     print(hit.key, hit.score)

    ``llm`` (anything with ``complete``) defaults to the scout's LLM (``Scout(llm=...)`` or HOPSCOUT_LLM_*);
    without one, query generation and expansion are skipped and the LLM-free path is used. Replies are cached
    in the scout's LLM cache. ``defend=False`` still flags tools that look hostile but neither demotes nor
    caps them, nor bounds the name match of tools nobody vouches for (to measure what the defences do).

    Trust is this object's configuration, read whenever a request is answered, never the stored tools':
    ``trust`` maps a namespace (a server) to ``"trusted"`` or ``"untrusted"`` (a namespace not listed is
    untrusted; ``register(..., trust=...)`` sets one too), and ``read_only_tools`` maps a namespace to the
    names of its tools the configuration declares read-only (an allow-list beside the hints of trusted
    servers: :meth:`is_read_only`). The collection is marked as a tool catalog when written: ``Scout.add``,
    ``search`` and ``delete`` refuse it, so its documents come only from :meth:`register`; a catalog never takes
    over a collection that holds documents, and reads only the tool documents it wrote.

    Thread-safe, and a request never waits behind a registration: :meth:`register` embeds the new tools before
    it takes the catalog's lock, holds it only to write them, and a request that finds the lock held (a write,
    or another request reading a changed catalog) is answered from the last catalog it read."""

    def __init__(
        self,
        scout: Scout,
        *,
        collection: str | None = None,
        llm: LLM | None = None,
        defend: bool = True,
        trust: Mapping[str, str] | None = None,
        read_only_tools: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self.scout = scout
        if not isinstance(defend, bool):
            raise InvalidArgumentError(f"defend must be True or False, got {defend!r}")
        self.defend = defend
        self.collection = check_collection_name(collection or scout.settings.tools_collection)
        if llm is not None and not callable(getattr(llm, "complete", None)):
            raise InvalidArgumentError(f"llm must have a complete(prompt) method, got {type(llm).__name__}")
        self.completions: CachedLLM | None = scout.engine.completions(llm)
        self._trust: dict[str | None, str] = {
            _check_namespace(ns, "trust"): guard.check_trust(level) for ns, level in _mapping(trust, "trust")
        }
        self._read_only_tools: dict[str, frozenset[str]] = {
            _check_namespace(ns, "read_only_tools"): _check_names(names, ns)
            for ns, names in _mapping(read_only_tools, "read_only_tools")
        }
        self._trust_version = 0  # one up whenever the trust configuration changes (name clashes depend on it)
        self._snapshot: _Snapshot | None = None  # the catalog as last read (None: read it again)
        self._flagged: _Snapshot | None = None  # the last one read with its flags: what requests fall back on
        self._lock = threading.RLock()  # the snapshot and the store's documents: held to read or to write
        self._writing = threading.RLock()  # one register / remove at a time, through all its steps

    # -- the configuration: trust and read-only ----------------------------------------------------
    def trust_of(self, namespace: str | None) -> str:
        """The trust level the configuration gives ``namespace`` (None: tools registered without one):
        ``"trusted"`` or ``"untrusted"`` (anything not configured)."""
        return self._trust.get(namespace, guard.UNTRUSTED)

    def is_read_only(self, spec: ToolSpec) -> bool:
        """Whether ``spec`` may be offered as read-only: its ``readOnlyHint`` is true and it is vouched for (the
        catalog owner's own, registered without a namespace, or a trusted server's: an untrusted server's hint is
        its own claim), or the configuration's ``read_only_tools`` names it."""
        if spec.read_only and self._vouched(spec):
            return True
        return spec.namespace is not None and spec.name in self._read_only_tools.get(spec.namespace, ())

    def _vouched(self, spec: ToolSpec) -> bool:
        return guard.vouched(spec.namespace, self.trust_of(spec.namespace))

    @property
    def llm(self) -> LLM | None:
        """The LLM that writes queries and expansion views (None: the LLM-free paths)."""
        return self.completions.llm if self.completions is not None else None

    # -- reading the catalog ----------------------------------------------------------------------
    def _index(self, create: bool = False) -> CollectionIndex:
        return self.scout.engine.index(self.collection, create=create)

    def _load(self, force: bool = False) -> _Snapshot:
        """The catalog as the store holds it now (read again only when the store was written since, or
        ``force``). Only tool documents count: a tool's own (``tool_view`` "tool", its spec readable and filed
        under its key) and its views (``tool_view`` "request", id ``<key>#r<n>`` of a tool read here); anything
        else in the collection is passed over (with a warning when it is dressed as a tool document)."""
        with self._lock:
            try:
                index = self._index()
            except CollectionNotFoundError:
                self._snapshot = _Snapshot(count=0)
                return self._snapshot
            index.sync()  # reads the store's write version: any write, here or by another process, changes it
            version = str((index.last_metadata or {}).get(META_VERSION, ""))
            count = index.count()
            known = self._snapshot
            if not force and known is not None and (known.count, known.version) == (count, version):
                return known
            snap = _Snapshot(count=count, version=version)
            for doc_id, meta in index.metadatas({"tool_view": VIEW_TOOL}):
                spec = _stored_spec(self.collection, doc_id, meta)
                if spec is None:
                    continue
                snap.specs[spec.key] = spec
                snap.hashes[spec.key] = str(meta.get("tool_hash", ""))
                # meta["tool_trust"], written before trust became configuration, is never read
                for form in {_norm(spec.name), _norm(spec.key), _norm(split_name(spec.name))}:
                    snap.by_name.setdefault(form, []).append(spec.key)
                flags = _text_flags(spec)
                if flags:
                    snap.text_flags[spec.key] = flags
            for doc_id, meta in index.metadatas({"tool_view": VIEW_REQUEST}):
                key = meta.get("tool_key")
                owner, mark, rest = doc_id.partition("#")
                if not isinstance(key, str) or owner != key or not _VIEW_ID.fullmatch(mark + rest):
                    _log.warning(
                        "tool catalog %r: skipped view %s: its id is not <tool_key>#r<n>",
                        self.collection,
                        shown(doc_id),
                    )
                    continue
                if key not in snap.specs:
                    _log.warning(
                        "tool catalog %r: skipped view %s: no tool %s",
                        self.collection,
                        shown(doc_id),
                        shown(key),
                    )
                    continue
                snap.view_hashes[key] = str(meta.get("views_hash", ""))
            self._snapshot = snap
            return snap

    def tools(self) -> list[ToolSpec]:
        """Every registered tool, by key."""
        snap = self._load(force=True)
        return [snap.specs[key] for key in sorted(snap.specs)]

    def get(self, key: str) -> ToolSpec:
        """The tool registered under ``key`` (``namespace/name`` or ``name``); raises ToolNotFoundError."""
        snap = self._load()
        if key not in snap.specs:
            snap = self._load(force=True)
        try:
            return snap.specs[key]
        except KeyError:
            close = [k for k in snap.specs if k.endswith(f"/{key}") or k.split("/")[-1] == key.split("/")[-1]]
            hint = f"; did you mean {', '.join(sorted(close)[:5])}?" if close else ""
            raise ToolNotFoundError(
                f"no tool {key!r} in catalog {self.collection!r} ({len(snap.specs)} tools){hint}"
            ) from None

    def __len__(self) -> int:
        return len(self._load().specs)

    # -- writing ----------------------------------------------------------------------------------
    def register(
        self,
        tools: Iterable[Any],
        namespace: str | None = None,
        *,
        expand: bool = False,
        views: Mapping[str, Sequence[str]] | None = None,
        trust: str | None = None,
    ) -> RegisterReport:
        """Add or update tools. Unchanged tools (same content hash) are left alone; changed ones are replaced.

        A tool that cannot enter the catalog (no name; a name that could pass for another tool's: a ``/`` or
        ``#``, control, invisible or bidirectional characters, a form Unicode NFKC changes, over 128 characters;
        an over-long description; a malformed schema or annotations: :func:`~hopscout.tools.to_spec`) is skipped
        with a warning and listed in the report's ``skipped`` with why; the others are registered. ``tools``
        that is not a list, the same key twice, or an invalid ``namespace`` raise InvalidArgumentError.

        ``views`` gives tools extra views, written elsewhere (e.g. by your own LLM, in a batch): per tool (its
        name, or its key ``namespace/name``), a few requests a user might make that it serves; a tool then scores
        as its best view. ``expand=True`` asks hopscout's LLM for views of the tools that ``views`` does not
        cover (replies are cached, so an unchanged tool never costs a second call).

        ``trust`` sets the trust level of ``namespace`` (the tools' server) in this catalog's configuration, as
        ``ToolCatalog(trust=...)`` does; None leaves it as configured (untrusted unless set). Untrusted tools
        that look hostile (their ``flags``) are demoted and untrusted servers take at most a share of the slots;
        ``"trusted"`` tools keep their flags but are never demoted (see :mod:`hopscout.tools.guard`). Trust is
        not stored with the tools: changing it re-indexes nothing, and another catalog object on the same
        collection has its own configuration.

        The tools are embedded (and ``expand``'s views written by the LLM) before the catalog's lock is taken;
        requests meanwhile are answered from the catalog as it was."""
        if trust is not None:
            trust = guard.check_trust(trust)
        if namespace is not None:
            namespace = _check_namespace(namespace, "namespace")
        if isinstance(getattr(tools, "tools", None), list):  # an MCP ListToolsResult
            tools = tools.tools  # type: ignore[attr-defined]
        if isinstance(tools, (str, bytes, dict)) or not isinstance(tools, Iterable):
            raise InvalidArgumentError(
                "tools must be a list of tools (MCP, OpenAI, LangChain, LlamaIndex, ToolSpec or dicts)"
            )
        specs, skipped = self._read_tools(tools, namespace)
        keys = [s.key for s in specs]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise InvalidArgumentError(f"tools given twice in one register call: {', '.join(dupes[:10])}")
        given = _check_views(views, specs, skipped) if views is not None else {}
        with self._writing:
            if trust is not None:
                with self._lock:
                    if self._trust.get(namespace) != trust:
                        self._trust[namespace] = trust
                        self._trust_version += 1
            snap = self._load(force=True)
            added = [s for s in specs if s.key not in snap.hashes]
            replaced = [s for s in specs if s.key in snap.hashes and snap.hashes[s.key] != _indexed_hash(s)]
            changed = {s.key for s in added + replaced}
            unchanged = [s for s in specs if s.key not in changed]
            new_views = {  # given views that differ from what the tool has now
                key: texts
                for key, texts in given.items()
                if key in changed or snap.view_hashes.get(key) != _views_hash(texts)
            }
            note = None
            if expand:
                want = [
                    s
                    for s in specs
                    if s.key not in given and (s.key in changed or s.key not in snap.view_hashes)
                ]
                generated, note = self._expand(want)
                new_views.update(generated)
            stale = [s.key for s in replaced]
            stale_views = [key for key in new_views if key not in changed and key in snap.view_hashes]
            ids, texts, metas = _documents(added + replaced, new_views, {s.key: s for s in specs})
            if ids or stale or stale_views:
                self._catalog_index(create=False)  # refuses a collection of documents before any work
            vectors = self.scout.engine.embed(texts) if ids else None  # the long step: no lock held
            with self._lock:  # the short one: requests meanwhile are answered from the catalog as it was
                index = self._catalog_index(create=bool(ids))
                if index is not None:
                    if stale:
                        _delete(index, {"tool_key": {"$in": stale}})
                    if stale_views:
                        _delete(
                            index, {"$and": [{"tool_key": {"$in": stale_views}}, {"tool_view": VIEW_REQUEST}]}
                        )
                    if ids:  # tools are found in one hop: no key phrases for the phrase hop
                        self.scout.engine.write(index, ids, texts, metas, phrases=False, vectors=vectors)
                self._snapshot = None
        return RegisterReport(
            tuple(s.key for s in added),
            tuple(s.key for s in replaced),
            tuple(s.key for s in unchanged),
            tuple(k for k, v in new_views.items() if v),
            note,
            skipped,
        )

    def _read_tools(
        self, tools: Iterable[Any], namespace: str | None
    ) -> tuple[list[ToolSpec], dict[str, str]]:
        """The tools that can enter the catalog, and the others (key, or name, or ``#position`` → why), each
        skipped with a warning naming it."""
        specs: list[ToolSpec] = []
        skipped: dict[str, str] = {}
        for n, tool in enumerate(tools):
            try:
                specs.append(to_spec(tool, namespace, position=n))
            except InvalidToolError as exc:
                label = f"#{n}" if exc.name is None else f"{namespace}/{exc.name}" if namespace else exc.name
                if label in skipped:
                    label = f"{label} (#{n})"
                skipped[label] = exc.reason
                _log.warning(
                    "tool catalog %r: %s; skipped (the other tools are registered)", self.collection, exc
                )
        return specs, skipped

    def register_file(
        self, path: str | Path, namespace: str | None = None, *, expand: bool = False
    ) -> RegisterReport:
        """Register the tools in a JSON file: a list of tools, or ``{"tools": [...]}`` (an MCP tools/list result)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UnreadableFileError(f"cannot read tool file {path}: {exc}") from exc
        except ValueError as exc:
            raise InvalidArgumentError(f"tool file {path} is not valid JSON: {exc}") from exc
        if isinstance(data, dict) and isinstance(data.get("tools"), list):
            data = data["tools"]
        if not isinstance(data, list):
            raise InvalidArgumentError(
                f'tool file {path} must hold a JSON list of tools or {{"tools": [...]}}'
            )
        return self.register(data, namespace, expand=expand)

    def remove(self, names: Iterable[str], namespace: str | None = None) -> int:
        """Remove tools by name (within ``namespace``) or by key; returns how many were registered."""
        if isinstance(names, str) or not isinstance(names, Iterable):
            raise InvalidArgumentError("names must be a list of tool names")
        keys = []
        for name in names:
            if not isinstance(name, str) or not name:
                raise InvalidArgumentError(f"a tool name must be a non-empty string, got {shown(name)}")
            keys.append(f"{namespace}/{name}" if namespace else name)
        with self._writing, self._lock:
            snap = self._load(force=True)
            present = [k for k in keys if k in snap.specs]
            index = self._catalog_index(create=False)
            if index is not None and keys:  # also an unreadable document under one of these keys (skipped)
                found = set(index.ids({"tool_key": {"$in": keys}})) | set(index.get(keys))
                index.delete(sorted(found))
            self._snapshot = None
        return len(present)

    def _catalog_index(self, create: bool) -> CollectionIndex | None:
        """The catalog's index (None if it does not exist and ``create`` is False), marked as a tool catalog:
        from then on ``Scout.add``, ``search`` and ``delete`` refuse it. A collection not yet marked is taken
        over only when it holds nothing but tool documents (a catalog made before the mark, or an empty one):
        one holding documents raises ToolCatalogCollectionError, and stays as it is."""
        try:
            index = self._index(create=create)
        except CollectionNotFoundError:
            return None
        if index.metadata().get(META_KIND) == KIND_TOOLS:
            return index
        total = index.count()
        tools = len(index.ids({"tool_view": {"$in": [VIEW_TOOL, VIEW_REQUEST]}})) if total else 0
        if tools < total:
            raise ToolCatalogCollectionError(
                f"collection {self.collection!r} holds {total - tools} documents that are not tools, so it cannot "
                "become a tool catalog (a catalog reads only the tools it wrote, and its collection is closed to "
                "documents): give the catalog a collection of its own, ToolCatalog(scout, collection=...)"
            )
        index.update_metadata(**{META_KIND: KIND_TOOLS})
        return index

    # -- LLM --------------------------------------------------------------------------------------
    def _expand(self, specs: Sequence[ToolSpec]) -> tuple[dict[str, list[str]], str | None]:
        if not specs:
            return {}, None
        if self.completions is None:
            return (
                {},
                "expand=True but no LLM is configured (HOPSCOUT_LLM_BASE_URL); tools indexed without expansion",
            )
        views: dict[str, list[str]] = {}
        failed: list[str] = []
        error: Exception | None = None
        missing: list[str] = []  # a recorded LLM with no reply for these tools
        for spec in specs:
            prompt = expansion_prompt(spec)
            reply = self.completions.cached(TOOL_VIEWS, PROMPT_VERSION, prompt)
            if reply is None:
                if error is not None:  # the LLM failed once: serve what is cached, call no more
                    failed.append(spec.key)
                    continue
                try:
                    reply = self.completions.complete(
                        TOOL_VIEWS, PROMPT_VERSION, prompt, subject=spec.key, json_mode=True
                    )
                except NoRecordedReplyError:
                    missing.append(spec.key)
                    continue
                except LLMUnavailableError as exc:
                    error = exc
                    failed.append(spec.key)
                    continue
            views[spec.key] = parse_list(reply, limit=EXPANSION_VIEWS, exclude=spec.name)
        notes = [f"{error}; {len(failed)} tools indexed without expansion"] if error else []
        if missing:
            notes.append(
                f"no recorded views for {len(missing)} tools (e.g. {missing[0]!r}); indexed without expansion"
            )
        return views, "; ".join(notes) or None

    def _generate(self, request: str) -> list[str]:
        if self.completions is None:
            return []
        reply = self.completions.complete(
            TOOL_QUERIES, PROMPT_VERSION, generation_prompt(request), subject=request, json_mode=True
        )
        return parse_list(reply, limit=MAX_QUERIES - 1, exclude=request)

    # -- searching --------------------------------------------------------------------------------
    def find_tools(
        self,
        request: str,
        k: int = 5,
        queries: Sequence[str] | None = None,
        *,
        generate: bool | None = None,
        namespaces: Sequence[str] | None = None,
        read_only: bool = False,
    ) -> ToolResults:
        """The ``k`` tools that best fit ``request``.

        ``queries`` (e.g. written by the calling agent, one per capability) are searched beside the raw request.
        Without them, the configured LLM writes them (``generate=None``: when an LLM is configured; ``False``:
        never); without an LLM, the request's own steps ("... and then ...") are used. ``namespaces`` limits
        the search to tools of those servers; ``read_only=True`` to the tools :meth:`is_read_only` passes (a
        trusted server's ``readOnlyHint``, or ``read_only_tools``). Both filter the search itself, so ``k`` tools
        come back when that many pass."""
        return self.find_tools_batch(
            [request],
            k,
            None if queries is None else [queries],
            generate=generate,
            namespaces=namespaces,
            read_only=read_only,
        )[0]

    def find_tools_batch(
        self,
        requests: Sequence[str],
        k: int = 5,
        queries: Sequence[Sequence[str] | None] | None = None,
        *,
        generate: bool | None = None,
        namespaces: Sequence[str] | None = None,
        read_only: bool = False,
    ) -> list[ToolResults]:
        """:meth:`find_tools` for many requests at once (one batched search); ``queries[i]`` goes with request i."""
        if isinstance(requests, str) or not isinstance(requests, Sequence) or not requests:
            raise InvalidQueryError("requests must be a non-empty list of strings")
        requests = [self._check_text(r, "request") for r in requests]
        k = check_k(k, self.scout.settings)
        if not isinstance(read_only, bool):
            raise InvalidArgumentError(f"read_only must be True or False, got {read_only!r}")
        where = self._namespace_filter(namespaces)
        allowed = _Allowed(
            None if namespaces is None else frozenset(namespaces), self.is_read_only if read_only else None
        )
        if generate is not None and not isinstance(generate, bool):
            raise InvalidArgumentError(f"generate must be True, False or None, got {generate!r}")
        if queries is not None and (
            isinstance(queries, str) or not isinstance(queries, Sequence) or len(queries) != len(requests)
        ):
            raise InvalidQueryError("queries must be a list with one list of strings (or None) per request")
        plans = [
            self._plan(r, None if queries is None else queries[n], generate) for n, r in enumerate(requests)
        ]
        flat = [q for plan in plans for q in plan.queries]
        snap = self._guarded()
        only = self._read_only_filter(snap) if read_only else None
        if read_only and only is None:  # nothing the configuration lets pass as read-only
            lists: list[dict[str, float]] = [{} for _ in flat]
        else:
            lists = self._search_lists(flat, k, where if only is None else _and(where, only), snap)
        out, at = [], 0
        for plan in plans:
            hits = self._rank(plan, lists[at : at + len(plan.queries)], k, allowed, snap)
            out.append(ToolResults(hits, plan.queries, plan.generated, plan.note))
            at += len(plan.queries)
        return out

    def _read_only_filter(self, snap: _Snapshot) -> dict[str, Any] | None:
        """The store filter of :meth:`is_read_only` (None: no tool passes): tools marked ``readOnlyHint`` that
        are vouched for (a trusted server's, or the catalog owner's own: no namespace, which ``$nin`` of every
        namespace selects), or the tools ``read_only_tools`` names. ``_Allowed`` applies the rule itself to
        every hit; this filter lets the search find ``k`` of them."""
        clauses: list[dict[str, Any]] = []
        trusted = sorted(ns for ns, level in self._trust.items() if ns is not None and level == guard.TRUSTED)
        if trusted:
            clauses.append({"$and": [{"tool_namespace": {"$in": trusted}}, {"tool_read_only": True}]})
        if any(spec.namespace is None and spec.read_only for spec in snap.specs.values()):
            servers = sorted({spec.namespace for spec in snap.specs.values() if spec.namespace is not None})
            own = (
                {"tool_namespace": {"$nin": servers}} if servers else None
            )  # a tool without one matches $nin
            clauses.append(
                {"tool_read_only": True} if own is None else {"$and": [own, {"tool_read_only": True}]}
            )
        keys = {f"{ns}/{name}" for ns, names in self._read_only_tools.items() for name in names}
        if keys:
            clauses.append({"tool_key": {"$in": sorted(keys)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$or": clauses}

    def _plan(self, request: str, queries: Sequence[str] | None, generate: bool | None) -> _Plan:
        """The queries to search for one request, what they are, whether an LLM wrote them, any fallback note."""
        note: str | None = None
        generated = False
        rewrites = queries is not None
        if queries is not None:
            if isinstance(queries, str) or not isinstance(queries, Sequence):
                raise InvalidQueryError(f"queries must be a list of strings, got {type(queries).__name__}")
            extra = [self._check_text(q, "a query") for q in queries]
            if len(extra) > MAX_QUERIES - 1:
                raise InvalidArgumentError(f"at most {MAX_QUERIES - 1} queries per request, got {len(extra)}")
        else:
            use_llm = generate if generate is not None else self.completions is not None
            extra = []
            if use_llm and self.completions is None:
                note = "generate=True but no LLM is configured (HOPSCOUT_LLM_BASE_URL)"
            elif use_llm:
                try:
                    extra = self._generate(request)
                    generated = rewrites = bool(extra)
                    if not extra:
                        note = "the LLM wrote no usable query"
                except LLMUnavailableError as exc:
                    note = str(exc)
            if not extra:
                extra = decompose(request)
                if note:
                    note += f"; used the raw request{f' and its {len(extra)} steps' if extra else ' only'}"
        searched = [request] + [q for q in dict.fromkeys(extra) if q != request]
        return _Plan(searched, rewrites, generated, note)

    def _search_lists(
        self, queries: list[str], k: int, where: dict[str, Any] | None, snap: _Snapshot
    ) -> list[dict[str, float]]:
        """Per query: ``{tool key: score}``, the search mode's fused scores (the collection's fusion weight).
        A tool's score is its description's; a tool with views scores ``(1 - VIEW_SHARE) x`` its description's
        plus ``VIEW_SHARE x`` its best view's (each normalised in its own list: a field of its own). Only the
        tool documents ``snap`` read score: anything else the store returns is passed over."""
        if not snap.specs:
            return [{} for _ in queries]
        settings = self.scout.settings
        engine = self.scout.engine
        index = self._index()
        index.sync()
        first = engine.first_retrieval(index)
        weight = engine.fusion_weight(index)
        mode = settings.search_mode
        n = min(settings.max_k, max(settings.candidates, 4 * k))

        def tool_scores(
            where_view: dict[str, Any] | None, vectors: Any = None
        ) -> tuple[list[dict[str, float]], Any]:
            found = first.run(queries, mode=mode, depth=n, where=where_view, vectors=vectors)
            lists = []
            for cands in found:
                best: dict[str, float] = {}
                for doc_id, score in cands.ranking(mode, weight)[:n]:
                    key, view, _ = doc_id.partition("#")  # a view's id is "<tool key>#r<n>"; keys hold no '#'
                    if key not in (snap.view_hashes if view else snap.specs):
                        continue  # not a tool document of this snapshot (nor lifting one by its id)
                    best[key] = max(best.get(key, float("-inf")), score)
                lists.append(best)
            vecs = [c.vector for c in found if c.vector is not None]
            return lists, np.stack(vecs) if vecs and len(vecs) == len(found) else None

        if not snap.view_hashes:
            return tool_scores(where)[0]
        described, vectors = tool_scores(_and(where, {"tool_view": VIEW_TOOL}))
        viewed, _ = tool_scores(_and(where, {"tool_view": VIEW_REQUEST}), vectors)
        return [
            {
                key: (1 - VIEW_SHARE) * d.get(key, 0.0) + VIEW_SHARE * v.get(key, 0.0)
                for key in d.keys() | v.keys()
            }
            for d, v in zip(described, viewed)
        ]

    def _rank(
        self, plan: _Plan, lists: list[dict[str, float]], k: int, allowed: _Allowed, snap: _Snapshot
    ) -> list[ToolHit]:
        fused = {  # tools written by another process since the snapshot are picked up on the next load
            key: found
            for key, found in _fuse_queries(lists, plan.rewrites).items()
            if key in snap.specs and allowed(snap.specs[key])
        }
        top = max((score for score, _ in fused.values()), default=0.0)
        named: set[str] = set()  # named by their very key: first, flags shown, not demoted
        for key, (bonus, exact_key) in self._name_matches(plan.queries[0], snap).items():
            spec = snap.specs[key]
            if not allowed(spec):  # a named tool joins only if the search's filter would let it in
                continue
            source = fused.get(key, (0.0, 0))[1]
            if exact_key or not self.defend or (self._vouched(spec) and not _flags(snap, key)):
                fused[key] = (top + bonus, source)  # named by its key, or vouched for: it may lead
                if exact_key:
                    named.add(key)
            elif key in fused:  # a name anyone could choose: a bounded lift of its own score, no more
                score = fused[key][0]
                fused[key] = (score + NAME_BOOST * abs(score), source)
        fused = {
            key: (score if key in named else score * self._prior(snap, key), source)
            for key, (score, source) in fused.items()
        }
        ranked = [key for key, _ in sorted(fused.items(), key=lambda item: (-item[1][0], item[0]))]
        if self.defend and not allowed.alone:
            namespaces = {key: snap.specs[key].namespace for key in ranked}
            ranked = guard.cap_servers(
                ranked,
                namespaces,
                {key: self.trust_of(ns) for key, ns in namespaces.items()},
                k,
                self.scout.settings.server_share,
                scores={key: fused[key][0] for key in ranked},
            )
        return [
            ToolHit(
                snap.specs[key],
                float(fused[key][0]),
                plan.queries[fused[key][1]],
                _flags(snap, key),
                self.trust_of(snap.specs[key].namespace),
            )
            for key in ranked[:k]
        ]

    def _prior(self, snap: _Snapshot, key: str) -> float:
        if not self.defend:
            return 1.0
        flags = _flags(snap, key)
        if snap.clashes.get(key) is False:  # a name shared by untrusted servers only: shown, not held against
            flags = tuple(flag for flag in flags if flag != guard.NAME_CLASH)
        trust = self.trust_of(snap.specs[key].namespace)
        return guard.prior(flags, trust, self.scout.settings.flagged_demotion)

    def flagged(self) -> dict[str, tuple[str, ...]]:
        """Every tool that looks hostile, by key, with its flags (see :mod:`hopscout.tools.guard`)."""
        snap = self._guarded()
        return {key: _flags(snap, key) for key in sorted(snap.specs) if _flags(snap, key)}

    def _guarded(self) -> _Snapshot:
        """The snapshot with its flags: name clashes under the trust configuration now, and hubs (the tools in
        the top results of many generic probe requests). While another thread holds the catalog (a register
        writing, or a request reading a changed catalog), the last snapshot flagged in full answers: a request
        never waits behind a registration (only the very first one, with nothing to fall back on, waits)."""
        if not self._lock.acquire(blocking=False):
            last = self._flagged
            if last is not None:
                return last
            self._lock.acquire()
        try:
            snap = self._load()
            if snap.clashes_for != self._trust_version:
                trust = {key: self.trust_of(spec.namespace) for key, spec in snap.specs.items()}
                snap.clashes = guard.name_clashes(snap.specs.values(), trust)
                snap.clashes_for = self._trust_version
            if snap.hubs is None:
                snap.hubs = set()  # for good if the catalog is empty
                if len(snap.specs) >= guard.HUB_MIN_TOOLS:
                    probes = self._search_lists(list(guard.PROBES), guard.HUB_K, None, snap)
                    tops = [sorted(found, key=lambda key: (-found[key], key)) for found in probes]
                    snap.hubs = guard.hubs(tops, len(snap.specs))
            self._flagged = snap
            return snap
        finally:
            self._lock.release()

    @staticmethod
    def _name_matches(request: str, snap: _Snapshot) -> dict[str, tuple[float, bool]]:
        """Tools the request names, with a bonus and whether it named the tool's very key (``server/tool``: a
        server's name comes from the configuration, so no tool can make a request say it): the whole request
        is a tool's name or key (bonus 2), or it mentions a multi-part identifier that is one (bonus 1)."""
        whole = request.strip()
        found = {
            key: (2.0, snap.specs[key].namespace is not None and whole == key)
            for key in snap.by_name.get(_norm(request), [])
        }
        if len(request) <= 2000:
            for token in set(_IDENT.findall(request)):
                if len(split_name(token).split()) >= 2 or "/" in token:
                    for key in snap.by_name.get(_norm(token), []):
                        spec = snap.specs[key]
                        if token in (spec.name, key) and key not in found:
                            found[key] = (1.0, spec.namespace is not None and token == key)
        return found

    # -- validation -------------------------------------------------------------------------------
    def _check_text(self, text: Any, what: str) -> str:
        if not isinstance(text, str):
            raise InvalidQueryError(f"{what} must be a string, got {type(text).__name__}")
        if not text.strip():
            raise InvalidQueryError(f"{what} is empty: describe the capability you need")
        limit = self.scout.settings.max_query_chars
        if len(text) > limit:
            raise InvalidQueryError(
                f"{what} has {len(text)} characters, over the limit of {limit} "
                "(HOPSCOUT_MAX_QUERY_CHARS); describe the capability in a sentence or two"
            )
        return text.strip()

    @staticmethod
    def _namespace_filter(namespaces: Sequence[str] | None) -> dict[str, Any] | None:
        if namespaces is None:
            return None
        if (
            isinstance(namespaces, str)
            or not isinstance(namespaces, Sequence)
            or not namespaces
            or not all(isinstance(n, str) and n for n in namespaces)
        ):
            raise InvalidArgumentError("namespaces must be a non-empty list of namespace strings")
        return {"tool_namespace": {"$in": list(namespaces)}}

    def close(self) -> None:
        """Nothing to release: the catalog's caches belong to its scout."""


def _indexed_hash(spec: ToolSpec) -> str:
    """Changes when the tool or the way its document is written changes (then it is indexed again). Trust is
    configuration, not part of it: tools once registered trusted (whose hash ended ".trusted") are indexed
    again once."""
    return f"{spec.content_hash}.{DOCUMENT_VERSION}"


def _stored_spec(collection: str, doc_id: str, meta: Mapping[str, Any]) -> ToolSpec | None:
    """The tool a catalog document holds, checked as :func:`to_spec` checks a registered one; None, with a
    warning naming the document, when it is unreadable or filed under another key."""
    try:
        data = json.loads(meta["tool_spec"])
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


def _delete(index: CollectionIndex, where: dict[str, Any]) -> None:
    index.delete(index.ids(where))


def _mapping(value: Any, what: str) -> list[tuple[Any, Any]]:
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"{what} must map a namespace (a server's name) to its setting")
    return list(value.items())


def _check_namespace(namespace: Any, what: str) -> str:
    problem = namespace_problem(namespace)
    if problem:
        raise InvalidArgumentError(
            f"{what}: {shown(namespace)} is not a namespace (a server's name: at most 128 characters, no "
            f"whitespace, '/', '#' or invisible characters): {problem}"
        )
    return str(namespace)


def _check_names(names: Any, namespace: str) -> frozenset[str]:
    if isinstance(names, str) or not isinstance(names, Collection):
        raise InvalidArgumentError(f"read_only_tools[{namespace!r}] must be a list of tool names")
    if not all(isinstance(n, str) and n for n in names):
        raise InvalidArgumentError(f"read_only_tools[{namespace!r}] must hold non-empty tool names")
    return frozenset(names)


def _text_flags(spec: ToolSpec) -> tuple[str, ...]:
    """What reads as hostile in the tool's description, and instructions to the agent in its parameters."""
    flags = text_flags(spec.description)
    if "instructions" not in flags and has_instructions(tool_document(spec)):
        flags += ("instructions",)
    return flags


def _views_hash(texts: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(list(texts), ensure_ascii=False).encode()).hexdigest()[:16]


def _check_views(
    views: Any, specs: Sequence[ToolSpec], skipped: Mapping[str, str] | None = None
) -> dict[str, list[str]]:
    """``views`` keyed by tool key (a name is read in the tools' namespace); raises on unknown tools or bad text.
    Views of a tool that was skipped (``skipped``: its key or name) are dropped with it."""
    if not isinstance(views, Mapping):
        raise InvalidArgumentError("views must map a tool's name (or key) to a list of request strings")
    keys = {s.key for s in specs}
    by_name = {s.name: s.key for s in specs}
    gone = {label.rpartition("/")[2] for label in skipped or ()} | set(skipped or ())
    out: dict[str, list[str]] = {}
    for name, texts in views.items():
        key = name if name in keys else by_name.get(name)
        if key is None and name in gone:
            continue
        if key is None:
            raise InvalidArgumentError(
                f"views for {shown(name)}, which is not among the tools being registered"
            )
        if isinstance(texts, str) or not isinstance(texts, Sequence):
            raise InvalidArgumentError(f"views for {name!r} must be a list of strings")
        cleaned = [" ".join(t.split()) for t in texts if isinstance(t, str) and t.strip()]
        if len(cleaned) != len(texts):
            raise InvalidArgumentError(f"views for {name!r} must be non-empty strings")
        out[key] = list(dict.fromkeys(cleaned))
    return out


def _documents(
    specs: Sequence[ToolSpec], views: Mapping[str, Sequence[str]], by_key: Mapping[str, ToolSpec]
) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """Ids, texts and metadata of the documents to write: each tool of ``specs`` (its own document), and the
    views of ``views`` (tool key → its requests; ``by_key`` gives their tools), ``<key>#r<n>`` each."""
    ids: list[str] = []
    texts: list[str] = []
    metas: list[dict[str, Any]] = []
    for spec in specs:
        ids.append(spec.key)
        texts.append(tool_document(spec))
        metas.append(_main_meta(spec))
    for key, views_of in views.items():
        spec = by_key[key]
        meta = {
            "tool_key": key,
            "tool_view": VIEW_REQUEST,
            "tool_hash": _indexed_hash(spec),
            "tool_read_only": spec.read_only,
            "views_hash": _views_hash(views_of),
            **({"tool_namespace": spec.namespace} if spec.namespace else {}),
        }
        for n, text in enumerate(views_of):
            ids.append(f"{key}#r{n}")
            texts.append(text)
            metas.append(dict(meta))
    return ids, texts, metas


def _main_meta(spec: ToolSpec) -> dict[str, Any]:
    meta = {  # no trust level: trust is the catalog's configuration, read when a request is answered
        "tool_key": spec.key,
        "tool_view": VIEW_TOOL,
        "tool_hash": _indexed_hash(spec),
        "tool_read_only": spec.read_only,  # the hint as published; find_tools(read_only=True) also asks trust
        "tool_name": spec.name,
        "tool_spec": json.dumps(spec.to_dict(), ensure_ascii=False, sort_keys=True),
    }
    if spec.namespace:
        meta["tool_namespace"] = spec.namespace
    return meta


def _flags(snap: _Snapshot, key: str) -> tuple[str, ...]:
    flags = snap.text_flags.get(key, ()) + ((guard.NAME_CLASH,) if key in snap.clashes else ())
    return flags + (guard.HUB,) if snap.hubs and key in snap.hubs else flags


def _norm(text: str) -> str:
    return _NORM.sub("", text.lower())


# -- fusing the per-query tool lists: {tool: score} per query → {tool: (score, index of the query it came from)} --
def _fuse_queries(lists: list[dict[str, float]], rewrites: bool) -> fusion.Sourced:
    """One score per tool from the raw request's list (``lists[0]``) and the other queries' lists.

    Rewrites (caller or LLM queries, each standing for a capability the request needs): a tool's best score
    over them plus ``REWRITE_RAW_SHARE x`` its raw-request score (the rewrites are sharper than the request;
    the request breaks their ties). LLM-free steps (fragments of the request): the best score over the request
    and its steps plus ``STEP_RAW_BONUS x`` the request's (the whole request stays ahead of any one fragment).
    Measured against max, RRF and CombSUM fusion: README, "Tool retrieval"."""
    raw, extra = lists[0], lists[1:]
    if not extra:
        return {key: (score, 0) for key, score in raw.items()}
    if rewrites:
        best = {key: (score, n + 1) for key, (score, n) in fusion.max_lists(extra).items()}
        bonus = REWRITE_RAW_SHARE
    else:
        best = fusion.max_lists(lists)
        bonus = STEP_RAW_BONUS
    keys = best.keys() | raw.keys()
    return {
        key: (best.get(key, (0.0, 0))[0] + bonus * raw.get(key, 0.0), best.get(key, (0.0, 0))[1])
        for key in keys
    }


def _and(where: dict[str, Any] | None, condition: dict[str, Any]) -> dict[str, Any]:
    return condition if where is None else {"$and": [where, condition]}


@dataclass(frozen=True)
class _Allowed:
    """The filter of one find_tools call as a test of a tool (the same test its ``where`` makes in the store)."""

    namespaces: frozenset[str] | None
    read_only: Callable[[ToolSpec], bool] | None  # the catalog's is_read_only, when asked for read-only tools

    @property
    def alone(self) -> bool:
        """Whether the caller asked for one server's tools (then that server is not capped)."""
        return self.namespaces is not None and len(self.namespaces) == 1

    def __call__(self, spec: ToolSpec) -> bool:
        in_namespace = self.namespaces is None or spec.namespace in self.namespaces
        return in_namespace and (self.read_only is None or self.read_only(spec))


@dataclass(frozen=True)
class _Plan:
    """The queries searched for one request (the request first); whether the others are rewrites (caller or
    LLM queries) rather than the request's own steps; whether an LLM wrote them; a fallback note."""

    queries: list[str]
    rewrites: bool
    generated: bool
    note: str | None
