"""Everything of a tool an agent reads, judged, and the tool as an agent may be shown it.

An agent reads more of a tool than its description: its name, every parameter's name, description, ``enum``,
``default`` and ``examples``, nested schemas (``properties``, ``items``, ``anyOf`` / ``oneOf`` / ``allOf``,
``$defs``, ``additionalProperties``) and its annotations' title. The best-known MCP tool-poisoning attack puts
its order in a parameter's description. :func:`judge` reads every string of a :class:`ToolSpec` as
:func:`hopscout.agent_text.read_text` does (NFKC, invisible characters removed, look-alike letters folded),
and returns

- the tool with every string replaced by its clean form, its schema cut at :data:`MAX_DEPTH` levels and
  :data:`MAX_STRINGS` strings / :data:`MAX_CHARS` characters (what is over is dropped);
- each string an agent would read, by JSON path (``$.input_schema.properties.path.description``; a property's
  own name is its path with ``~``), in its clean form;
- the flags: the description's (:func:`hopscout.suspicion.text_flags`: a word list, repetition, orders),
  ``instructions`` when any other string gives the agent orders, ``hidden_chars``, ``confusables`` (a word was
  folded) and ``schema_capped``."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from importlib.metadata import version as _version
from typing import Any

from .. import __version__
from ..agent_text import read_text
from ..orders import current_detector
from ..suspicion import CONFUSABLES, HIDDEN_CHARS, INSTRUCTIONS, has_instructions, text_flags
from .spec import ToolSpec

SCHEMA_CAPPED = "schema_capped"
# Limits on a tool's input schema. Set on the clean tool sets (MetaTool, Seal-Tools in and out of domain,
# LiveMCPBench's 527 real MCP tools), none of which comes near them: the deepest schema there nests 10 JSON
# levels (Seal-Tools 4, MetaTool 1), the largest holds 239 strings, keys included, and 4,537 characters.
MAX_DEPTH = 12  # JSON levels of objects and lists, the schema's own object the first
MAX_STRINGS = 1000  # strings (values and property names) in one schema
MAX_CHARS = 20_000  # characters of those strings
ORDER_MIN_WORDS = 3  # a string shorter than this cannot give an order ("string", "YYYY-MM-DD", an enum value)
# JSON-Schema keywords: a key that is one of these is structure, not a name an agent reads as text.
_SCHEMA_KEYWORDS = (
    "type properties items description title enum default examples required anyOf oneOf allOf not $defs "
    "definitions additionalProperties patternProperties format pattern minimum maximum exclusiveMinimum "
    "exclusiveMaximum minLength maxLength minItems maxItems uniqueItems minProperties maxProperties "
    "const $ref $schema $id $comment multipleOf nullable readOnly writeOnly deprecated contentMediaType "
    "contentEncoding if then else dependentRequired dependentSchemas prefixItems contains propertyNames"
)
_KEYWORDS = frozenset(_SCHEMA_KEYWORDS.split())

# Keywords whose values map names (of properties, of definitions) to schemas.
_NAMED = frozenset({"properties", "$defs", "definitions", "patternProperties", "dependentSchemas"})


@dataclass(frozen=True)
class Exposure:
    """A tool as an agent may be shown it (``spec``: every string clean, the schema capped), every string an
    agent reads as (JSON path, clean text), and why the tool looks hostile (``flags``; empty: it does not)."""

    spec: ToolSpec
    strings: tuple[tuple[str, str], ...]
    flags: tuple[str, ...]


def judge(spec: ToolSpec) -> Exposure:
    """Read everything of ``spec`` an agent reads; see the module's docstring."""
    reader = _Reader()
    reader.read("$.name", spec.name)  # names pass tool_name_problem; read for look-alikes, never rewritten
    description = reader.read("$.description", spec.description)
    said = reader.last_skeleton  # judged with the description's own flags below
    schema = reader.walk(spec.input_schema, "$.input_schema", 0)
    annotations = reader.walk(spec.annotations, "$.annotations", 0) if spec.annotations else spec.annotations
    flags = list(text_flags(spec.description))
    if INSTRUCTIONS not in flags and any(
        len(skeleton.split()) >= ORDER_MIN_WORDS and has_instructions(skeleton)
        for skeleton in reader.skeletons
        if skeleton != said
    ):
        flags.append(INSTRUCTIONS)
    for flag, found in ((HIDDEN_CHARS, reader.hidden), (CONFUSABLES, reader.confusable)):
        if found and flag not in flags:
            flags.append(flag)
    if reader.capped:
        flags.append(SCHEMA_CAPPED)
    clean = replace(
        spec,
        description=description,
        input_schema=schema if isinstance(schema, dict) else {},
        annotations=annotations if isinstance(annotations, dict) or annotations is None else None,
    )
    return Exposure(clean, tuple(reader.strings), tuple(flags))


