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
import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import fusion
from ..documents import as_documents
from ..errors import (
    CollectionNotFoundError,
    InvalidArgumentError,
    InvalidQueryError,
    LLMUnavailableError,
    NoRecordedReplyError,
    ToolNotFoundError,
    UnreadableFileError,
)
from ..index import META_VERSION, CollectionIndex
from ..llm import LLM, CachedLLM
from ..llm.replay import TOOL_QUERIES, TOOL_VIEWS
from ..llm.replies import parse_list
from ..retrieval import check_k
from ..scout import Scout
from ..store import check_collection_name
from ..suspicion import has_instructions, text_flags
from . import guard
from .queries import PROMPT_VERSION, decompose, expansion_prompt, generation_prompt
from .spec import DOCUMENT_VERSION, ToolSpec, split_name, to_spec, tool_document

VIEW_TOOL, VIEW_REQUEST = "tool", "request"
MAX_QUERIES = 8  # raw request + at most 7 more per call
EXPANSION_VIEWS = 3
# How a tool's score is made (measured on MetaTool with recorded views and agent queries; README, "Tool retrieval"):
VIEW_SHARE = 0.5  # a tool with views: (1 - share) x its description's score + share x its best view's score
STEP_RAW_BONUS = (
    0.5  # LLM-free steps: the best of the request and its steps, plus half the request's own score
)
REWRITE_RAW_SHARE = 0.25  # caller / LLM queries: the best query's score, plus a quarter of the request's
_NORM = re.compile(r"[^a-z0-9]+")
_IDENT = re.compile(r"[A-Za-z_][\w.-]*[\w]")


