"""Tool router: connect to upstream MCP servers, index their tools into hopscout's catalog, forward calls.

Upstreams come from a JSON file in the standard ``mcpServers`` format (also accepted: VS Code's ``servers``)::

    {"mcpServers": {
        "files":  {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/srv"]},
        "search": {"url": "http://127.0.0.1:9000/mcp", "headers": {"Authorization": "Bearer ..."}}}}

Each server's tools enter the catalog under its name (``files/read_file``) and are indexed again whenever it
sends ``notifications/tools/list_changed`` (as a notification on a handshake-era connection, or as a
``subscriptions/listen`` event on a 2026-07-28 one).

How a connection picks its protocol era is the server's ``"protocol"`` (:data:`PROTOCOLS`). The default,
``"legacy"``, opens with the ``initialize`` handshake, which every SDK v1 server (most deployed servers) and
every dual-era v2 server speaks; a server that refuses it naming the 2026 versions it serves is connected
again with ``server/discover``. ``"auto"`` (the SDK's default) probes ``server/discover`` first, which a v1
server logs as a 31-line validation error before the fallback; a version (``"2026-07-28"``) adopts it with no
probe. A read-only router (``--read-only``) forwards, and ``find_tools`` offers, only tools whose server marks
them read-only (``readOnlyHint: true``).

Each server has a ``"trust"`` (:data:`TRUST_LEVELS`, default ``"untrusted"``): the tools of an untrusted server
that look hostile (a description that reads as a word list, repeats itself, instructs the agent, matches
everything, or takes another server's tool name) are demoted in ``find_tools`` and one untrusted server takes at
most a share of its slots; a trusted server's tools are never demoted. ``find_tools`` hits name their server and
its trust, and carry the flags."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import (
    UNSUPPORTED_PROTOCOL_VERSION,
    CallToolResult,
    Tool,
    ToolListChangedNotification,
)
from mcp.types.version import MODERN_PROTOCOL_VERSIONS
from typing_extensions import Self

from hopscout import InvalidArgumentError

logger = logging.getLogger("hopscout.servers.router")

READY_TIMEOUT = 120.0  # seconds find_tools / call_tool wait for upstreams still connecting or indexing
# An upstream's "protocol": how its connection picks the protocol era (module docstring); the first is the default.
PROTOCOLS = ("legacy", "auto", *MODERN_PROTOCOL_VERSIONS)
# An upstream's "trust": how find_tools treats its tools that look hostile (module docstring); the last is the default.
TRUST_LEVELS = ("trusted", "untrusted")


def permits(tool: Tool, read_only: bool) -> bool:
    """Whether a router (read-only or not) forwards calls to ``tool``: read-only forwards only the tools their
    server marks read-only. ``find_tools`` offers exactly these (its catalog filter ``read_only`` is this test)."""
    return not read_only or bool(tool.annotations and tool.annotations.read_only_hint)


@dataclass
class Upstream:
    """One configured upstream server and what the router knows of it."""

    name: str
    config: dict[str, Any]
    tools: dict[str, Tool] = field(default_factory=dict)
    client: Client | None = None
    error: str | None = None
    ready: anyio.Event = field(default_factory=anyio.Event)
    changed: anyio.Event = field(default_factory=anyio.Event)
    reindexed: int = 0

    @property
    def trust(self) -> str:
        """The server's trust level: ``"trusted"`` or ``"untrusted"`` (the default)."""
        return str(self.config.get("trust", TRUST_LEVELS[-1]))

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
    upstreams = []
    for name, entry in servers.items():
        if not isinstance(name, str) or not name or "/" in name or any(c.isspace() for c in name):
            raise InvalidArgumentError(
                f"{source}: server name {name!r} must be non-empty, without '/' or spaces"
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
        upstreams.append(Upstream(name, dict(entry, type="stdio" if kind == "stdio" else "http")))
    return upstreams


class Router:
    """Keeps one client per upstream, the catalog in step with their tools, and forwards calls.

    Use as ``async with router:`` around serving; ``catalog`` is a callable so the catalog (and its model)
    is only built once the first upstream has answered."""

    def __init__(
        self, upstreams: list[Upstream], catalog: Callable[[], Any], *, read_only: bool = False
    ) -> None:
        self.upstreams = {up.name: up for up in upstreams}
        self._catalog = catalog
        self.read_only = read_only
        self._lock = anyio.Lock()
        self._stack: AsyncExitStack | None = None

    @classmethod
    def from_file(cls, path: str | Path, catalog: Callable[[], Any], *, read_only: bool = False) -> Router:
        try:
            config = json.loads(Path(path).read_text())
        except OSError as exc:
            raise InvalidArgumentError(
                f"cannot read the upstream config {path}: {exc.strerror or exc}"
            ) from exc
        except json.JSONDecodeError as exc:
            raise InvalidArgumentError(f"the upstream config {path} is not valid JSON: {exc}") from exc
        return cls(load_upstreams(config, str(path)), catalog, read_only=read_only)

    @property
    def failed(self) -> dict[str, str]:
        """Upstreams that could not be reached, with the reason."""
        return {name: up.error for name, up in self.upstreams.items() if up.error}

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
        try:
            async with AsyncExitStack() as stack:
                client = await self._connect(up, stack)
                up.client = client
                await self._reindex(up)
                up.ready.set()
                logger.info("upstream %s: %d tools indexed", up.name, len(up.tools))
                async with anyio.create_task_group() as group:
                    if client.protocol_version >= "2026-07-28":
                        group.start_soon(self._listen, up, client)
                    while True:
                        await up.changed.wait()
                        up.changed = anyio.Event()
                        await self._reindex(up)
        except Exception as exc:  # noqa: BLE001 - an upstream that fails must not take the router down
            cause = _cause(exc)
            up.error = f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
            logger.warning("upstream %s failed: %s", up.name, up.error)
        finally:
            up.client = None
            up.ready.set()

    async def _connect(self, up: Upstream, stack: AsyncExitStack) -> Client:
        """A client connected in the upstream's protocol mode. In ``legacy`` mode a server that refuses the
        handshake naming modern versions (-32022) is connected again, with ``server/discover``."""
        mode = up.config.get("protocol", PROTOCOLS[0])
        try:
            return await stack.enter_async_context(
                Client(await self._transport(up, stack), mode=mode, message_handler=up.on_message)
            )
        except Exception as exc:  # an MCPError, inside the transport's task group(s)
            if mode != "legacy" or not _modern_only(_cause(exc)):
                raise
        logger.info("upstream %s refused the initialize handshake; connecting with server/discover", up.name)
        return await stack.enter_async_context(
            Client(await self._transport(up, stack), mode="auto", message_handler=up.on_message)
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
            logger.info("upstream %s: no tools/list_changed stream (%s)", up.name, exc)

    async def _reindex(self, up: Upstream) -> None:
        assert up.client is not None
        tools: list[Tool] = []
        cursor = None
        while True:
            page = await up.client.list_tools(cursor=cursor, cache_mode="refresh")
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        docs = [tool.model_dump(by_alias=True, mode="json", exclude_none=True) for tool in tools]
        async with self._lock:
            catalog = await anyio.to_thread.run_sync(self._catalog)
            known = await anyio.to_thread.run_sync(catalog.tools)
            stale = sorted({s.name for s in known if s.namespace == up.name} - {t.name for t in tools})
            if stale:
                await anyio.to_thread.run_sync(lambda: catalog.remove(stale, namespace=up.name))
            report = await anyio.to_thread.run_sync(
                lambda: catalog.register(docs, namespace=up.name, trust=up.trust)
            )
        up.tools = {tool.name: tool for tool in tools}
        up.reindexed += 1
        logger.info("upstream %s indexed: %s; removed %d", up.name, report, len(stale))

    # -- serving ------------------------------------------------------------------------------------------
    async def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until every upstream has been indexed once (or has failed)."""
        with anyio.move_on_after(timeout):
            for up in self.upstreams.values():
                await up.ready.wait()

    def offers(self, key: str) -> bool:
        """Whether ``call`` would forward the tool with catalog key ``server/tool`` (known now, and permitted)."""
        server, _, name = key.partition("/")
        up = self.upstreams.get(server)
        return up is not None and name in up.tools and permits(up.tools[name], self.read_only)

    def _resolve(self, name: str) -> tuple[Upstream, Tool]:
        server, sep, tool_name = name.partition("/")
        if sep and server in self.upstreams and tool_name in self.upstreams[server].tools:
            up = self.upstreams[server]
            return up, up.tools[tool_name]
        matches = [(up, up.tools[name]) for up in self.upstreams.values() if name in up.tools]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            options = ", ".join(f"{up.name}/{name}" for up, _ in matches)
            raise ToolError(f"{name!r} is offered by several servers; name one of: {options}")
        if sep and server in self.upstreams and self.upstreams[server].error:
            raise ToolError(f"upstream {server!r} is unreachable ({self.upstreams[server].error})")
        raise ToolError(f'unknown tool {name!r}: call find_tools and pass a name it returns ("server/tool")')

    async def call(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        await self.wait_ready()
        up, tool = self._resolve(name)
        if not permits(tool, self.read_only):
            raise ToolError(
                f"{up.name}/{tool.name} is not marked read-only by its server, and this hopscout "
                "server is read-only (HOPSCOUT_READ_ONLY)"
            )
        client = up.client
        if client is None:
            raise ToolError(f"upstream {up.name!r} is not connected ({up.error or 'it closed'})")
        try:
            result = await client.call_tool(tool.name, arguments)
        except MCPError as exc:
            raise ToolError(f"{up.name}/{tool.name} failed upstream: {exc}") from exc
        # The upstream's own content, structured result and error flag; not its _meta (its serverInfo stamp).
        return CallToolResult(
            content=result.content, structured_content=result.structured_content, is_error=result.is_error
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