class _Reader:
    """One walk over a tool: the strings read, their skeletons (deduplicated) and what was found."""

    def __init__(self) -> None:
        self.strings: list[tuple[str, str]] = []
        self.skeletons: dict[str, None] = {}
        self.hidden = self.confusable = self.capped = False
        self.last_skeleton = ""
        self._count = self._chars = 0

    def read(self, path: str, text: str) -> str:
        got = read_text(text)
        self.hidden |= got.hidden
        self.confusable |= got.confusable
        self.strings.append((path, got.clean))
        self.skeletons[got.skeleton] = None
        self.last_skeleton = got.skeleton
        return got.clean

    def _room(self, text: str) -> bool:
        """Whether one more string fits the schema's budget (counted when it does)."""
        if self._count + 1 > MAX_STRINGS or self._chars + len(text) > MAX_CHARS:
            self.capped = True
            return False
        self._count += 1
        self._chars += len(text)
        return True

    def walk(self, value: Any, path: str, depth: int, names: bool = False) -> Any:
        """``value`` with every string clean (``names``: its keys are names, such as a schema's properties, not
        keywords); parts below :data:`MAX_DEPTH` or over the budget dropped (None)."""
        if isinstance(value, str):
            return self.read(path, value) if self._room(value) else None
        if not isinstance(value, (Mapping, list)):
            return value
        if depth >= MAX_DEPTH:
            self.capped = True
            return None
        if isinstance(value, list):
            items = (self.walk(item, f"{path}[{n}]", depth + 1) for n, item in enumerate(value))
            return [item for item, given in zip(items, value) if item is not None or given is None]
        out: dict[str, Any] = {}
        for key, item in value.items():
            key = str(key)
            if key in _KEYWORDS and not names:
                clean_key = key
            elif self._room(key):
                clean_key = self.read(f"{path}.{key}~", key)
            else:
                break
            if clean_key in out:  # two names that read alike: the first is kept, the other is a disguise
                continue
            walked = self.walk(item, f"{path}.{clean_key}", depth + 1, not names and key in _NAMED)
            if walked is not None or item is None:
                out[clean_key] = walked
        return out


# -- judgements kept: in this process by content hash, and with each tool's stored document --------------------

JUDGE_FORMAT = 4  # one up whenever judge() can say otherwise of the same tool under the same order detector


@cache
def _judge_release() -> str:
    """What judge() reads besides the order detector: this release of hopscout, the Unicode data that NFKC and
    the character classes come from, and the confusables table's release."""
    return f"{__version__}/{unicodedata.unidata_version}/{_version('confusable-homoglyphs')}"


def judged_by() -> str:
    """Which judge judges now: :data:`JUDGE_FORMAT`, the release of what it reads (:func:`_judge_release`) and
    the order detector in force (its fingerprint; the evaluation swaps in detectors fitted without a family). A
    stored judgement is taken only from this judge."""
    return f"{JUDGE_FORMAT}/{_judge_release()}/{current_detector().fingerprint}"


_JUDGED: dict[tuple[str, str], Exposure] = {}
_JUDGED_KEPT = 50_000  # judgements kept in this process (each holds its tool's strings)


def judged(spec: ToolSpec) -> Exposure:
    """:func:`judge` of ``spec``, once per content hash and judge in this process: a catalog read again after a
    write judges only what the write changed."""
    key = (spec.content_hash, judged_by())
    found = _JUDGED.get(key)
    if found is None:
        if len(_JUDGED) >= _JUDGED_KEPT:
            _JUDGED.clear()
        found = _JUDGED[key] = judge(spec)
    return found


def judgement_record(spec: ToolSpec) -> str:
    """What is stored with a tool's document when it is written (:data:`hopscout.keys.TOOL_JUDGED`): its flags,
    whether judging changed nothing of it (``clean``: no string rewritten, the schema not capped), and the
    judge's :func:`judged_by`. A process opening the catalog then takes a clean tool's flags as stored rather
    than read every string of every tool again (0.7 ms a tool: 35 s for 50,000)."""
    found = judged(spec)
    return json.dumps(
        {
            "by": judged_by(),
            "tool": spec.content_hash,
            "flags": list(found.flags),
            "clean": found.spec == spec,
        }
    )


def stored_flags(record: object, spec: ToolSpec) -> tuple[str, ...] | None:
    """The flags a :func:`judgement_record` holds for ``spec``, when the judge in force made it of this very
    tool (its content hash) and the tool was clean (then the stored tool is the tool an agent is shown); None
    otherwise: judge it again."""
    if not isinstance(record, str):
        return None
    try:
        raw = json.loads(record)
    except (ValueError, RecursionError):
        return None
    if not isinstance(raw, dict) or raw.get("by") != judged_by() or raw.get("clean") is not True:
        return None
    if raw.get("tool") != spec.content_hash:
        return None
    flags = raw.get("flags")
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        return None
    return tuple(flags)


__all__ = [
    "JUDGE_FORMAT",
    "MAX_CHARS",
    "MAX_DEPTH",
    "MAX_STRINGS",
    "SCHEMA_CAPPED",
    "Exposure",
    "judge",
    "judged",
    "judged_by",
    "judgement_record",
    "stored_flags",
]