@dataclass(frozen=True)
class ToolHit:
    """A tool found for a request: its spec and a higher-is-better score (comparable within one result)."""

    spec: ToolSpec
    score: float
    query: str | None = None  # the query whose result list gave the tool its score
    flags: tuple[str, ...] = ()  # why it looks hostile (word_list, repetitive, instructions, hub, name_clash)
    trust: str = guard.UNTRUSTED  # its server's trust level: an untrusted flagged tool's score was demoted

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
    requests); a fallback note."""

    added: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    expanded: tuple[str, ...] = ()
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": list(self.added),
            "replaced": list(self.replaced),
            "unchanged": list(self.unchanged),
            "expanded": list(self.expanded),
            "note": self.note,
        }


@dataclass
class _Snapshot:
    specs: dict[str, ToolSpec] = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)
    view_hashes: dict[str, str] = field(default_factory=dict)  # tools with views → what their views are
    by_name: dict[str, list[str]] = field(default_factory=dict)
    count: int = -1
    version: str = ""  # the store's write version when read (hopscout.index: every write stamps a new one)
    trust: dict[str, str] = field(default_factory=dict)
    flags: dict[str, tuple[str, ...]] = field(default_factory=dict)  # text and name flags; hubs join later
    hubs: set[str] | None = None  # computed on the first search of this snapshot
    added: dict[str, float] = field(default_factory=dict)  # when each tool was first registered


class ToolCatalog:
    """Tool retrieval over one collection (``settings.tools_collection`` unless named).

    >>> catalog = ToolCatalog(Scout())
    >>> catalog.register(mcp_tools, namespace="github")        # MCP, OpenAI, LangChain, LlamaIndex tools or dicts
    >>> for hit in catalog.find_tools("open a pull request and ask for review", k=5):
    ...     print(hit.key, hit.score)

    ``llm`` (anything with ``complete``) defaults to the scout's LLM (``Scout(llm=...)`` or HOPSCOUT_LLM_*);
    without one, query generation and expansion are skipped and the LLM-free path is used. Replies are cached
    in the scout's LLM cache. ``defend=False`` still flags tools that look hostile but neither demotes nor
    caps them (to measure what the defences do)."""

    def __init__(
        self, scout: Scout, *, collection: str | None = None, llm: LLM | None = None, defend: bool = True
    ) -> None:
        self.scout = scout
        if not isinstance(defend, bool):
            raise InvalidArgumentError(f"defend must be True or False, got {defend!r}")
        self.defend = defend
        self.collection = check_collection_name(collection or scout.settings.tools_collection)
        if llm is not None and not callable(getattr(llm, "complete", None)):
            raise InvalidArgumentError(f"llm must have a complete(prompt) method, got {type(llm).__name__}")
        self.completions: CachedLLM | None = scout.engine.completions(llm)
        self._snapshot: _Snapshot | None = None
        self._lock = threading.RLock()

    @property
    def llm(self) -> LLM | None:
        """The LLM that writes queries and expansion views (None: the LLM-free paths)."""
        return self.completions.llm if self.completions is not None else None

    # -- reading the catalog ----------------------------------------------------------------------
    def _index(self, create: bool = False) -> CollectionIndex:
        return self.scout.engine.index(self.collection, create=create)

    def _load(self, force: bool = False) -> _Snapshot:
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
            for _, meta in index.metadatas({"tool_view": VIEW_TOOL}):
                spec = ToolSpec(**json.loads(meta["tool_spec"]))
                snap.specs[spec.key] = spec
                snap.hashes[spec.key] = meta["tool_hash"]
                snap.trust[spec.key] = str(meta.get("tool_trust", guard.UNTRUSTED))
                snap.added[spec.key] = float(meta.get("tool_added", 0.0))
                for form in {_norm(spec.name), _norm(spec.key), _norm(split_name(spec.name))}:
                    snap.by_name.setdefault(form, []).append(spec.key)
            clashes = guard.name_clashes(snap.specs.values(), snap.trust, snap.added)
            for key, spec in snap.specs.items():
                flags = _text_flags(spec) + ((guard.NAME_CLASH,) if key in clashes else ())
                if flags:
                    snap.flags[key] = flags
            snap.view_hashes = {
                m["tool_key"]: str(m.get("views_hash", ""))
                for _, m in index.metadatas({"tool_view": VIEW_REQUEST})
            }
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
        trust: str = guard.UNTRUSTED,
    ) -> RegisterReport:
        """Add or update tools. Unchanged tools (same content hash) are left alone; changed ones are replaced.

        ``views`` gives tools extra views, written elsewhere (e.g. by your own LLM, in a batch): per tool (its
        name, or its key ``namespace/name``), a few requests a user might make that it serves; a tool then scores
        as its best view. ``expand=True`` asks hopscout's LLM for views of the tools that ``views`` does not
        cover (replies are cached, so an unchanged tool never costs a second call).

        ``trust`` is the tools' server's trust level: ``"untrusted"`` (the default) tools that look hostile
        (their ``flags``) are demoted and one untrusted server takes at most a share of the slots;
        ``"trusted"`` tools keep their flags but are never demoted (see :mod:`hopscout.tools.guard`). A tool
        registered again with another trust level is replaced."""
        trust = guard.check_trust(trust)
        if isinstance(getattr(tools, "tools", None), list):  # an MCP ListToolsResult
            tools = tools.tools  # type: ignore[attr-defined]
        if isinstance(tools, (str, bytes, dict)) or not isinstance(tools, Iterable):
            raise InvalidArgumentError(
                "tools must be a list of tools (MCP, OpenAI, LangChain, LlamaIndex, ToolSpec or dicts)"
            )
        specs = [to_spec(tool, namespace, position=n) for n, tool in enumerate(tools)]
        keys = [s.key for s in specs]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise InvalidArgumentError(f"tools given twice in one register call: {', '.join(dupes[:10])}")
        given = _check_views(views, specs) if views is not None else {}
        with self._lock:
            snap = self._load(force=True)
            added = [s for s in specs if s.key not in snap.hashes]
            replaced = [
                s for s in specs if s.key in snap.hashes and snap.hashes[s.key] != _indexed_hash(s, trust)
            ]
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
            if stale:
                self.scout.delete(where={"tool_key": {"$in": stale}}, collection=self.collection)
            if stale_views:
                self.scout.delete(
                    where={"$and": [{"tool_key": {"$in": stale_views}}, {"tool_view": VIEW_REQUEST}]},
                    collection=self.collection,
                )
            docs: list[dict[str, Any]] = []
            for spec in added + replaced:
                meta = _main_meta(spec, trust, snap.added.get(spec.key))
                docs.append({"id": spec.key, "text": tool_document(spec), "metadata": meta})
            by_key = {s.key: s for s in specs}
            for key, texts in new_views.items():
                namespace = by_key[key].namespace
                meta = {
                    "tool_key": key,
                    "tool_view": VIEW_REQUEST,
                    "tool_hash": _indexed_hash(by_key[key], trust),
                    "tool_read_only": by_key[key].read_only,
                    "views_hash": _views_hash(texts),
                    **({"tool_namespace": namespace} if namespace else {}),
                }
                docs.extend(
                    {"id": f"{key}#r{n}", "text": text, "metadata": meta} for n, text in enumerate(texts)
                )
            if docs:  # tools are found in one hop: no key phrases for the phrase hop
                written = as_documents(docs, None, None)
                self.scout.engine.write(
                    self._index(create=True),
                    [str(d.id) for d in written],
                    [d.text for d in written],
                    [dict(d.metadata) for d in written],
                    phrases=False,
                )
            self._snapshot = None
        return RegisterReport(
            tuple(s.key for s in added),
            tuple(s.key for s in replaced),
            tuple(s.key for s in unchanged),
            tuple(k for k, v in new_views.items() if v),
            note,
        )

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
                raise InvalidArgumentError(f"a tool name must be a non-empty string, got {name!r}")
            keys.append(f"{namespace}/{name}" if namespace else name)
        with self._lock:
            snap = self._load(force=True)
            present = [k for k in keys if k in snap.specs]
            if present:
                self.scout.delete(where={"tool_key": {"$in": present}}, collection=self.collection)
            self._snapshot = None
        return len(present)

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
        the search to tools of those servers; ``read_only=True`` to tools whose annotations mark them read-only
        (``readOnlyHint: true``). Both filter the search itself, so ``k`` tools come back when that many pass."""
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
        if read_only:
            where = _and(where, {"tool_read_only": True})
        allowed = _Allowed(None if namespaces is None else frozenset(namespaces), read_only)
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
        lists = self._search_lists(flat, k, where)
        out, at = [], 0
        for plan in plans:
            hits = self._rank(plan, lists[at : at + len(plan.queries)], k, allowed, snap)
            out.append(ToolResults(hits, plan.queries, plan.generated, plan.note))
            at += len(plan.queries)
        return out

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
        self, queries: list[str], k: int, where: dict[str, Any] | None
    ) -> list[dict[str, float]]:
        """Per query: ``{tool key: score}``, the search mode's fused scores (the collection's fusion weight).
        A tool's score is its description's; a tool with views scores ``(1 - VIEW_SHARE) x`` its description's
        plus ``VIEW_SHARE x`` its best view's (each normalised in its own list: a field of its own)."""
        snap = self._load()
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
                    key = doc_id.partition("#")[0]  # a view's id is "<tool key>#r<n>"; keys hold no '#'
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
        fused = _fuse_queries(lists, plan.rewrites)
        top = max((score for score, _ in fused.values()), default=0.0)
        for key, bonus in self._name_matches(plan.queries[0], snap).items():
            if allowed(snap.specs[key]):  # a named tool joins only if the search's filter would let it in
                fused[key] = (top + bonus, fused.get(key, (0.0, 0))[1])
        fused = {  # written by another process since the snapshot: picked up on the next load
            key: (score * self._prior(snap, key), source)
            for key, (score, source) in fused.items()
            if key in snap.specs
        }
        ranked = [key for key, _ in sorted(fused.items(), key=lambda item: (-item[1][0], item[0]))]
        if self.defend and not allowed.alone:
            namespaces = {key: snap.specs[key].namespace for key in ranked}
            ranked = guard.cap_servers(ranked, namespaces, snap.trust, k, self.scout.settings.server_share)
        return [
            ToolHit(
                snap.specs[key],
                float(fused[key][0]),
                plan.queries[fused[key][1]],
                _flags(snap, key),
                snap.trust.get(key, guard.UNTRUSTED),
            )
            for key in ranked[:k]
        ]

    def _prior(self, snap: _Snapshot, key: str) -> float:
        if not self.defend:
            return 1.0
        trust = snap.trust.get(key, guard.UNTRUSTED)
        return guard.prior(_flags(snap, key), trust, self.scout.settings.flagged_demotion)

    def flagged(self) -> dict[str, tuple[str, ...]]:
        """Every tool that looks hostile, by key, with its flags (see :mod:`hopscout.tools.guard`)."""
        snap = self._guarded()
        return {key: _flags(snap, key) for key in sorted(snap.specs) if _flags(snap, key)}

    def _guarded(self) -> _Snapshot:
        """The snapshot with its hubs: the tools in the top results of many generic probe requests."""
        with self._lock:
            snap = self._load()
            if snap.hubs is None:
                snap.hubs = set()  # while probing, and for good if the catalog is empty
                if len(snap.specs) >= guard.HUB_MIN_TOOLS:
                    probes = self._search_lists(list(guard.PROBES), guard.HUB_K, None)
                    tops = [sorted(found, key=lambda key: (-found[key], key)) for found in probes]
                    snap.hubs = guard.hubs(tops, len(snap.specs))
            return snap

    @staticmethod
    def _name_matches(request: str, snap: _Snapshot) -> dict[str, float]:
        """Tools the request names: the whole request is a tool's name (bonus 2), or it mentions a multi-part
        identifier that is a tool's name (bonus 1)."""
        found = {key: 2.0 for key in snap.by_name.get(_norm(request), [])}
        if len(request) <= 2000:
            for token in set(_IDENT.findall(request)):
                if len(split_name(token).split()) >= 2 or "/" in token:
                    for key in snap.by_name.get(_norm(token), []):
                        name = snap.specs[key].name
                        if token in (name, key):
                            found.setdefault(key, 1.0)
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


