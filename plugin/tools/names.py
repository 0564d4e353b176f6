"""Tools a request names: the whole request is a tool's name or key, or it mentions an identifier that is one.
A name is the one thing a hostile server chooses freely, so what a match is worth is decided by the search
(:func:`hopscout.tools.search.lift_named`), by trust."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from .spec import ToolSpec, split_name

_NORM = re.compile(r"[^a-z0-9]+")
_IDENT = re.compile(r"[A-Za-z_][\w.-]*[\w]")
MAX_SCANNED_CHARS = 2000  # a longer request is matched as a whole only, not scanned for identifiers


class NameMatch(NamedTuple):
    bonus: float  # 2: the whole request is the tool's name or key; 1: it mentions it
    exact_key: bool  # it named the tool's very key, server/tool


def name_form(text: str) -> str:
    """How names are compared: lower case, letters and digits only."""
    return _NORM.sub("", text.lower())


def name_matches(
    request: str, specs: Mapping[str, ToolSpec], by_name: Mapping[str, Sequence[str]]
) -> dict[str, NameMatch]:
    """Tools the request names (``by_name``: :func:`name_form` → keys of ``specs``), with a bonus and whether
    it named the tool's very key (``server/tool``: a server's name comes from the configuration, so no tool can
    make a request say it): the whole request is a tool's name or key (bonus 2), or it mentions a multi-part
    identifier that is one (bonus 1)."""
    whole = request.strip()
    found = {
        key: NameMatch(2.0, specs[key].namespace is not None and whole == key)
        for key in by_name.get(name_form(request), [])
    }
    if len(request) <= MAX_SCANNED_CHARS:
        for token in set(_IDENT.findall(request)):
            if len(split_name(token).split()) >= 2 or "/" in token:
                for key in by_name.get(name_form(token), []):
                    spec = specs[key]
                    if token in (spec.name, key) and key not in found:
                        found[key] = NameMatch(1.0, spec.namespace is not None and token == key)
    return found
