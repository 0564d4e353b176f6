"""Profiles: named subsets of a pooled tool set ("virtual servers"), so one agent sees only the tools it is for.

A profile is written in a router's ``servers.json`` beside ``mcpServers``; a server may carry ``"tags"`` (its
categories), which a profile can select by::

    {"mcpServers": {"flights": {"command": "...", "tags": ["travel"]},
                    "github":  {"url": "...",     "tags": ["code"]}},
     "profiles": {"travel": {"tags": ["travel"]},
                  "triage": {"servers": ["github"], "tools": ["github/*issue*", "github/get_*"]}}}

A tool is in a profile when its server is (named in ``"servers"``, or carrying one of its ``"tags"``; neither
given: every server) and, when ``"tools"`` is given, its key (``server/tool``) matches one of those globs (a
glob without ``/`` matches the tool's name on any server). Globs are :func:`fnmatch.fnmatchcase` patterns:
case-sensitive, ``*`` spans ``/``. The MCP router serves one profile (``hopscout-mcp --profile NAME``); the
LangChain and LlamaIndex tool retrievers take one (``profile=Profile.from_file("servers.json", "travel")``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, TypeVar

from ..errors import InvalidArgumentError

T = TypeVar("T")
PROFILE_KEYS = ("servers", "tools", "tags")  # what a profile's entry in servers.json may hold
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # a profile's or a tag's name


@dataclass(frozen=True)
class Profile:
    """A named subset of tools: ``servers`` (None: every server), ``tools`` (key or name globs; empty: every tool
    of those servers) and the ``tags`` it was defined by. A profile loaded from ``servers.json``
    (:meth:`from_config`, :meth:`from_file`) has its tags already resolved into ``servers``; one built in code
    names its servers, since only the configuration knows which servers carry a tag."""

    name: str
    servers: frozenset[str] | None = None
    tools: tuple[str, ...] = ()
    tags: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise InvalidArgumentError(
                f"a profile's name must be 1-64 letters, digits, '_', '.' or '-', got {self.name!r}"
            )
        if self.servers is not None:
            object.__setattr__(
                self, "servers", frozenset(_strings(self.servers, f"profile {self.name!r} servers"))
            )
        object.__setattr__(self, "tools", tuple(_strings(self.tools, f"profile {self.name!r} tools")))
        object.__setattr__(self, "tags", frozenset(_strings(self.tags, f"profile {self.name!r} tags")))
        if self.tags and self.servers is None:
            raise InvalidArgumentError(
                f"profile {self.name!r} selects by tags, which only a servers.json resolves (the servers carrying "
                "them): load it with Profile.from_file(path, name), or name its servers"
            )

    def admits_server(self, server: str | None) -> bool:
        """Whether the tools of ``server`` (None: tools registered without one) may be in this profile."""
        return self.servers is None or server in self.servers

    def admits(self, server: str | None, name: str) -> bool:
        """Whether the tool ``name`` of ``server`` is in this profile."""
        if not self.admits_server(server):
            return False
        key = f"{server}/{name}" if server else name
        return not self.tools or any(fnmatchcase(key if "/" in glob else name, glob) for glob in self.tools)

    def namespaces(self, available: Iterable[str]) -> list[str]:
        """The servers of ``available`` this profile may draw tools from, sorted: the catalog's ``namespaces``
        filter (:meth:`hopscout.ToolCatalog.find_tools`), which the ``tools`` globs then narrow."""
        return sorted(server for server in available if self.admits_server(server))

    def keep(self, items: Iterable[T], name_of: Callable[[T], str], server: str | None = None) -> list[T]:
        """The ``items`` (tools of one ``server``, named by ``name_of``) in this profile, in order; an
        InvalidArgumentError when none is, since a retriever over no tools is a mistake, not a choice."""
        given = list(items)
        kept = [item for item in given if self.admits(server, name_of(item))]
        if given and not kept:
            where = f" of server {server!r}" if server else ""
            raise InvalidArgumentError(
                f"{self.describe()} admits none of the {len(given)} tools given{where}"
            )
        return kept

    def describe(self) -> str:
        """The profile in one line, as errors and notes name it."""
        parts = [f"servers {', '.join(sorted(self.servers))}" if self.servers is not None else "every server"]
        if self.tags:
            parts.append(f"tags {', '.join(sorted(self.tags))}")
        if self.tools:
            parts.append(f"tools {', '.join(self.tools)}")
        return f"profile {self.name!r} ({'; '.join(parts)})"

    @classmethod
    def from_config(cls, config: Mapping[str, Any], name: str, source: str = "servers.json") -> Profile:
        """The profile ``name`` of a parsed ``servers.json``; an InvalidArgumentError naming the profiles it
        defines when it defines no such one."""
        profiles = load_profiles(config, source)
        if name not in profiles:
            known = ", ".join(sorted(profiles)) or 'none (add "profiles": {"NAME": {"servers": [...]}})'
            raise InvalidArgumentError(f"{source}: no profile {name!r}; the profiles it defines: {known}")
        return profiles[name]

    @classmethod
    def from_file(cls, path: str | Path, name: str) -> Profile:
        """The profile ``name`` of the ``servers.json`` at ``path``."""
        return cls.from_config(read_config(path), name, str(path))

    @staticmethod
    def all_in(config: Mapping[str, Any], source: str = "servers.json") -> dict[str, Profile]:
        """Every profile a parsed ``servers.json`` defines, by name, checked (:func:`load_profiles`)."""
        return load_profiles(config, source)

    @staticmethod
    def tags_in(config: Mapping[str, Any], source: str = "servers.json") -> dict[str, frozenset[str]]:
        """Each server's ``"tags"`` (its categories) in a parsed ``servers.json``, checked (:func:`server_tags`)."""
        return server_tags(config, source)