def _indexed_hash(spec: ToolSpec, trust: str) -> str:
    """Changes when the tool, its trust level or the way its document is written changes (then it is indexed
    again). Untrusted tools keep the hash they had before trust levels existed."""
    suffix = "" if trust == guard.UNTRUSTED else f".{trust}"
    return f"{spec.content_hash}.{DOCUMENT_VERSION}{suffix}"


def _text_flags(spec: ToolSpec) -> tuple[str, ...]:
    """What reads as hostile in the tool's description, and instructions to the agent in its parameters."""
    flags = text_flags(spec.description)
    if "instructions" not in flags and has_instructions(tool_document(spec)):
        flags += ("instructions",)
    return flags


def _views_hash(texts: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(list(texts), ensure_ascii=False).encode()).hexdigest()[:16]


def _check_views(views: Any, specs: Sequence[ToolSpec]) -> dict[str, list[str]]:
    """``views`` keyed by tool key (a name is read in the tools' namespace); raises on unknown tools or bad text."""
    if not isinstance(views, Mapping):
        raise InvalidArgumentError("views must map a tool's name (or key) to a list of request strings")
    keys = {s.key for s in specs}
    by_name = {s.name: s.key for s in specs}
    out: dict[str, list[str]] = {}
    for name, texts in views.items():
        key = name if name in keys else by_name.get(name)
        if key is None:
            raise InvalidArgumentError(f"views for {name!r}, which is not among the tools being registered")
        if isinstance(texts, str) or not isinstance(texts, Sequence):
            raise InvalidArgumentError(f"views for {name!r} must be a list of strings")
        cleaned = [" ".join(t.split()) for t in texts if isinstance(t, str) and t.strip()]
        if len(cleaned) != len(texts):
            raise InvalidArgumentError(f"views for {name!r} must be non-empty strings")
        out[key] = list(dict.fromkeys(cleaned))
    return out


