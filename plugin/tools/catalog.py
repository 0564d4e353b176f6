"""``ToolCatalog``: register tools, then find the few that fit a request.

Each tool is one document (split name, name, description, parameters) in its own collection, searched with the
core's hybrid retrieval; optional views (requests a user might make, yours or the LLM's) point at it too. A
request is searched as several queries (the raw request, plus the caller's, the LLM's or its own steps) and the
per-query tool lists are fused; LLM failures never raise from ``find_tools``: ``note`` says what was used.
The facade over :mod:`.intake` (what register is given), :mod:`.registry` (the snapshot, the write path),
:mod:`.planning` (a request's queries), :mod:`.search` (the stages) and :mod:`.policy` (trust, read-only)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..engine import Engine
from ..errors import InvalidArgumentError, ToolNotFoundError
from ..llm import LLM, CachedLLM
from ..retrieval import DEFAULT_AGENT_K, check_k
from ..scout import Scout, engine_of
from ..store import check_collection_name
from ..untrusted import shown
from . import grouping, guard, intake, planning, quarantine, scope, search
from .conversation import add_context
from .expansion import expand_views
from .pins import Pin, PinStore
from .policy import TrustPolicy, check_namespace
from .registry import Registry
from .results import RegisterReport, ToolHit, ToolResults
from .selection import select_tools
from .spec import ToolSpec


class ToolCatalog:
    """Tool retrieval over one collection (``settings.tools_collection`` unless named).

    >>> catalog = ToolCatalog(Scout())
    >>> catalog.register(mcp_tools, namespace="github")        # MCP, OpenAI, LangChain, LlamaIndex tools or dicts
    >>> for hit in catalog.find_tools("open a pull request and ask for review", k=5):
    ...     print(hit.key, hit.score)

    ``scout`` is a :class:`Scout` (or its engine). ``llm`` (anything with ``complete``) defaults to the scout's
    LLM (``Scout(llm=...)`` or HOPSCOUT_LLM_*); without one, query generation and expansion are skipped and the
    LLM-free path is used. Replies are cached in the scout's LLM cache. ``defend=False`` still flags tools that
    look hostile but neither demotes nor caps them, nor bounds the name match of tools nobody vouches for (to
    measure what the defences do).

    Trust is this object's configuration, read whenever a request is answered, never the stored tools':
    ``trust`` maps a namespace (a server) to ``"trusted"`` or ``"untrusted"`` (a namespace not listed is
    untrusted; ``register(..., trust=...)`` sets one too), and ``read_only_tools`` maps a namespace to the
    names of its tools the configuration declares read-only (an allow-list beside the hints of trusted
    servers: :meth:`is_read_only`). The collection is marked as a tool catalog when written: ``Scout.add``,
    ``search`` and ``delete`` refuse it, so its documents come only from :meth:`register`; a catalog never takes
    over a collection that holds documents, and reads only the tool documents it wrote.

    Thread-safe, and a request never waits behind a registration: :meth:`register` embeds the new tools before
    it takes the catalog's lock, holds it only to write them, and a request that finds the lock held (a write,
    or another request reading a changed catalog) is answered from the last catalog it read.

    ``quarantine=True`` (the router's mode; or a :class:`~hopscout.tools.pins.PinStore` to keep the pins in)
    pins every tool's definition at first sight in the store under the settings' home, and holds an untrusted
    server's tool that gives the agent orders, hides characters or changed since it was pinned: it is not
    indexed until a human approves it (:meth:`quarantined`, :meth:`review`; :mod:`hopscout.tools.pins`)."""

    def __init__(
        self,
        scout: Scout | Engine,
        *,
        collection: str | None = None,
        llm: LLM | None = None,
        defend: bool = True,
        trust: Mapping[str, str] | None = None,
        read_only_tools: Mapping[str, Collection[str]] | None = None,
        quarantine: bool | PinStore = False,
    ) -> None:
        self.scout = scout  # as given: what a second catalog over the same store is made from
        engine = engine_of(scout)
        if not isinstance(defend, bool):
            raise InvalidArgumentError(f"defend must be True or False, got {defend!r}")
        self.defend = defend
        self.collection = check_collection_name(collection or engine.settings.tools_collection)
        if llm is not None and not callable(getattr(llm, "complete", None)):
            raise InvalidArgumentError(f"llm must have a complete(prompt) method, got {type(llm).__name__}")
        self.completions: CachedLLM | None = engine.completions(llm)
        self._engine = engine
        self._policy = TrustPolicy(trust, read_only_tools)
        self._scores = search.FirstToolScores(engine, self.collection)
        self._registry = Registry(engine, self.collection, self._policy, self._scores)
        if not isinstance(quarantine, (bool, PinStore)):
            raise InvalidArgumentError(
                f"quarantine must be True, False or a PinStore, got {shown(quarantine)}"
            )
        self.pins: PinStore | None = (
            quarantine
            if isinstance(quarantine, PinStore)
            else PinStore.under(engine.settings.home)
            if quarantine
            else None
        )

    def with_options(self, *, defend: bool) -> ToolCatalog:
        """A second catalog over the same collection, with this one's LLM and trust configuration (a copy) and
        ``defend`` as given: e.g. ``defend=False``, to measure what the defences do."""
        other = ToolCatalog(
            self.scout, collection=self.collection, llm=self.llm, defend=defend, quarantine=self.pins or False
        )
        other._policy.adopt(self._policy)
        return other

    # -- the configuration: trust and read-only ----------------------------------------------------
    def trust_of(self, namespace: str | None) -> str:
        """The trust level the configuration gives ``namespace`` (None: tools registered without one):
        ``"trusted"`` or ``"untrusted"`` (anything not configured)."""
        return self._policy.trust_of(namespace)

    def is_read_only(self, spec: ToolSpec) -> bool:
        """Whether ``spec`` may be offered as read-only: its ``readOnlyHint`` is true and it is vouched for (the
        catalog owner's own, registered without a namespace, or a trusted server's: an untrusted server's hint is
        its own claim), or the configuration's ``read_only_tools`` names it."""
        return self._policy.is_read_only(spec)

    @property
    def llm(self) -> LLM | None:
        """The LLM that writes queries and expansion views (None: the LLM-free paths)."""
        return self.completions.llm if self.completions is not None else None

    # -- reading the catalog ----------------------------------------------------------------------
    def tools(self) -> list[ToolSpec]:
        """Every registered tool, by key."""
        snap = self._registry.load(force=True)
        return [snap.specs[key] for key in sorted(snap.specs)]

    def get(self, key: str) -> ToolSpec:
        """The tool registered under ``key`` (``namespace/name`` or ``name``); raises ToolNotFoundError."""
        snap = self._registry.load()
        if key not in snap.specs:
            snap = self._registry.load(force=True)
        try:
            return snap.specs[key]
        except KeyError:
            close = [k for k in snap.specs if k.endswith(f"/{key}") or k.split("/")[-1] == key.split("/")[-1]]
            hint = f"; did you mean {', '.join(sorted(close)[:5])}?" if close else ""
            raise ToolNotFoundError(
                f"no tool {key!r} in catalog {self.collection!r} ({len(snap.specs)} tools){hint}"
            ) from None

    def __len__(self) -> int:
        return len(self._registry.load().specs)

    def flagged(self) -> dict[str, tuple[str, ...]]:
        """Every tool that looks hostile, by key, with its flags (see :mod:`hopscout.tools.guard`)."""
        snap = self._registry.guarded(wait=True)
        return {key: snap.flags(key) for key in sorted(snap.specs) if snap.flags(key)}

    # -- the quarantine -------------------------------------------------------------------------------
    def quarantined(self) -> dict[str, Pin]:
        """The tools held for review, by key (each :class:`~hopscout.tools.pins.Pin` says why: its ``reasons``
        and ``status``, ``"held"`` or ``"rejected"``); empty when quarantine is off."""
        return self.pins.held(self.collection) if self.pins is not None else {}

    def review(self, key: str, approve: bool) -> Pin:
        """A human's review of the held tool ``key``: approved, its held definition is pinned and registered
        (found and callable from now on); rejected, it stays held until its server sends another definition.
        Raises NotHeldError when ``key`` is not held. Never expose this to an agent: the tool under review is
        one that addresses the agent, and an agent that could approve it would approve what attacks it."""
        if self.pins is None:
            raise InvalidArgumentError(
                "this catalog has no quarantine: build it with ToolCatalog(quarantine=True)"
            )
        pin = self.pins.review(self.collection, key, approve)
        if approve and pin.definition is not None:
            namespace, _, _ = key.rpartition("/")
            self.register([pin.definition], namespace or None)
        return pin

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
            namespace = check_namespace(namespace, "namespace")
        if self.pins is not None:  # read twice: as specs, and as the raw definitions that are pinned
            tools = _reread(tools)
        read = intake.read_tools(tools, namespace, self.collection)
        read, held = self._hold(tools, read, namespace, trust)
        given = intake.check_views(views, read) if views is not None else {}
        writer = functools.partial(expand_views, self.completions) if expand else None
        report = self._registry.register(read, given, expand=writer, namespace=namespace, trust=trust)
        if not held:
            return report
        return dataclasses.replace(report, skipped={**report.skipped, **held})

    def _hold(
        self, tools: Any, read: intake.ReadTools, namespace: str | None, trust: str | None
    ) -> tuple[intake.ReadTools, dict[str, str]]:
        """With quarantine on, pin ``read``'s tools and take the held ones out of it (and out of the catalog, if
        an earlier definition is indexed): the tools to register, and the held ones with why, as the report's
        ``skipped`` says it."""
        if self.pins is None or not read.specs:
            return read, {}
        level = trust if trust is not None else self._policy.trust_of(namespace)
        screened = quarantine.screen(self.pins, self.collection, tools, read.specs, level)
        if not screened.held:
            return read, {}
        indexed = [key for key in screened.held if key in self._registry.load(force=True).specs]
        if indexed:
            self._registry.remove(indexed)
        return intake.ReadTools(screened.specs, read.skipped), {
            key: f"held for review ({', '.join(reasons)}): a person approves it with `hopscout router review`"
            for key, reasons in screened.held.items()
        }

    def register_file(
        self, path: str | Path, namespace: str | None = None, *, expand: bool = False
    ) -> RegisterReport:
        """Register the tools in a JSON file: a list of tools, or ``{"tools": [...]}`` (an MCP tools/list result)."""
        return self.register(intake.read_tool_file(path), namespace, expand=expand)

    def remove(self, names: Iterable[str], namespace: str | None = None) -> int:
        """Remove tools by name (within ``namespace``) or by key; returns how many were registered."""
        if isinstance(names, str) or not isinstance(names, Iterable):
            raise InvalidArgumentError("names must be a list of tool names")
        keys = []
        for name in names:
            if not isinstance(name, str) or not name:
                raise InvalidArgumentError(f"a tool name must be a non-empty string, got {shown(name)}")
            keys.append(f"{namespace}/{name}" if namespace else name)
        return self._registry.remove(keys)

    # -- searching --------------------------------------------------------------------------------
    def find_tools(
        self,
        request: str,
        k: int = DEFAULT_AGENT_K,  # 5: an agent reads every tool offered, and each one costs its context
        queries: Sequence[str] | None = None,
        *,
        generate: bool | None = None,
        namespaces: Sequence[str] | None = None,
        read_only: bool = False,
        context: Sequence[str] | None = None,
    ) -> ToolResults:
        """The ``k`` tools that best fit ``request``.

        A request that is a tool's name, or an unambiguous part of one (``weather forecast`` for
        ``getWeatherForecast``), ranks that tool first when it is vouched for (see ``defend``);
        ``select:NAME[,NAME]`` fetches the tools of those names (or keys) directly, in that order, with no search.

        ``queries`` (e.g. written by the calling agent, one per capability) are searched beside the raw request.
        Without them, the configured LLM writes them (``generate=None``: when an LLM is configured; ``False``:
        never); without an LLM, the request's own steps ("... and then ...") are used. ``namespaces`` limits
        the search to tools of those servers; ``read_only=True`` to the tools :meth:`is_read_only` passes (a
        trusted server's ``readOnlyHint``, or ``read_only_tools``). Both filter the search itself, so ``k`` tools
        come back when that many pass. ``context``: the conversation's recent turns, oldest first (the last
        :data:`~hopscout.tools.planning.MAX_CONTEXT_TURNS`), searched beside the request at a lower weight
        (:mod:`hopscout.tools.conversation`): they break its near-ties, never lead; None or [] changes nothing."""
        return self.find_tools_batch(
            [request],
            k,
            None if queries is None else [queries],
            generate=generate,
            namespaces=namespaces,
            read_only=read_only,
            contexts=None if context is None else [context],
        )[0]

    def find_tools_batch(
        self,
        requests: Sequence[str],
        k: int = DEFAULT_AGENT_K,
        queries: Sequence[Sequence[str] | None] | None = None,
        *,
        generate: bool | None = None,
        namespaces: Sequence[str] | None = None,
        read_only: bool = False,
        contexts: Sequence[Sequence[str] | None] | None = None,
    ) -> list[ToolResults]:
        """:meth:`find_tools` for many requests at once (one batched search); ``queries[i]`` and ``contexts[i]``
        go with request i."""
        settings = self._engine.settings
        requests = planning.check_requests(requests, settings)
        k = check_k(k, settings)
        allowed = scope.allowed(namespaces, read_only, self._policy)
        plans = planning.plan_batch(requests, queries, generate, self.completions, settings, contexts)
        flat = [q for p in plans if p.select is None for q in (*p.queries, *p.context)]
        snap = self._registry.guarded()
        if snap.withheld:  # changed since this snapshot was measured: back once the catalog now is (they are
            # not filtered out in the store, where a filter slows the search: it reads as many more tools)
            allowed = dataclasses.replace(allowed, withheld=snap.withheld)
        where = scope.store_filter(allowed, self._policy, snap.specs.values())
        lists: list[search.ToolScores] = [{} for _ in flat]
        if not where.empty:
            lists = self._scores(flat, k, where.where, snap)
        out, at = [], 0
        for p in plans:
            request = search.ToolRequest(p, k, allowed, snap, self._policy, self.defend, settings)
            if p.select is not None:
                out.append(select_tools(request))
                continue
            mine, at = lists[at : at + len(p.queries)], at + len(p.queries)
            turns, at = lists[at : at + len(p.context)], at + len(p.context)
            stages = (add_context(turns), *search.RANK_STAGES) if turns else search.RANK_STAGES
            hits = search.rank(mine, request, stages)
            out.append(ToolResults(hits=hits, queries=p.queries, generated=p.generated, note=p.note))
        return out

    def similar(self, key: str, k: int = DEFAULT_AGENT_K) -> list[ToolHit]:
        """The ``k`` tools most like the tool ``key`` (raises ToolNotFoundError): its equivalents of other servers
        first (the tools find_tools folds into one entry with it, :mod:`hopscout.tools.grouping`), then the
        tools whose stored documents are closest to its own; ``score`` is the cosine of the two documents.
        Flags and trust are shown as find_tools shows them; nothing is demoted: these are neighbours, not
        answers to a request."""
        self.get(key)
        k = check_k(k, self._engine.settings)
        snap = self._registry.guarded(wait=True)
        return [
            ToolHit(
                spec=snap.specs[other],
                score=score,
                flags=snap.flags(other),
                trust=self._policy.trust_of(snap.specs[other].namespace),
            )
            for other, score in grouping.similar(snap, key, k)
        ]

    def wait_measured(self, timeout: float | None = None) -> bool:
        """Wait for a hubness measure being taken in the background (again after 50, 100, 200, then every 300
        logged requests; of a changed catalog of 10,000 tools or more, after a write: requests meanwhile use the
        last one), then put the catalog as it is now in force, measured: call it after a write and between
        batches when figures must not depend on timing (tests, evaluations). False: ``timeout`` passed first."""
        return self._registry.wait_measured(timeout)

    def close(self) -> None:
        """Start no more background measures (one running is dropped, not waited for); the catalog's other
        caches belong to its scout."""
        self._registry.close()


def _reread(tools: Any) -> Any:
    """``tools`` in a form that can be read twice: an MCP ListToolsResult's list, an iterator as a list (anything
    else as given, for :func:`intake.read_tools` to refuse)."""
    if isinstance(getattr(tools, "tools", None), list):
        return tools.tools
    if isinstance(tools, Iterable) and not isinstance(tools, (str, bytes, Mapping, list)):
        return list(tools)
    return tools
