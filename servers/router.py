"""Tool router: connect to upstream MCP servers, index their tools into hopscout's catalog, forward calls.

Upstreams come from a JSON file in the standard ``mcpServers`` format (also accepted: VS Code's ``servers``)::

    {"mcpServers": {
        "files":  {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv"],
                   "readOnlyTools": ["read_file", "list_directory"], "timeout": 10},
        "search": {"url": "http://127.0.0.1:9000/mcp", "headers": {"Authorization": "Bearer ..."},
                   "trust": "trusted", "callTimeout": 60}}}

Each server's tools enter the catalog under its name (``files/read_file``) and are indexed again when it sends
``notifications/tools/list_changed`` (as a notification on a handshake-era connection, or as a
``subscriptions/listen`` event on a 2026-07-28 one), at most once per ``"reindexInterval"``
(:data:`REINDEX_INTERVAL` s: the notifications meanwhile make one re-index). ``call_tool`` runs only exact
``server/tool`` keys of tools listed now: a bare name, or the key of a server that is down, is refused with the
keys it might mean, never sent to another server. A server's name follows the catalog's rule for namespaces
(:func:`hopscout.namespace_problem`); a tool's name must keep to the MCP specification's characters
``A-Z a-z 0-9 _ . -``, at most 128 (:func:`hopscout.tool_name_problem` with ``strict=True``: no ``/``, ``#``,
look-alike letters or slashes, invisible or bidirectional characters). A tool that breaks it, or that the catalog
refuses (an over-long description, a malformed schema), or that the MCP SDK cannot read (a string where its input
schema's object belongs: :mod:`hopscout.servers.tool_listing` takes it out of the page rather than lose the page),
is skipped with a warning naming server, tool and why; the server's other tools are indexed. ``find_tools``' note
and :data:`SERVERS_URI` name the skipped tools and why.

How a connection picks its protocol era is the server's ``"protocol"`` (:data:`PROTOCOLS`). The default,
``"legacy"``, opens with the ``initialize`` handshake, which every SDK v1 server (most deployed servers) and
every dual-era v2 server speaks; a server that refuses it naming the 2026 versions it serves is connected
again with ``server/discover``. ``"auto"`` (the SDK's default) probes ``server/discover`` first, which a v1
server logs as a 31-line validation error before the fallback; a version (``"2026-07-28"``) adopts it with no
probe.

Each server has a ``"trust"`` (:data:`TRUST_LEVELS`, default ``"untrusted"``): the tools of an untrusted server
that look hostile (a description that reads as a word list, repeats itself, instructs the agent, matches
everything, or takes another server's tool name) are demoted in ``find_tools`` and one untrusted server takes at
most a share of its slots; a trusted server's tools are never demoted. ``find_tools`` hits name their server and
its trust, and carry the flags. A read-only router (``--read-only``) forwards, and ``find_tools`` offers, only
the tools the configuration makes read-only (:meth:`hopscout.ToolCatalog.is_read_only`): those a *trusted*
server marks ``readOnlyHint: true``, and those named in a server's ``"readOnlyTools"``; an untrusted server's
own hint is its claim, not a fact.

Limits, so one server cannot stall or flood the others: connecting and listing its tools must finish within
its ``"timeout"`` (:data:`LIST_TIMEOUT` s), else the server is marked failed and the rest are served; a re-list
that passes it (or fails) keeps the tools listed before, says so in ``find_tools``' note and is tried again after
the interval; a forwarded call gets ``"callTimeout"`` (:data:`CALL_TIMEOUT` s) before it returns a tool error.
A re-index never holds up ``find_tools``: the catalog answers from the tools as they were until it is written.
A listing reads at most :data:`MAX_PAGES` pages and keeps at most ``"maxTools"`` (:data:`MAX_TOOLS`) tools and
:data:`MAX_BYTES` bytes of tool definitions (a tool over :data:`MAX_TOOL_BYTES` is skipped); past a cap it
stops, keeps what fit and says so in ``find_tools``' note. An upstream's own words (its error messages) reach the
agent cut to 200 characters, cleaned (:func:`untrusted_text`) and labelled as its words.

Quarantine: every upstream tool's definition is pinned at first sight (:mod:`hopscout.tools.pins`: a hash of the
raw definition, as mcp-scan does, kept under ``HOPSCOUT_HOME``). A tool of an untrusted server that gives the
agent orders (``instructions``), holds invisible characters (``hidden_chars``) or changed since it was pinned
(``changed``: a rug pull) is held: ``find_tools`` does not offer it and ``call_tool`` refuses it, naming the
review, until a person approves it with ``hopscout router review approve KEY`` (which pins the definition held;
``reject KEY`` keeps it out). A trusted server's changed definition is re-pinned and logged. MCP clients can read
the held tools (key, server, status, why: never their text) as the resource :data:`QUARANTINE_URI`; approving is
the CLI's alone, a person's decision: an agent must not be able to approve what attacks it.

Profiles and lazy loading: ``servers.json`` may name subsets of the servers' tools under ``"profiles"`` (server
allow-lists, tool globs, server ``"tags"``: :class:`hopscout.Profile`); a router serving one (``--profile NAME``)
connects only to the servers it may draw from, and neither offers, describes nor forwards a tool outside it.
The agent's ``tools/list`` holds the meta-tools and the tools pinned by ``"always"`` (a list of ``server/tool``
globs), each under the MCP name ``server__tool`` (:func:`pinned_name`); every other tool is found with
``find_tools`` and read in full with ``describe_tool``. The servers, their tags and tool counts are the resource
:data:`SERVERS_URI`."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import unicodedata
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import (
    CONNECTION_CLOSED,
    UNSUPPORTED_PROTOCOL_VERSION,
    CallToolResult,
    Tool,
    ToolListChangedNotification,
)
from mcp.types.version import MODERN_PROTOCOL_VERSIONS
from typing_extensions import Self

from hopscout import (
    InvalidArgumentError,
    Profile,
    ToolHit,
    ToolSpec,
    namespace_problem,
    shown,
    tool_name_problem,
    untrusted_text,
)

from .tool_listing import ListingScreen, screened

logger = logging.getLogger("hopscout.servers.router")

READY_TIMEOUT = 120.0  # seconds find_tools / call_tool wait at most for upstreams connecting or indexing
LIST_TIMEOUT = 30.0  # default "timeout": seconds to connect to a server and list its tools (and re-list)
REINDEX_INTERVAL = 10.0  # default "reindexInterval": seconds at least between two re-indexes of one server
CALL_TIMEOUT = 120.0  # default "callTimeout": seconds one forwarded call may take
MAX_PAGES = 50  # tools/list pages read per listing (a server paging next_cursor forever stops here)
MAX_TOOLS = 1000  # default "maxTools": tools kept per server
MAX_BYTES = 2_000_000  # bytes of tool definitions (their JSON) kept per server
MAX_TOOL_BYTES = 64_000  # one tool's definition; a larger one is skipped
# An upstream's "protocol": how its connection picks the protocol era (module docstring); the first is the default.
PROTOCOLS = ("legacy", "auto", *MODERN_PROTOCOL_VERSIONS)
# An upstream's "trust": how find_tools treats its tools that look hostile (module docstring); the last is the default.
TRUST_LEVELS = ("trusted", "untrusted")
SKIPPED_NAMED = 10  # skipped tools a status names (with why); the server log names them all
QUARANTINE_URI = "hopscout://router/quarantine"  # the read-only MCP resource listing the held tools
SERVERS_URI = (
    "hopscout://router/servers"  # the read-only MCP resource listing the servers, tags and tool counts
)
PINNED_SEPARATOR = "__"  # a pinned tool's MCP name: server__tool (MCP tool names may not hold "/")
REVIEW_COMMAND = "hopscout router review"  # how a person lists, approves and rejects held tools
# Limits a server's entry may set (module docstring): key → (default, largest value accepted).
LIMITS = {
    "timeout": (LIST_TIMEOUT, 3600.0),
    "callTimeout": (CALL_TIMEOUT, 86400.0),
    "maxTools": (MAX_TOOLS, 100_000),
    "reindexInterval": (REINDEX_INTERVAL, 3600.0),
}


def _their_words(error: BaseException) -> str:
    """An upstream's failure as an agent may read it: the exception's kind, then its message (which the
    upstream wrote, or which quotes what it sent) labelled as untrusted."""
    message = error.message if isinstance(error, MCPError) else str(error)
    said = untrusted_text(message)
    kind = type(error).__name__
    return f'{kind}; its message, untrusted: "{said}"' if said else kind


@dataclass
class Upstream:
    """One configured upstream server and what the router knows of it."""

    name: str
    config: dict[str, Any]
    tools: dict[str, Tool] = field(default_factory=dict)
    read_only_names: frozenset[str] = frozenset()  # its tools the catalog counts read-only (asked per index)
    client: Client | None = None
    error: str | None = None  # why it failed: the router's words, the upstream's own quoted by _their_words
    partial: str | None = None  # which cap cut its last listing short
    # tools its last listing held that were not indexed (invalid name, malformed, oversized, refused): name → why
    skipped: dict[str, str] = field(default_factory=dict)
    screen: ListingScreen = field(default_factory=ListingScreen)  # its listings' malformed tools, taken out
    stale: str | None = None  # why its last re-list failed (the tools listed before it are still served)
    held: dict[str, Any] = field(default_factory=dict)  # its listed tools held for review: name → catalog Pin
    checking: frozenset[str] = (
        frozenset()
    )  # tools whose definition changed, not forwarded while being indexed
    listing: _Listing | None = None  # its last listing: indexed again when a person approves a held tool
    ready: anyio.Event = field(default_factory=anyio.Event)
    changed: anyio.Event = field(default_factory=anyio.Event)
    reindexed: int = 0

    @property
    def trust(self) -> str:
        """The server's trust level: ``"trusted"`` or ``"untrusted"`` (the default)."""
        return str(self.config.get("trust", TRUST_LEVELS[-1]))

    @property
    def tags(self) -> tuple[str, ...]:
        """The server's ``"tags"`` (its categories): what profiles select it by, and what browsing shows."""
        return tuple(sorted(self.config.get("tags") or ()))

    @property
    def read_only_tools(self) -> tuple[str, ...]:
        """The tools the configuration declares read-only (``"readOnlyTools"``), whatever their hints say."""
        return tuple(self.config.get("readOnlyTools") or ())

    @property
    def timeout(self) -> float:
        """Seconds to connect and list the tools, and for each re-index (``"timeout"``)."""
        return float(self.config.get("timeout", LIST_TIMEOUT))

    @property
    def call_timeout(self) -> float:
        """Seconds one forwarded call may take (``"callTimeout"``)."""
        return float(self.config.get("callTimeout", CALL_TIMEOUT))

    @property
    def max_tools(self) -> int:
        """Tools kept from one listing (``"maxTools"``)."""
        return int(self.config.get("maxTools", MAX_TOOLS))

    @property
    def reindex_interval(self) -> float:
        """Seconds at least between two re-indexes (``"reindexInterval"``): the tools/list_changed
        notifications that come meanwhile make one re-index, so a server announcing changes every few
        milliseconds costs what one announcing them every interval does."""
        return float(self.config.get("reindexInterval", REINDEX_INTERVAL))

    async def on_message(self, message: Any) -> None:
        if isinstance(message, ToolListChangedNotification):
            self.changed.set()


