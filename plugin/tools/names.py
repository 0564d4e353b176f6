"""Tools a request names: the whole request is a tool's name or key, an unambiguous part of one name, or it
mentions an identifier that is one; and ``select:NAME[,NAME]``, a request that asks for tools by name outright.
A name is the one thing a hostile server chooses freely, so what a match is worth is decided by the search
(:func:`hopscout.tools.search.lift_named`), by trust."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import NamedTuple

from ..errors import InvalidArgumentError, InvalidQueryError
from .spec import CACHED_NAME_CHARS, ToolSpec, split_name

_NORM = re.compile(r"[^a-z0-9]+")
_IDENT = re.compile(r"[A-Za-z_][\w.-]*[\w]")
MAX_SCANNED_CHARS = 2000  # a longer request is matched as a whole only, not scanned for identifiers
WHOLE_BONUS = 2.0  # the whole request is the tool's name or key
PARTIAL_BONUS = (
    1.5  # the whole request is an unambiguous part of one name: below a whole name, above a mention
)
MENTION_BONUS = 1.0  # the request mentions a multi-part identifier that is the tool's name or key
# Tools named alike (one name, several servers) lead in their search's order: at most this, under the bonuses' gap
NAMED_ORDER = 0.25
# A partial name is a run of a name's tokens in order ("forecast weather" is not "weather_forecast"): one token
# only when it is this long (a short word, "search", "email", is a request rather than a name); at most
# MAX_PARTIAL_TOKENS tokens (names are short: a longer request is a sentence).
MIN_LONE_TOKEN = 6
MAX_PARTIAL_TOKENS = 12
SELECT_PREFIX = "select:"
MAX_SELECT = 32  # names per select: request


class NameMatch(NamedTuple):
    bonus: float  # WHOLE_BONUS, PARTIAL_BONUS or MENTION_BONUS
    exact_key: bool  # it named the tool's very key, server/tool


def name_form(text: str) -> str:
    """How names are compared: lower case, letters and digits only."""
    # kept for names (a catalog read again files every tool under three forms of its name), not for requests
    return _name_form(text) if len(text) <= CACHED_NAME_CHARS else _NORM.sub("", text.lower())


@lru_cache(maxsize=1 << 17)
def _name_form(text: str) -> str:
    return _NORM.sub("", text.lower())


def name_tokens(text: str) -> tuple[str, ...]:
    """A name's (or a request's) tokens as names split: ``getWeather-forecast`` → ``get``, ``weather``,
    ``forecast``."""
    return tuple(split_name(text).split())


class NameIndex:
    """The catalog's distinct names (by their tokens) and, per token, the names that hold it: built once per
    snapshot, so a request's partial name costs the intersection of its tokens' postings, rarest first."""

    def __init__(self, specs: Iterable[ToolSpec] = ()) -> None:
        self._keys: dict[
            tuple[str, ...], list[str]
        ] = {}  # a name's tokens → the keys of the tools bearing it
        self._postings: dict[str, set[tuple[str, ...]]] = {}
        for spec in specs:
            tokens = name_tokens(spec.name)
            if not tokens:
                continue
            self._keys.setdefault(tokens, []).append(spec.key)
            for token in tokens:
                self._postings.setdefault(token, set()).add(tokens)

    def __len__(self) -> int:
        return len(self._keys)

    def partial(self, request: str) -> list[str]:
        """The keys of the tools whose name the whole ``request`` is an unambiguous part of: its tokens, and no
        other word, run in order through exactly one name of the catalog (shared by every server that lists
        it), two tokens or more or one of :data:`MIN_LONE_TOKEN` letters. Empty when no name or several fit."""
        if len(request) > MAX_SCANNED_CHARS:
            return []
        tokens = name_tokens(request)
        if (
            not tokens
            or len(tokens) > MAX_PARTIAL_TOKENS
            or (len(tokens) == 1 and len(tokens[0]) < MIN_LONE_TOKEN)
        ):
            return []
        postings = sorted((self._postings.get(t, set()) for t in set(tokens)), key=len)
        if not postings[0]:
            return []
        found = postings[0].intersection(*postings[1:])
        fits = []
        for name in found:
            if _in_order(tokens, name):
                fits.append(name)
                if len(fits) > 1:
                    return []
        return list(self._keys[fits[0]]) if fits else []


def _in_order(part: Sequence[str], whole: Sequence[str]) -> bool:
    """Whether ``part`` runs through ``whole`` in order (a subsequence)."""
    rest = iter(whole)
    return all(token in rest for token in part)


def name_matches(
    request: str,
    specs: Mapping[str, ToolSpec],
    by_name: Mapping[str, Sequence[str]],
    index: NameIndex | None = None,
) -> dict[str, NameMatch]:
    """Tools the request names (``by_name``: :func:`name_form` → keys of ``specs``), with a bonus and whether
    it named the tool's very key (``server/tool``: a server's name comes from the configuration, so no tool can
    make a request say it): the whole request is a tool's name or key (:data:`WHOLE_BONUS`), else, given the
    catalog's ``index``, an unambiguous part of one name (:data:`PARTIAL_BONUS`, :meth:`NameIndex.partial`); or
    it mentions a multi-part identifier that is one (:data:`MENTION_BONUS`)."""
    whole = request.strip()
    found = {
        key: NameMatch(WHOLE_BONUS, specs[key].namespace is not None and whole == key)
        for key in by_name.get(name_form(request), [])
    }
    if not found and index is not None:
        found = {key: NameMatch(PARTIAL_BONUS, False) for key in index.partial(request) if key in specs}
    if len(request) <= MAX_SCANNED_CHARS:
        for token in set(_IDENT.findall(request)):
            if len(split_name(token).split()) >= 2 or "/" in token:
                for key in by_name.get(name_form(token), []):
                    spec = specs[key]
                    if token in (spec.name, key) and key not in found:
                        found[key] = NameMatch(MENTION_BONUS, spec.namespace is not None and token == key)
    return found


def parse_select(request: str) -> list[str] | None:
    """The names a ``select:NAME[,NAME]`` request asks for, in its order, each once; None for any other
    request. InvalidQueryError when it names none, InvalidArgumentError past :data:`MAX_SELECT`."""
    text = request.strip()
    if text[: len(SELECT_PREFIX)].lower() != SELECT_PREFIX:
        return None
    names = list(dict.fromkeys(n.strip() for n in text[len(SELECT_PREFIX) :].split(",") if n.strip()))
    if not names:
        raise InvalidQueryError("select: names no tool: write select:NAME or select:NAME,OTHER_NAME")
    if len(names) > MAX_SELECT:
        raise InvalidArgumentError(f"at most {MAX_SELECT} names per select:, got {len(names)}")
    return names


def selected_keys(
    names: Sequence[str], by_name: Mapping[str, Sequence[str]]
) -> tuple[list[list[str]], list[str]]:
    """Per name of ``names`` that selects any, the keys it selects (a name or a key, compared by
    :func:`name_form`: every tool bearing a name several servers list, by key), in the order given; and the
    names that select none."""
    groups, missing = [], []
    for name in names:
        found = sorted(by_name.get(name_form(name), []))
        if found:
            groups.append(found)
        else:
            missing.append(name)
    return groups, missing
