"""The quarantine of one catalog: at registration, which tools enter and which are held for a human's review.

A tool is pinned, or held, by :func:`hopscout.tools.pins.decide` on the raw definition its server sent and
the holding flags (:data:`~hopscout.tools.pins.HOLDING_FLAGS`) that its text reads as. Held tools never enter
the catalog (one indexed before, under a definition since changed, is taken out), so ``find_tools`` stays exact
and costs nothing more: it never sees them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import guard
from .exposure import judge
from .pins import HIDDEN_CHARS, HOLDING_FLAGS, Pin, PinStore, decide, has_hidden_chars, raw_definition
from .spec import ToolSpec


@dataclass(frozen=True)
class Screened:
    """One registration screened: the tools that may enter the catalog, and the held ones (key → why)."""

    specs: list[ToolSpec]
    held: dict[str, tuple[str, ...]] = field(default_factory=dict)


def holding_flags(spec: ToolSpec, definition: Mapping[str, Any]) -> tuple[str, ...]:
    """Why the tool would be held for review whatever was pinned: orders to the agent (``instructions``) in any
    string an agent reads (:func:`hopscout.tools.exposure.judge`), and invisible characters (``hidden_chars``)
    anywhere in the raw definition, the one pinned (fields the catalog does not read, such as ``title`` or
    ``outputSchema``, too)."""
    flags = set(judge(spec).flags)
    if has_hidden_chars(definition):
        flags.add(HIDDEN_CHARS)
    return tuple(f for f in HOLDING_FLAGS if f in flags)


def definitions(tools: Iterable[Any], specs: Iterable[ToolSpec]) -> dict[str, dict[str, Any]]:
    """The definition each of ``specs`` is pinned by, by key: the raw MCP definition given for its name in
    ``tools`` (:func:`~hopscout.tools.pins.raw_definition`), else what the catalog read of it."""
    raw: dict[str, dict[str, Any]] = {}
    for tool in tools:
        definition = raw_definition(tool)
        if definition is not None:
            raw.setdefault(definition["name"], definition)
    out: dict[str, dict[str, Any]] = {}
    for spec in specs:
        definition = raw.get(spec.name)
        if definition is None:
            definition = {
                "name": spec.name,
                "description": spec.description,
                "inputSchema": spec.input_schema,
            }
            if spec.annotations:
                definition["annotations"] = spec.annotations
        out[spec.key] = definition
    return out


def screen(
    store: PinStore, collection: str, tools: Iterable[Any], specs: list[ToolSpec], trust: str
) -> Screened:
    """Pin ``specs`` (read from ``tools``, all of one server whose level is ``trust``) in ``store`` and say which
    may enter catalog ``collection`` (see the module docstring). A tool registered without a namespace is the
    catalog owner's own, vouched for as a trusted server's."""
    defs = definitions(tools, specs)
    trusted = {spec.key: guard.vouched(spec.namespace, trust) for spec in specs}
    # judged before the store's write lock is taken: judging may be slow, other processes wait on the lock
    flags = {spec.key: holding_flags(spec, defs[spec.key]) for spec in specs if not trusted[spec.key]}
    final: dict[str, Pin] = {}

    def change(known: dict[str, Pin]) -> dict[str, Pin]:
        written = {}
        for key, definition in defs.items():
            pin = known.get(key)
            final[key] = decide(pin, key, definition, trusted=trusted[key], flags=flags.get(key, ()))
            if final[key] != pin:
                written[key] = final[key]
        return written

    store.update(collection, list(defs), change)
    held = {key: final[key].reasons for key in defs if final[key].held}
    return Screened([spec for spec in specs if spec.key not in held], held)
