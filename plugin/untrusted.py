"""Text that others wrote, checked before it becomes a name and cleaned before an agent reads it.

A tool's name and its server's name (its namespace) become catalog keys (``server/tool``; a tool's extra views
are ``key#r<n>``) and an agent reads them: a ``/`` or ``#`` inside one would let a tool pass for another's key,
and a character that shows nothing, or something else, would let two names look alike. :func:`tool_name_problem`
and :func:`namespace_problem` say why a name cannot be one (checked on its Unicode NFKC form, which must be the
name itself: a fullwidth ``／`` is a ``/``). :func:`untrusted_text` makes a server's own words (an error message)
safe to quote; :func:`shown` quotes any value in an error message or a log line, cut short."""

from __future__ import annotations

import re
import reprlib
import unicodedata
from typing import Any

MAX_TOOL_NAME_CHARS = 128  # a tool's or a server's name (the MCP specification's limit for tool names)
MAX_QUOTED_CHARS = 200  # characters of a server's own words (an error message) an agent is shown
# The characters the MCP specification recommends for tool names; every one of the 527 real tools of the
# LiveMCPBench catalog keeps to them.
_MCP_NAME = re.compile(r"[A-Za-z0-9_.-]+")
# Unicode categories that show nothing or something else: controls, format characters (zero-width, bidirectional
# overrides and isolates, tags), surrogates, private use, unassigned, line and paragraph separators.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# Letters and marks that render as nothing: combining grapheme joiner, Hangul fillers, Khmer inherent vowels,
# the braille blank.
_BLANK = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0")
_short = reprlib.Repr()
_short.maxstring = _short.maxother = 80
_short.maxlist = _short.maxdict = 4
_short.maxlevel = 3


def hidden(char: str) -> bool:
    """Whether ``char`` is invisible, a control or bidirectional character, or a variation selector."""
    point = ord(char)
    return (
        unicodedata.category(char) in _HIDDEN_CATEGORIES
        or char in _BLANK
        or 0xFE00 <= point <= 0xFE0F
        or 0xE0100 <= point <= 0xE01EF
    )


def tool_name_problem(name: object, *, strict: bool = False) -> str | None:
    """Why ``name`` cannot be a tool's name in a catalog (None: it can): empty or over
    :data:`MAX_TOOL_NAME_CHARS` characters, a ``/`` (the server/tool separator) or ``#`` (the view separator),
    control, invisible or bidirectional characters, whitespace at its ends, or a form that changes under Unicode
    NFKC normalisation. ``strict``: also any character outside the MCP specification's recommended set
    ``A-Z a-z 0-9 _ . -`` (the router's rule for upstream tools: no look-alike letters or slashes, such as
    ``∕`` U+2215 or a Cyrillic ``а``, pass for another name)."""
    if not isinstance(name, str) or not name:
        return "it is empty" if isinstance(name, str) or name is None else f"it is a {type(name).__name__}"
    if len(name) > MAX_TOOL_NAME_CHARS:
        return f"it is {len(name)} characters long (at most {MAX_TOOL_NAME_CHARS})"
    # visible ASCII, no separator, no space, its own NFKC form: nothing to check
    if _MCP_NAME.fullmatch(name):
        return None
    normal = unicodedata.normalize("NFKC", name)
    after = "" if normal == name else " (after Unicode NFKC normalisation)"
    if any(hidden(c) for c in normal):
        return "it holds control, invisible or bidirectional characters" + after
    for mark, role in (("/", "the server/tool separator"), ("#", "the catalog's view separator")):
        if mark in normal:
            return f"it holds {mark!r}, {role}{after}"
    if normal != normal.strip():
        return "it starts or ends with whitespace" + after
    if after:
        return "it changes under Unicode NFKC normalisation (it could pass for another name)"
    if strict and not _MCP_NAME.fullmatch(name):
        odd = ", ".join(
            f"U+{ord(c):04X}" for c in dict.fromkeys(c for c in name if not _MCP_NAME.fullmatch(c))
        )
        return (
            f"it holds {odd}: characters outside the MCP specification's tool-name set A-Z a-z 0-9 _ . - "
            "(a look-alike letter or slash could pass for another name)"
        )
    return None


def namespace_problem(namespace: object) -> str | None:
    """Why ``namespace`` cannot name a server (a catalog namespace; None: it can): the rule of
    :func:`tool_name_problem`, and no whitespace at all. The router's server names and the catalog's namespaces
    follow this one rule, so a server the router accepts is one the catalog accepts."""
    problem = tool_name_problem(namespace)
    if (
        problem is None
        and not _MCP_NAME.fullmatch(str(namespace))
        and any(c.isspace() for c in str(namespace))
    ):
        return "it holds whitespace"
    return problem


def untrusted_text(text: object, limit: int = MAX_QUOTED_CHARS) -> str:
    """Someone else's words made safe to quote to an agent: Unicode NFKC form, without control, invisible or
    bidirectional characters, every run of whitespace one space, double quotes made single (the quote around it
    stays the quote), at most ``limit`` characters (cut with "…")."""
    raw = str(text)[: limit * 8]  # a 10 MB message costs what a short one does
    normal = unicodedata.normalize("NFKC", raw)
    kept = "".join(" " if c.isspace() else c for c in normal if c.isspace() or not hidden(c))
    clean = " ".join(kept.split()).replace('"', "'")
    return clean if len(clean) <= limit else clean[: limit - 1].rstrip() + "…"


def shown(value: Any) -> str:
    """``repr(value)`` cut short (long strings, long or deeply nested lists; controls and invisible characters
    escaped): how an error message or a log line quotes a value it was given."""
    return _short.repr(value)


__all__ = [
    "MAX_QUOTED_CHARS",
    "MAX_TOOL_NAME_CHARS",
    "hidden",
    "namespace_problem",
    "shown",
    "tool_name_problem",
    "untrusted_text",
]
