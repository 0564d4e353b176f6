"""The public records of tool retrieval: a tool found (:class:`ToolHit`), one request's ranked tools
(:class:`ToolResults`) and what a registration did (:class:`RegisterReport`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import guard
from .spec import ToolSpec


@dataclass(frozen=True)
class ToolHit:
    """A tool found for a request: its spec and a higher-is-better score (comparable within one result)."""

    spec: ToolSpec
    score: float
    query: str | None = None  # the query whose result list gave the tool its score
    # why it looks hostile: word_list, repetitive, instructions (in any string it shows), hidden_chars,
    # confusables, schema_capped (hopscout.tools.exposure), hub, name_clash
    flags: tuple[str, ...] = ()
    trust: str = guard.UNTRUSTED  # its server's trust level, from the catalog's configuration
    # equivalent tools of other servers folded into this entry (hopscout.tools.grouping), best first
    alternatives: tuple[ToolHit, ...] = ()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def namespace(self) -> str | None:
        return self.spec.namespace

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def schema(self) -> dict[str, Any]:
        return self.spec.input_schema

    @property
    def annotations(self) -> dict[str, Any] | None:
        """The tool's MCP annotations (``readOnlyHint``, ``destructiveHint``, ...), as its server gave them."""
        return self.spec.annotations

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "key": self.key,
            "score": self.score,
            "description": self.spec.description,
            "input_schema": self.schema,
            "annotations": self.annotations,
            "query": self.query,
            "flags": list(self.flags),
            "trust": self.trust,
            "alternatives": [
                {"key": a.key, "namespace": a.namespace, "score": a.score, "flags": list(a.flags)}
                for a in self.alternatives
            ],
        }


@dataclass(frozen=True)
class ToolResults:
    """Ranked tools, the queries searched (the raw request first), whether an LLM wrote some, and a note on
    any fallback (e.g. "LLM endpoint ... timed out after 10s; used the raw request only")."""

    hits: list[ToolHit]
    queries: list[str]
    generated: bool = False
    note: str | None = None

    def __iter__(self) -> Any:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    @property
    def keys(self) -> list[str]:
        return [h.key for h in self.hits]

    def to_dict(self) -> dict[str, Any]:
        return {
            "hits": [h.to_dict() for h in self.hits],
            "queries": list(self.queries),
            "generated": self.generated,
            "note": self.note,
        }


@dataclass(frozen=True)
class RegisterReport:
    """Tool keys added, replaced (changed) and left unchanged; tools given new views (your ``views`` or LLM
    requests); a fallback note; the tools skipped, each with why (its key, or its name or position when it
    has no valid one → the reason: a name that could pass for another tool's, an over-long description, ...)."""

    added: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    expanded: tuple[str, ...] = ()
    note: str | None = None
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": list(self.added),
            "replaced": list(self.replaced),
            "unchanged": list(self.unchanged),
            "expanded": list(self.expanded),
            "note": self.note,
            "skipped": dict(self.skipped),
        }