def read_config(path: str | Path) -> dict[str, Any]:
    """A ``servers.json`` parsed; an InvalidArgumentError saying why it cannot be read."""
    try:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidArgumentError(f"cannot read the upstream config {path}: {exc.strerror or exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(f"the upstream config {path} is not valid JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise InvalidArgumentError(
            f'the upstream config {path} must be a JSON object ({{"mcpServers": ...}})'
        )
    return config


def servers_of(config: Mapping[str, Any]) -> dict[str, Any]:
    """The server entries of a ``servers.json`` (``mcpServers``, or VS Code's ``servers``); empty if none."""
    servers = config.get("mcpServers", config.get("servers"))
    return dict(servers) if isinstance(servers, Mapping) else {}


def server_tags(config: Mapping[str, Any], source: str = "servers.json") -> dict[str, frozenset[str]]:
    """Each server's ``"tags"`` (its categories), checked: a list of short names."""
    tags = {}
    for server, entry in servers_of(config).items():
        given = entry.get("tags", []) if isinstance(entry, Mapping) else []
        where = f'{source}: server {server!r} "tags"'
        tags[server] = frozenset(_strings(given, where))
        bad = [tag for tag in tags[server] if not _NAME.fullmatch(tag)]
        if bad:
            raise InvalidArgumentError(
                f"{where}: {bad[0]!r} is not a tag (1-64 letters, digits, '_', '.' or '-')"
            )
    return tags


def load_profiles(config: Mapping[str, Any], source: str = "servers.json") -> dict[str, Profile]:
    """Every profile of a parsed ``servers.json``, checked against its servers: a profile naming a server it
    does not configure, or a tag no server carries, is an error that lists what it does configure."""
    given = config.get("profiles", {})
    if not isinstance(given, Mapping):
        raise InvalidArgumentError(
            f'{source}: "profiles" must map a profile\'s name to {{"servers": [...], ...}}'
        )
    tagged = server_tags(config, source)
    profiles = {}
    for name, entry in given.items():
        where = f"{source}: profile {name!r}"
        if not isinstance(entry, Mapping):
            raise InvalidArgumentError(f"{where} must be an object with any of {', '.join(PROFILE_KEYS)}")
        unknown = sorted(set(entry) - set(PROFILE_KEYS))
        if unknown:
            raise InvalidArgumentError(
                f"{where} has {unknown[0]!r}; a profile holds {', '.join(PROFILE_KEYS)}"
            )
        named = _strings(entry.get("servers", []), f'{where} "servers"')
        tags = _strings(entry.get("tags", []), f'{where} "tags"')
        missing = [server for server in named if server not in tagged]
        if missing:
            raise InvalidArgumentError(
                f"{where} names server {missing[0]!r}, which is not configured; its servers: "
                f"{', '.join(sorted(tagged))}"
            )
        in_use = set().union(*tagged.values())
        unused = [tag for tag in tags if tag not in in_use]
        if unused:
            raise InvalidArgumentError(
                f"{where} selects tag {unused[0]!r}, which no server carries; tags in use: "
                + (", ".join(sorted(in_use)) or 'none (give a server "tags": [...])')
            )
        servers = None
        if "servers" in entry or "tags" in entry:
            servers = frozenset(named) | {server for server, have in tagged.items() if have & set(tags)}
            if not servers:
                raise InvalidArgumentError(
                    f'{where} selects no server: give "servers" or "tags", or leave both out'
                )
        profiles[name] = _built(name, servers, entry.get("tools", []), tags, where)
    return profiles


def _built(name: Any, servers: frozenset[str] | None, tools: Any, tags: Sequence[str], where: str) -> Profile:
    globs = _strings(tools, f'{where} "tools"')
    if any(not glob for glob in globs):
        raise InvalidArgumentError(f'{where} "tools": a glob must not be empty')
    try:
        return Profile(name, servers, tuple(globs), frozenset(tags))
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"{where}: {exc}") from None


def _strings(value: Any, where: str) -> list[str]:
    """``value`` as a list of strings (a list or set of them), else an InvalidArgumentError naming ``where``."""
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise InvalidArgumentError(f"{where} must be a list of strings, got {value!r:.80}")
    if not all(isinstance(item, str) for item in value):
        raise InvalidArgumentError(f"{where} must be a list of strings, got {list(value)!r:.80}")
    return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