def load_upstreams(config: dict[str, Any], source: str = "upstream config") -> list[Upstream]:
    """Check an ``mcpServers`` mapping and return its servers; a clear error for anything unusable."""
    servers = config.get("mcpServers", config.get("servers")) if isinstance(config, dict) else None
    if not isinstance(servers, dict) or not servers:
        raise InvalidArgumentError(
            f'{source}: expected {{"mcpServers": {{"name": {{...}}}}}} with at least one server'
        )
    Profile.tags_in(config, source)  # each server's "tags": a list of short names
    upstreams = []
    for name, entry in servers.items():
        problem = namespace_problem(name)  # the catalog's rule for namespaces: what passes here passes there
        if problem:
            raise InvalidArgumentError(
                f"{source}: server name {shown(name)} cannot name a server: {problem} (at most 128 characters, "
                "without whitespace, '/', '#' or invisible characters)"
            )
        if not isinstance(entry, dict):
            raise InvalidArgumentError(f"{source}: server {name!r} must be an object")
        kind = entry.get("type") or ("stdio" if "command" in entry else "http" if "url" in entry else None)
        if kind == "stdio" and not isinstance(entry.get("command"), str):
            raise InvalidArgumentError(f'{source}: stdio server {name!r} needs a "command" string')
        if kind in ("http", "streamable-http", "streamableHttp") and not isinstance(entry.get("url"), str):
            raise InvalidArgumentError(f'{source}: HTTP server {name!r} needs a "url" string')
        if kind not in ("stdio", "http", "streamable-http", "streamableHttp"):
            raise InvalidArgumentError(
                f"{source}: server {name!r} has type {kind!r}; hopscout connects to stdio "
                '("command") and streamable HTTP ("url") servers'
            )
        if entry.get("protocol", PROTOCOLS[0]) not in PROTOCOLS:
            raise InvalidArgumentError(
                f"{source}: server {name!r} has protocol {entry['protocol']!r}; use one of "
                f"{', '.join(map(repr, PROTOCOLS))} (default {PROTOCOLS[0]!r}: the initialize handshake)"
            )
        if entry.get("trust", TRUST_LEVELS[-1]) not in TRUST_LEVELS:
            raise InvalidArgumentError(
                f"{source}: server {name!r} has trust {entry['trust']!r}; use one of "
                f"{', '.join(map(repr, TRUST_LEVELS))} (default {TRUST_LEVELS[-1]!r})"
            )
        _check_limits(entry, f"{source}: server {name!r}")
        _check_read_only_tools(entry.get("readOnlyTools"), f"{source}: server {name!r}")
        upstreams.append(Upstream(name, dict(entry, type="stdio" if kind == "stdio" else "http")))
    return upstreams