def _main_meta(spec: ToolSpec, trust: str, added: float | None = None) -> dict[str, Any]:
    meta = {
        "tool_key": spec.key,
        "tool_view": VIEW_TOOL,
        "tool_hash": _indexed_hash(spec, trust),
        "tool_trust": trust,
        "tool_added": added or time.time(),  # who registered a name first keeps it (guard.name_clashes)
        "tool_read_only": spec.read_only,  # what find_tools(read_only=True) filters on
        "tool_name": spec.name,
        "tool_spec": json.dumps(spec.to_dict(), ensure_ascii=False, sort_keys=True),
    }
    if spec.namespace:
        meta["tool_namespace"] = spec.namespace
    return meta


def _flags(snap: _Snapshot, key: str) -> tuple[str, ...]:
    flags = snap.flags.get(key, ())
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
    read_only: bool

    @property
    def alone(self) -> bool:
        """Whether the caller asked for one server's tools (then that server is not capped)."""
        return self.namespaces is not None and len(self.namespaces) == 1

    def __call__(self, spec: ToolSpec) -> bool:
        in_namespace = self.namespaces is None or spec.namespace in self.namespaces
        return in_namespace and (not self.read_only or spec.read_only)


@dataclass(frozen=True)
class _Plan:
    """The queries searched for one request (the request first); whether the others are rewrites (caller or
    LLM queries) rather than the request's own steps; whether an LLM wrote them; a fallback note."""

    queries: list[str]
    rewrites: bool
    generated: bool
    note: str | None
