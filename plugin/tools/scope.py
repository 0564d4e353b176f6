"""Which tools one ``find_tools`` call may return (``namespaces``, ``read_only``): as a store filter, so the
search finds ``k`` of them, and as a test of each tool, applied to every hit (a named tool too)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..errors import InvalidArgumentError
from ..filters import Where
from ..keys import TOOL_NAMESPACE
from .policy import TrustPolicy
from .spec import ToolSpec


@dataclass(frozen=True)
class Allowed:
    """The filter of one find_tools call as a test of a tool (the same test its ``where`` makes in the store)."""

    namespaces: frozenset[str] | None
    read_only: Callable[[ToolSpec], bool] | None  # the catalog's is_read_only, when asked for read-only tools
    where: Where | None = None  # the store filter of ``namespaces``
    # tools the catalog holds back: changed or removed in the store since the snapshot answering was measured
    # (Registry.guarded); they return once the catalog as it is now has been measured
    withheld: frozenset[str] = frozenset()

    @property
    def alone(self) -> bool:
        """Whether the caller asked for one server's tools (then that server is not capped)."""
        return self.namespaces is not None and len(self.namespaces) == 1

    def __call__(self, spec: ToolSpec) -> bool:
        in_namespace = self.namespaces is None or spec.namespace in self.namespaces
        return (
            in_namespace
            and (self.read_only is None or self.read_only(spec))
            and not (self.withheld and spec.key in self.withheld)
        )


def allowed(namespaces: Any, read_only: Any, policy: TrustPolicy) -> Allowed:
    """The call's filter, checked: ``read_only`` a bool, ``namespaces`` None or a non-empty list of namespace
    strings (else InvalidArgumentError); the read-only rule is ``policy``'s."""
    if not isinstance(read_only, bool):
        raise InvalidArgumentError(f"read_only must be True or False, got {read_only!r}")
    where = _namespace_filter(namespaces)
    return Allowed(
        None if namespaces is None else frozenset(namespaces),
        policy.is_read_only if read_only else None,
        where,
    )


class StoreFilter(NamedTuple):
    where: Where | None  # None: every tool
    empty: bool = False  # no tool can pass (read-only asked, and the configuration makes none so)


def store_filter(allowed: Allowed, policy: TrustPolicy, specs: Iterable[ToolSpec]) -> StoreFilter:
    """The store filter of ``allowed`` over a catalog of ``specs`` (the read-only rule as ``policy`` gives it)."""
    if allowed.read_only is None:
        return StoreFilter(allowed.where)
    only = policy.read_only_filter(specs)
    if only is None:
        return StoreFilter(None, empty=True)
    return StoreFilter(and_where(allowed.where, only))


def and_where(where: Where | None, condition: Where) -> Where:
    """Both store filters (``condition`` alone when ``where`` is None)."""
    return condition if where is None else {"$and": [where, condition]}


def _namespace_filter(namespaces: Any) -> Where | None:
    if namespaces is None:
        return None
    if (
        isinstance(namespaces, str)
        or not isinstance(namespaces, Sequence)
        or not namespaces
        or not all(isinstance(n, str) and n for n in namespaces)
    ):
        raise InvalidArgumentError("namespaces must be a non-empty list of namespace strings")
    return {TOOL_NAMESPACE: {"$in": list(namespaces)}}
