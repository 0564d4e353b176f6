"""A catalog's trust configuration: which servers (namespaces) are trusted, and which of their tools the
configuration declares read-only. It is read whenever a request is answered, never stored with the tools."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from ..errors import InvalidArgumentError
from ..filters import Where
from ..keys import TOOL_KEY, TOOL_NAMESPACE, TOOL_READ_ONLY
from ..untrusted import namespace_problem, shown
from . import guard
from .spec import ToolSpec


class TrustPolicy:
    """``trust``: namespace → ``"trusted"`` / ``"untrusted"`` (a namespace not listed is untrusted);
    ``read_only_tools``: namespace → the names of its tools the configuration declares read-only. ``version``
    goes one up whenever the trust levels change (name clashes are worked out under one version)."""

    def __init__(
        self,
        trust: Mapping[str, str] | None = None,
        read_only_tools: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self._trust: dict[str | None, str] = {
            check_namespace(ns, "trust"): guard.check_trust(level) for ns, level in _mapping(trust, "trust")
        }
        self._read_only_tools: dict[str, frozenset[str]] = {
            check_namespace(ns, "read_only_tools"): _check_names(names, ns)
            for ns, names in _mapping(read_only_tools, "read_only_tools")
        }
        self.version = 0

    def adopt(self, other: TrustPolicy) -> None:
        """Take ``other``'s configuration (a copy: the two change apart from then on)."""
        self._trust = dict(other._trust)
        self._read_only_tools = dict(other._read_only_tools)
        self.version += 1

    def trust_of(self, namespace: str | None) -> str:
        """``"trusted"`` or ``"untrusted"`` (anything not configured)."""
        return self._trust.get(namespace, guard.UNTRUSTED)

    def set_trust(self, namespace: str | None, level: str) -> None:
        """Give ``namespace`` the (checked) trust ``level``; a change moves :attr:`version` on."""
        if self._trust.get(namespace) != level:
            self._trust[namespace] = level
            self.version += 1

    def vouched(self, spec: ToolSpec) -> bool:
        """Whether the tool's name and rank can be taken at its server's word (:func:`guard.vouched`)."""
        return guard.vouched(spec.namespace, self.trust_of(spec.namespace))

    def is_read_only(self, spec: ToolSpec) -> bool:
        """A vouched tool's ``readOnlyHint``, or a tool ``read_only_tools`` names."""
        if spec.read_only and self.vouched(spec):
            return True
        return spec.namespace is not None and spec.name in self._read_only_tools.get(spec.namespace, ())

    def read_only_filter(self, specs: Iterable[ToolSpec]) -> Where | None:
        """The store filter of :meth:`is_read_only` over a catalog of ``specs`` (None: no tool passes): tools
        marked ``readOnlyHint`` that are vouched for (a trusted server's, or the catalog owner's own: no
        namespace, which ``$nin`` of every namespace selects), or the tools ``read_only_tools`` names. The
        search applies the rule itself to every hit; this filter lets it find ``k`` of them."""
        specs = list(specs)
        clauses: list[dict[str, Any]] = []
        trusted = sorted(ns for ns, level in self._trust.items() if ns is not None and level == guard.TRUSTED)
        if trusted:
            clauses.append({"$and": [{TOOL_NAMESPACE: {"$in": trusted}}, {TOOL_READ_ONLY: True}]})
        if any(spec.namespace is None and spec.read_only for spec in specs):
            servers = sorted({spec.namespace for spec in specs if spec.namespace is not None})
            own = {TOOL_NAMESPACE: {"$nin": servers}} if servers else None  # a tool without one matches $nin
            clauses.append({TOOL_READ_ONLY: True} if own is None else {"$and": [own, {TOOL_READ_ONLY: True}]})
        keys = {f"{ns}/{name}" for ns, names in self._read_only_tools.items() for name in names}
        if keys:
            clauses.append({TOOL_KEY: {"$in": sorted(keys)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$or": clauses}


def check_namespace(namespace: Any, what: str) -> str:
    """``namespace`` if it can name a server (:func:`hopscout.untrusted.namespace_problem`), else
    InvalidArgumentError naming ``what`` was given."""
    problem = namespace_problem(namespace)
    if problem:
        raise InvalidArgumentError(
            f"{what}: {shown(namespace)} is not a namespace (a server's name: at most 128 characters, no "
            f"whitespace, '/', '#' or invisible characters): {problem}"
        )
    return str(namespace)


def _mapping(value: Any, what: str) -> list[tuple[Any, Any]]:
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"{what} must map a namespace (a server's name) to its setting")
    return list(value.items())


def _check_names(names: Any, namespace: str) -> frozenset[str]:
    if isinstance(names, str) or not isinstance(names, Collection):
        raise InvalidArgumentError(f"read_only_tools[{namespace!r}] must be a list of tool names")
    if not all(isinstance(n, str) and n for n in names):
        raise InvalidArgumentError(f"read_only_tools[{namespace!r}] must hold non-empty tool names")
    return frozenset(names)
