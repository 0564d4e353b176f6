"""An upstream's tool listing read one tool at a time: a tool listed malformed (a string where its input schema's
object belongs) is left out of the page, with why, instead of failing the whole ``tools/list`` answer.

The MCP SDK's client checks a listing page as a whole and refuses all of it for one bad tool (a
``ValidationError`` naming ``tools.7.inputSchema``), and real servers ship such tools. :func:`screened` wraps a
client transport: it notes the ids of the ``tools/list`` requests sent and, in their answers, keeps the tools the
SDK's ``Tool`` model reads and drops the others, each recorded in a :class:`ListingScreen` (its name, or
``#position`` in the page, → what is wrong) for the router to report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from mcp import StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.message import SessionMessage
from mcp.types import JSONRPCRequest, JSONRPCResponse, Tool
from pydantic import ValidationError
from typing_extensions import Self

LISTING_METHOD = "tools/list"
# pydantic's names for a value of the wrong type → what the field must be (in the catalog's words)
_EXPECTED = {
    "dict_type": "a JSON object",
    "model_type": "a JSON object",
    "model_attributes_type": "a JSON object",
    "string_type": "a string",
    "list_type": "a list",
    "bool_type": "true or false",
    "int_type": "an integer",
}


def tool_problem(tool: Any) -> str | None:
    """What is wrong with one tool of a listing as the MCP SDK reads it (its ``Tool`` model), in one line naming
    the field; None when nothing is."""
    try:
        Tool.model_validate(tool, by_name=False)  # as the SDK reads a listing: the wire (camelCase) names
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        where = f"field {'.'.join(str(part) for part in first['loc'])!r}" if first["loc"] else "the tool"
        expected = _EXPECTED.get(first["type"])
        if first["type"] == "missing":
            what = f"{where} is missing"
        elif expected is not None:
            what = f"{where} must be {expected}, got {type(first.get('input')).__name__}"
        else:
            what = f"{where}: {first['msg']}"
        more = len(errors) - 1
        return what + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")
    return None


def _label(tool: Any, position: int) -> str:
    name = tool.get("name") if isinstance(tool, dict) else None
    return name if isinstance(name, str) else f"#{position}"


@dataclass
class ListingScreen:
    """The tools left out of the listings one connection received, until :meth:`take`: label → what is wrong."""

    dropped: dict[str, str] = field(default_factory=dict)
    _asked: set[Any] = field(default_factory=set)  # ids of tools/list requests not yet answered

    def sent(self, item: SessionMessage) -> None:
        message = item.message
        if isinstance(message, JSONRPCRequest) and message.method == LISTING_METHOD:
            self._asked.add(message.id)

    def received(self, item: SessionMessage | Exception) -> SessionMessage | Exception:
        """``item``, or when it answers a ``tools/list`` request with malformed tools, a copy without them."""
        if not isinstance(item, SessionMessage) or not isinstance(item.message, JSONRPCResponse):
            return item
        answer = item.message
        if answer.id not in self._asked:
            return item
        self._asked.discard(answer.id)
        tools = answer.result.get("tools")
        if not isinstance(tools, list):
            return item  # a page malformed as a whole: the SDK refuses it, and the router says so
        kept = []
        for position, tool in enumerate(tools):
            problem = tool_problem(tool)
            if problem is None:
                kept.append(tool)
            else:
                label = _label(tool, position)
                self.dropped[label if label not in self.dropped else f"{label} (#{position})"] = problem
        if len(kept) == len(tools):
            return item
        cleaned = answer.model_copy(update={"result": {**answer.result, "tools": kept}})
        return SessionMessage(message=cleaned, metadata=item.metadata)

    def take(self) -> dict[str, str]:
        """The tools dropped since the last take (and forget them)."""
        dropped, self.dropped = self.dropped, {}
        return dropped


class _Stream:
    """One of the transport's streams, passed through but for what a subclass screens."""

    def __init__(self, inner: Any, screen: ListingScreen) -> None:
        self._inner, self._screen = inner, screen

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> bool | None:
        return await self._inner.__aexit__(kind, error, trace)

    def __getattr__(self, name: str) -> Any:  # what else a stream offers (``last_context``)
        return getattr(self._inner, name)


class _Reading(_Stream):
    """The transport's read stream, each answer to a listing screened."""

    async def receive(self) -> SessionMessage | Exception:
        return self._screen.received(await self._inner.receive())

    def __aiter__(self) -> _Reading:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        return self._screen.received(await self._inner.__anext__())


class _Writing(_Stream):
    """The transport's write stream, the ids of listing requests noted."""

    async def send(self, item: SessionMessage, /) -> None:
        self._screen.sent(item)
        await self._inner.send(item)


def screened(
    transport: StdioServerParameters | AbstractAsyncContextManager[Any], screen: ListingScreen
) -> AbstractAsyncContextManager[Any]:
    """``transport`` (a stdio command, or any MCP client transport) with its tool listings screened into
    ``screen``; give it to ``mcp.Client`` in place of ``transport``."""
    inner = stdio_client(transport) if isinstance(transport, StdioServerParameters) else transport

    @asynccontextmanager
    async def opened() -> AsyncIterator[tuple[_Reading, _Writing]]:
        async with inner as (read, write):
            yield _Reading(read, screen), _Writing(write, screen)

    return opened()


__all__ = ["LISTING_METHOD", "ListingScreen", "screened", "tool_problem"]