def load_always(config: dict[str, Any], source: str = "upstream config") -> tuple[str, ...]:
    """The ``"always"`` list of a ``servers.json``: ``server/tool`` globs of the tools ``tools/list`` holds
    beside the meta-tools (lazy loading: every other tool is found with ``find_tools``)."""
    always = config.get("always", [])
    if not isinstance(always, list) or not all(isinstance(g, str) and "/" in g for g in always):
        raise InvalidArgumentError(
            f'{source}: "always" must be a list of "server/tool" keys or globs ("files/read_*"), got {always!r:.80}'
        )
    return tuple(always)


def pinned_name(key: str) -> str:
    """The MCP tool name a pinned tool is listed under: ``server/tool`` as ``server__tool``."""
    server, _, name = key.partition("/")
    return f"{server}{PINNED_SEPARATOR}{name}"


def _check_limits(entry: dict[str, Any], where: str) -> None:
    for key, (default, largest) in LIMITS.items():
        value = entry.get(key, default)
        whole = isinstance(default, int)
        ok = isinstance(value, int if whole else (int, float)) and not isinstance(value, bool)
        if not ok or not 0 < value <= largest:
            unit = "a whole number of tools" if whole else "seconds"
            raise InvalidArgumentError(
                f'{where} has "{key}": {value!r}; give {unit} above 0 and at most {largest:g} (default {default:g})'
            )


def _check_read_only_tools(names: object, where: str) -> None:
    if names is None:
        return
    if not isinstance(names, list):
        raise InvalidArgumentError(f'{where}: "readOnlyTools" must be a list of its tool names')
    for name in names:
        problem = tool_name_problem(name, strict=True)
        if problem:
            raise InvalidArgumentError(
                f'{where}: "readOnlyTools" holds {name!r}, which is no tool name: {problem} (give the tool\'s '
                "own name, without the server)"
            )


@dataclass
class _Listing:
    """One listing of a server's tools, within the caps: the tools kept (by name) with their definitions."""

    tools: dict[str, Tool] = field(default_factory=dict)
    docs: list[dict[str, Any]] = field(default_factory=list)
    size: int = 0
    skipped: dict[str, str] = field(default_factory=dict)  # tool name (or #position) → why it is not indexed
    partial: str | None = None

    def skip(self, name: str, why: str) -> None:
        _note_skip(self.skipped, name, why)


class Router:
    """Keeps one client per upstream, the catalog in step with their tools, and forwards calls.

    Use as ``async with router:`` around serving; ``catalog`` is a callable so the catalog (and its model)
    is only built once the first upstream has answered. Build that catalog with :meth:`catalog_options`, so its
    trust and read-only rule (:meth:`hopscout.ToolCatalog.is_read_only`) are this configuration's."""

    def __init__(
        self,
        upstreams: list[Upstream],
        catalog: Callable[[], Any],
        *,
        read_only: bool = False,
        profile: Profile | None = None,
        always: Sequence[str] = (),
    ) -> None:
        self.profile = profile
        # a profile's router connects only to the servers the profile may draw from; the others are named in errors
        self.configured = tuple(up.name for up in upstreams)
        self.upstreams = {
            up.name: up for up in upstreams if profile is None or profile.admits_server(up.name)
        }
        self.always = tuple(always)
        self._catalog = catalog
        self.read_only = read_only
        self._lock = anyio.Lock()
        self._stack: AsyncExitStack | None = None

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        catalog: Callable[[], Any],
        *,
        read_only: bool = False,
        profile: str | None = None,
    ) -> Router:
        """The router of the ``servers.json`` at ``path``, serving its profile ``profile`` (None: every tool); an
        InvalidArgumentError for an unusable file, or a profile it does not define (naming those it does)."""
        try:
            config = json.loads(Path(path).read_text())
        except OSError as exc:
            raise InvalidArgumentError(
                f"cannot read the upstream config {path}: {exc.strerror or exc}"
            ) from exc
        except json.JSONDecodeError as exc:
            raise InvalidArgumentError(f"the upstream config {path} is not valid JSON: {exc}") from exc
        upstreams = load_upstreams(config, str(path))
        profiles = Profile.all_in(config, str(path))
        chosen = Profile.from_config(config, profile, str(path)) if profile is not None else None
        logger.info("profiles in %s: %s", path, ", ".join(sorted(profiles)) or "none")
        always = load_always(config, str(path))
        return cls(upstreams, catalog, read_only=read_only, profile=chosen, always=always)

    def catalog_options(self) -> dict[str, Any]:
        """The :class:`hopscout.ToolCatalog` keywords this configuration sets: each server's ``trust``, its
        ``read_only_tools`` (``"readOnlyTools"``), and quarantine on (module docstring)."""
        return {
            "quarantine": True,
            "trust": {up.name: up.trust for up in self.upstreams.values()},
            "read_only_tools": {
                up.name: up.read_only_tools for up in self.upstreams.values() if up.read_only_tools
            },
        }

    def status(self) -> str | None:
        """What ``find_tools`` tells the agent about the upstreams, when anything is amiss: which failed (the
        upstream's own words quoted as untrusted), which are still connecting, which were indexed in part."""
        parts = []
        for up in self.upstreams.values():
            if up.error:
                parts.append(f"upstream {up.name!r} {up.error}: its tools are missing")
            elif not up.ready.is_set():
                parts.append(f"upstream {up.name!r} is still connecting: its tools are missing")
            if up.stale and not up.error:
                parts.append(f"upstream {up.name!r}: {up.stale}")
            if up.partial:
                parts.append(f"upstream {up.name!r} is indexed in part: {up.partial}")
            if up.held:
                held = ", ".join(f"{up.name}/{name} ({_why(pin)})" for name, pin in sorted(up.held.items()))
                parts.append(
                    f"upstream {up.name!r}: {len(up.held)} of its tools held for review, not offered or callable "
                    f"until a person approves them with `{REVIEW_COMMAND}`: {held}"
                )
            if up.skipped:
                parts.append(f"upstream {up.name!r}: {_skipped_text(up.skipped)}")
        return "; ".join(parts) or None

    # -- lifecycle ----------------------------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        self._stack = AsyncExitStack()
        group = await self._stack.enter_async_context(anyio.create_task_group())
        self._stack.callback(group.cancel_scope.cancel)  # runs first on exit: stop the upstream tasks
        for up in self.upstreams.values():
            group.start_soon(self._run, up)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._stack is not None:
            await self._stack.aclose()

    async def _run(self, up: Upstream) -> None:
        """Serve one upstream until it fails or the router closes. Connecting and its first listing run under a
        deadline on this scope (:meth:`_serve`): one that passes cancels the connection and marks the server
        failed. Later listings have deadlines of their own (:meth:`_relist`)."""
        scope = anyio.CancelScope()
        try:
            with scope:
                await self._serve(up, scope)
        except Exception as exc:  # noqa: BLE001 - an upstream that fails must not take the router down
            up.error = f"failed ({_their_words(_cause(exc))})"
        finally:
            # a deadline is set only while connecting or listing, and only it cancels this scope
            if scope.cancelled_caught or scope.deadline <= anyio.current_time():
                up.error = f'timed out after {up.timeout:g} s connecting or listing its tools (its "timeout")'
            if up.error:
                logger.warning("upstream %s %s", up.name, up.error)
            up.client = None
            up.tools, up.read_only_names, up.partial, up.skipped = {}, frozenset(), None, {}
            up.held, up.listing = {}, None
            up.ready.set()

    async def _serve(self, up: Upstream, scope: anyio.CancelScope) -> None:
        async with AsyncExitStack() as stack:
            scope.deadline = anyio.current_time() + up.timeout  # connecting and the first listing
            client = await self._connect(up, stack)
            up.client = client
            listing = await self._list(up, client)
            scope.deadline = (
                math.inf
            )  # the catalog's own work (the model, the store) is not the upstream's time
            await self._index(up, listing)
            up.ready.set()
            logger.info("upstream %s: %d tools indexed", up.name, len(up.tools))
            async with anyio.create_task_group() as group:
                if client.protocol_version >= "2026-07-28":
                    group.start_soon(self._listen, up, client)
                last = anyio.current_time()
                while True:
                    await up.changed.wait()
                    # one re-index per "reindexInterval" at most: the notifications meanwhile coalesce into it
                    await anyio.sleep(max(0.0, last + up.reindex_interval - anyio.current_time()))
                    up.changed = anyio.Event()
                    last = anyio.current_time()
                    await self._relist(up, client)

    async def _connect(self, up: Upstream, stack: AsyncExitStack) -> Client:
        """A client connected in the upstream's protocol mode. In ``legacy`` mode a server that refuses the
        handshake naming modern versions (-32022) is connected again, with ``server/discover``. No response
        cache: the router always lists afresh."""
        mode = up.config.get("protocol", PROTOCOLS[0])
        try:
            return await stack.enter_async_context(
                Client(
                    screened(await self._transport(up, stack), up.screen),
                    mode=mode,
                    message_handler=up.on_message,
                    cache=None,
                )
            )
        except Exception as exc:  # an MCPError, inside the transport's task group(s)
            if mode != "legacy" or not _modern_only(_cause(exc)):
                raise
        logger.info("upstream %s refused the initialize handshake; connecting with server/discover", up.name)
        return await stack.enter_async_context(
            Client(
                screened(await self._transport(up, stack), up.screen),
                mode="auto",
                message_handler=up.on_message,
                cache=None,
            )
        )

    async def _transport(self, up: Upstream, stack: AsyncExitStack) -> Any:
        entry = up.config
        if entry["type"] == "stdio":
            env = entry.get("env")
            return StdioServerParameters(
                command=entry["command"],
                args=[str(a) for a in entry.get("args") or []],
                env={str(k): str(v) for k, v in env.items()} if env else None,
                cwd=entry.get("cwd"),
            )
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        headers = {str(k): str(v) for k, v in (entry.get("headers") or {}).items()}
        http = await stack.enter_async_context(
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300))
        )
        return streamable_http_client(entry["url"], http_client=http)

    async def _listen(self, up: Upstream, client: Client) -> None:
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                async for _event in subscription:
                    up.changed.set()
        except Exception as exc:  # noqa: BLE001 - without a stream the upstream still serves, unwatched
            logger.info("upstream %s: no tools/list_changed stream (%s)", up.name, _their_words(exc))

    async def _relist(self, up: Upstream, client: Client) -> None:
        """List the upstream's tools again (it announced a change) within its ``timeout``, then re-index them.
        A listing that times out, or that the server answers with an error, keeps the tools listed before (still
        found and called), says so in :meth:`status`, and is tried again after ``reindexInterval``; only a
        connection that closes ends the server."""
        failure = None
        with anyio.move_on_after(up.timeout) as timer:
            try:
                listing = await self._list(up, client)
            except MCPError as exc:
                if exc.code == CONNECTION_CLOSED:
                    raise
                failure = f"failed ({_their_words(exc)})"
        if timer.cancelled_caught:
            failure = f'timed out after {up.timeout:g} s (its "timeout")'
        if failure is not None:
            up.stale = (
                f"its last re-list of tools {failure}; the tools it listed before are still served, and it is "
                f"listed again within {up.reindex_interval:g} s"
            )
            logger.warning("upstream %s: %s", up.name, up.stale)
            up.changed.set()  # tried again once the interval has passed
            return
        await self._index(up, listing)
        up.stale = None

    async def _index(self, up: Upstream, listing: _Listing) -> None:
        """Bring the catalog in step with ``listing``: the server's stale tools removed, the listed ones
        registered (the catalog skips, with a warning, any it refuses: those are not offered or forwarded).
        A tool whose definition changed, or that is gone, stops being forwarded at once: the catalog may hold
        it for review, and until it has decided, ``call_tool`` must not run the definition it has not seen."""
        up.checking = frozenset(
            name for name, tool in up.tools.items() if listing.tools.get(name, tool) != tool
        )
        up.tools = {name: tool for name, tool in up.tools.items() if listing.tools.get(name) == tool}
        async with self._lock:
            catalog = await anyio.to_thread.run_sync(self._catalog)
            known = await anyio.to_thread.run_sync(catalog.tools)
            stale = sorted({s.name for s in known if s.namespace == up.name} - set(listing.tools))
            if stale:
                await anyio.to_thread.run_sync(lambda: catalog.remove(stale, namespace=up.name))
            report = await anyio.to_thread.run_sync(
                lambda: catalog.register(listing.docs, namespace=up.name, trust=up.trust)
            )
            indexed = {*report.added, *report.replaced, *report.unchanged}
            tools = {name: tool for name, tool in listing.tools.items() if f"{up.name}/{name}" in indexed}
            read_only = await anyio.to_thread.run_sync(lambda: _read_only_names(catalog, up.name, tools))
            quarantined = await anyio.to_thread.run_sync(catalog.quarantined)
        held = {
            name: pin
            for name in listing.tools
            if (pin := quarantined.get(f"{up.name}/{name}")) is not None and name not in tools
        }
        up.tools, up.read_only_names, up.held, up.listing = tools, read_only, held, listing
        up.checking = frozenset()
        refused = {
            name: why for key, why in report.skipped.items() if (name := key.partition("/")[2]) not in held
        }
        skipped = dict(listing.skipped)  # the listing stays as it was: it is indexed again on an approval
        for name, why in refused.items():
            _note_skip(skipped, name, why)
        up.partial, up.skipped = listing.partial, skipped
        up.reindexed += 1
        logger.info("upstream %s indexed: %s; removed %d", up.name, report, len(stale))

    async def _list(self, up: Upstream, client: Client) -> _Listing:
        """The upstream's tools, page by page, within the caps: tools with a name outside the MCP specification's
        set ``A-Z a-z 0-9 _ . -`` or that could pass for another (:func:`hopscout.tool_name_problem`), given
        twice, over :data:`MAX_TOOL_BYTES`, or that the SDK cannot read (taken out of the page by ``up.screen``)
        are skipped with a warning; past :data:`MAX_PAGES` pages, ``maxTools`` tools or :data:`MAX_BYTES` bytes it
        stops and keeps what fit. What else a tool holds (its description, schema, annotations) the catalog
        checks when it registers it."""
        listing = _Listing()
        up.screen.take()  # what a listing that failed part-way left
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await client.list_tools(cursor=cursor)
            for name, problem in up.screen.take().items():
                listing.skip(name, problem)
                logger.warning("upstream %s: tool %s skipped: %s", up.name, shown(name), problem)
            for tool in page.tools:
                if not self._keep(up, tool, listing):
                    return listing
            cursor = page.next_cursor
            if not cursor:
                return listing
        listing.partial = f"it lists more than {MAX_PAGES} pages of tools; the first {MAX_PAGES} are indexed"
        logger.warning("upstream %s: %s", up.name, listing.partial)
        return listing

    def _keep(self, up: Upstream, tool: Tool, listing: _Listing) -> bool:
        """Add ``tool`` to ``listing`` if it may be indexed; False once a cap is reached (stop listing)."""
        doc = tool.model_dump(by_alias=True, mode="json", exclude_none=True)
        size = len(json.dumps(doc, ensure_ascii=False).encode())
        problem = tool_name_problem(tool.name, strict=True)
        if not problem and size > MAX_TOOL_BYTES:
            problem = f"its definition is {size} bytes (at most {MAX_TOOL_BYTES})"
        if not problem and tool.name in listing.tools:
            problem = "it is listed twice"
        if problem:
            listing.skip(str(tool.name), problem)
            logger.warning("upstream %s: tool %s skipped: %s", up.name, shown(str(tool.name)), problem)
            return True
        if len(listing.tools) >= up.max_tools:
            listing.partial = (
                f'it lists more than {up.max_tools} tools; the first {up.max_tools} are indexed ("maxTools")'
            )
        elif listing.size + size > MAX_BYTES:
            listing.partial = f"its tool definitions pass {MAX_BYTES} bytes; the first {len(listing.tools)} tools are indexed"
        if listing.partial:
            logger.warning("upstream %s: %s", up.name, listing.partial)
            return False
        listing.tools[tool.name] = tool
        listing.docs.append(doc)
        listing.size += size
        return True

    async def sync_reviews(self) -> None:
        """Take in what a person decided about held tools since (``hopscout router review``, another process,
        writes to the pin store): a server with a held tool approved is indexed again from its last listing, so
        the tool is offered and callable; a rejection is noted. One read of the pin store, and only while a tool
        is held."""
        waiting = [up for up in self.upstreams.values() if up.held]
        if not waiting:
            return
        catalog = await anyio.to_thread.run_sync(self._catalog)
        quarantined = await anyio.to_thread.run_sync(catalog.quarantined)
        for up in waiting:
            now = {name: quarantined.get(f"{up.name}/{name}") for name in up.held}
            if up.listing is not None and any(pin is None for pin in now.values()):
                await self._index(up, up.listing)
            else:
                up.held = {name: pin for name, pin in now.items() if pin is not None}

    def quarantine(self) -> list[dict[str, Any]]:
        """The tools held for review now, as :data:`QUARANTINE_URI` shows them: key, server, status (``held`` or
        ``rejected``) and why. Never their definitions: those are the text under suspicion."""
        return [
            {
                "key": f"{up.name}/{name}",
                "server": up.name,
                "status": pin.status,
                "reasons": list(pin.reasons),
            }
            for up in self.upstreams.values()
            for name, pin in sorted(up.held.items())
        ]

    # -- serving ------------------------------------------------------------------------------------------
    async def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until every upstream has been indexed once, has failed, or ran out of its ``timeout``."""
        with anyio.move_on_after(timeout):
            for up in self.upstreams.values():
                await up.ready.wait()

    def permits(self, spec: ToolSpec) -> bool:
        """Whether a call to the catalog tool ``spec`` may be forwarded: any tool, or in read-only mode only those
        the catalog counts read-only (:meth:`hopscout.ToolCatalog.is_read_only`: the ``readOnlyHint`` of a
        trusted server, or the server's ``"readOnlyTools"``). ``find_tools`` offers exactly these."""
        up = self.upstreams.get(spec.namespace or "")
        return (
            up is not None
            and (not self.read_only or spec.name in up.read_only_names)
            and self.in_profile(up.name, spec.name)
        )

    def offered(self, hit: ToolHit) -> ToolHit | None:
        """A find_tools ``hit`` as far as this router offers it: its alternatives cut to the tools it offers,
        and when it does not offer the hit's own tool (its server no longer lists it, or it is outside the
        profile), the first equivalent tool it does offer leads instead; None when it offers none of them."""
        members = [member for member in (hit, *hit.alternatives) if self.offers(member.spec)]
        if not members:
            return None
        return dataclasses.replace(members[0], alternatives=tuple(members[1:]))

    def in_profile(self, server: str, name: str) -> bool:
        """Whether the tool ``name`` of ``server`` is in the profile this router serves (any, without one)."""
        return self.profile is None or self.profile.admits(server, name)

    def outside_profile(self) -> int:
        """How many tools the served servers list that the profile's tool globs leave out: a search over the
        servers asks for this many more, so that ``k`` of the profile's tools come back when that many fit."""
        if self.profile is None or not self.profile.tools:
            return 0
        return sum(
            1 for up in self.upstreams.values() for name in up.tools if not self.in_profile(up.name, name)
        )

    def offered_count(self) -> int:
        """How many tools the router offers now (listed, permitted, in the profile)."""
        return sum(
            1
            for up in self.upstreams.values()
            for name in up.tools
            if (not self.read_only or name in up.read_only_names) and self.in_profile(up.name, name)
        )

    def pinned(self) -> list[str]:
        """The keys of the tools ``"always"`` pins that the router offers now (listed, permitted, in the
        profile), sorted: ``tools/list`` shows them beside the meta-tools."""
        return sorted(
            f"{up.name}/{name}"
            for up in self.upstreams.values()
            for name in up.tools
            if any(fnmatchcase(f"{up.name}/{name}", glob) for glob in self.always)
            and (not self.read_only or name in up.read_only_names)
            and self.in_profile(up.name, name)
        )

    def servers(self) -> list[dict[str, Any]]:
        """The servers as :data:`SERVERS_URI` shows them: name, trust, tags, state, and how many of their tools
        are offered (listed, permitted and in the profile) and held for review, and the tools skipped with why
        (their names and the words quoted from the server cleaned). Servers outside the profile are not shown: its
        agent has no business with them."""
        return [
            {
                "server": up.name,
                "trust": up.trust,
                "tags": list(up.tags),
                "state": "failed" if up.error else "ready" if up.ready.is_set() else "connecting",
                "tools": sum(
                    1
                    for name in up.tools
                    if (not self.read_only or name in up.read_only_names) and self.in_profile(up.name, name)
                ),
                "held": len(up.held),
                "skipped": [
                    {"tool": untrusted_text(name), "why": untrusted_text(why)}
                    for name, why in sorted(up.skipped.items())
                ],
            }
            for up in self.upstreams.values()
        ]

    def offers(self, spec: ToolSpec) -> bool:
        """Whether :meth:`call` would forward the catalog tool ``spec`` now: its server lists it, and permits."""
        up = self.upstreams.get(spec.namespace or "")
        return up is not None and spec.name in up.tools and self.permits(spec)

    def _resolve(self, key: str) -> tuple[Upstream, Tool]:
        """The tool listed now under exactly ``key`` (``server/tool``). Anything else is refused with the keys
        it might mean; it is never sent to another server (a server that is down, or lacks the tool, does not
        hand its name to whichever server lists something like it)."""
        server, sep, name = key.partition("/")
        up = self.upstreams.get(server) if sep else None
        if self.profile is not None and server in self.configured and not self.in_profile(server, name):
            raise ToolError(
                f"{shown(key)} is outside {self.profile.describe()}, the only tools this server offers; "
                "call find_tools for the tools it holds"
            )
        if up is not None and name in up.tools:
            return up, up.tools[name]
        if up is not None and name in up.held:
            if self.read_only and name not in up.read_only_tools:
                raise self._not_read_only(up, name)  # the refusal a review would not lift, first
            pin = up.held[name]
            raise ToolError(
                f"{server}/{name} is held for review ({_why(pin)}): it is not called until a person approves it. "
                f"Tell the user; they can review it with `{REVIEW_COMMAND}` (a person's decision, not yours). "
                "Meanwhile use another tool from find_tools."
            )
        if up is not None and name in up.checking:
            raise ToolError(
                f"{server}/{name} changed on its server and is being checked; call find_tools again in a moment"
            )
        if up is not None and up.error:
            raise ToolError(f"upstream {server!r} {up.error}; its tools cannot be called now")
        if up is not None and not up.ready.is_set():
            raise ToolError(f"upstream {server!r} is still connecting; call find_tools again in a moment")
        if up is not None:
            why = f"upstream {server!r} lists no tool {shown(name)}"
            close = self._close_keys(name, only=up)
        elif sep:
            why = (
                f"no upstream server is named {shown(server)} (servers: {', '.join(sorted(self.upstreams))})"
            )
            close = self._close_keys(name)
        else:
            why = 'it is not a "server/tool" key'
            close = self._close_keys(key)
        hint = f"; the keys it might mean: {', '.join(close)}" if close else "; call find_tools for the keys"
        raise ToolError(
            f"unknown tool {shown(key)}: {why}. call_tool runs only exact keys, as find_tools returns them{hint}"
        )

    def _close_keys(self, name: str, only: Upstream | None = None) -> list[str]:
        """The exact keys of listed tools (in read-only mode: permitted ones) whose name matches ``name`` (case
        and Unicode forms aside), each with its server's trust, so the agent picks the server itself."""
        wanted = unicodedata.normalize("NFKC", name).casefold()
        keys = [
            f"{up.name}/{tool} ({up.trust})"
            for up in ([only] if only else self.upstreams.values())
            for tool in (up.read_only_names if self.read_only else up.tools)
            if unicodedata.normalize("NFKC", tool).casefold() == wanted and self.in_profile(up.name, tool)
        ]
        return sorted(keys)[:10]

    @staticmethod
    def _not_read_only(up: Upstream, name: str) -> ToolError:
        return ToolError(
            f"{up.name}/{name} is not read-only by this router's configuration (a trusted server's "
            'readOnlyHint, or the server\'s "readOnlyTools"), and this hopscout server is read-only '
            "(HOPSCOUT_READ_ONLY)"
        )

    async def wait_for(self, key: str) -> None:
        """Wait (at most :data:`READY_TIMEOUT`, and no longer than its ``timeout``) only for the server ``key``
        names, and take in reviews of its held tools."""
        named = self.upstreams.get(key.partition("/")[0])
        if named is not None:
            with anyio.move_on_after(READY_TIMEOUT):
                await named.ready.wait()
            if named.held:
                await self.sync_reviews()

    async def wait_pinned(self) -> None:
        """Wait (as :meth:`wait_for`) for the servers whose tools ``"always"`` may pin: ``tools/list`` shows them."""
        for up in self.upstreams.values():
            if any(fnmatchcase(up.name, glob.partition("/")[0]) for glob in self.always):
                await self.wait_for(f"{up.name}/")

    def pinned_key(self, mcp_name: str) -> str | None:
        """The key of the pinned tool listed as ``mcp_name`` (:func:`pinned_name`), if one is offered now."""
        keys = {pinned_name(key): key for key in self.pinned()}
        return keys.get(mcp_name)

    def lookup(self, key: str) -> tuple[Upstream, Tool]:
        """The tool :meth:`call` would forward for ``key``, and its server; a ToolError saying why not (not an
        exact key listed now, held for review, outside the profile, not read-only in read-only mode)."""
        up, tool = self._resolve(key)
        if self.read_only and tool.name not in up.read_only_names:
            raise self._not_read_only(up, tool.name)
        return up, tool

    async def call(self, key: str, arguments: dict[str, Any]) -> CallToolResult:
        """Forward a call to the tool listed under exactly ``key``, within its server's ``callTimeout``. Waits
        (at most :data:`READY_TIMEOUT`, and no longer than the server's ``timeout``) only for the server it names."""
        await self.wait_for(key)
        up, tool = self.lookup(key)
        client = up.client
        if client is None:
            raise ToolError(f"upstream {up.name!r} is not connected ({up.error or 'it closed'})")
        with anyio.move_on_after(up.call_timeout) as timer:
            try:
                result = await client.call_tool(tool.name, arguments)
            except Exception as exc:  # whatever the upstream did, the agent gets a tool error
                raise ToolError(
                    f"{up.name}/{tool.name} failed upstream ({_their_words(_cause(exc))})"
                ) from exc
        if timer.cancelled_caught:
            raise ToolError(
                f'{up.name}/{tool.name} did not answer within {up.call_timeout:g} s (its server\'s "callTimeout")'
            )
        # The upstream's own content, structured result and error flag; not its _meta (its serverInfo stamp).
        return CallToolResult(
            content=result.content, structured_content=result.structured_content, is_error=result.is_error
        )


def _note_skip(skipped: dict[str, str], name: str, why: str) -> None:
    """Add ``name`` → ``why`` to ``skipped``; a name skipped twice (listed twice, then refused) counts twice."""
    key, seen = name, 1
    while key in skipped:
        seen += 1
        key = f"{name} ({seen})"
    skipped[key] = why


def _skipped_text(skipped: dict[str, str]) -> str:
    """A server's skipped tools for the agent and the log: how many, then the first :data:`SKIPPED_NAMED` by
    name with why (an upstream's names and the words quoted from it cleaned, as :func:`untrusted_text` does)."""
    named = [
        f"{shown(untrusted_text(name))} ({untrusted_text(why)})" for name, why in sorted(skipped.items())
    ]
    more = len(named) - SKIPPED_NAMED
    rest = f", and {more} more (the server log names them)" if more > 0 else ""
    listed = ", ".join(named[:SKIPPED_NAMED])
    return f"{len(skipped)} of its tools skipped, not offered or callable: {listed}{rest}"


def _why(pin: Any) -> str:
    """Why a tool is held (a :meth:`hopscout.ToolCatalog.quarantined` pin), as the agent and the note read it:
    its reasons (:mod:`hopscout.tools.pins`), and whether a person rejected it."""
    why = {
        "instructions": "it gives the agent orders",
        "hidden_chars": "it holds invisible characters",
        "changed": "its definition changed since it was pinned",
    }
    said = "; ".join(why.get(reason, reason) for reason in pin.reasons)
    return f"rejected by a person: {said}" if pin.rejected else said


def _read_only_names(catalog: Any, server: str, tools: dict[str, Tool]) -> frozenset[str]:
    """The indexed ``tools`` of ``server`` that the catalog counts read-only (its one rule, from the
    configuration)."""
    return frozenset(
        spec.name
        for spec in catalog.tools()
        if spec.namespace == server and spec.name in tools and catalog.is_read_only(spec)
    )


def _cause(error: BaseException) -> BaseException:
    """The one error inside (nested) exception groups, as the transports' task groups raise it; else ``error``.
    (Read by the groups' ``exceptions``: Python 3.10 has no built-in ``BaseExceptionGroup``.)"""
    inner = getattr(error, "exceptions", None)
    while isinstance(inner, tuple) and len(inner) == 1 and isinstance(inner[0], BaseException):
        error = inner[0]
        inner = getattr(error, "exceptions", None)
    return error


def _modern_only(error: BaseException) -> bool:
    """Whether ``error`` refuses the initialize handshake naming modern versions to use instead (-32022)."""
    if not isinstance(error, MCPError) or error.code != UNSUPPORTED_PROTOCOL_VERSION:
        return False
    supported = error.data.get("supported") if isinstance(error.data, dict) else None
    return isinstance(supported, list) and any(version in MODERN_PROTOCOL_VERSIONS for version in supported)
