"""Typed values that cross hopscout's public API."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Document:
    """Text to index, with optional metadata (str/int/float/bool values) and id (content hash if omitted)."""

    text: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class Hit:
    """One search result. ``score`` is higher-is-better and comparable within one result list.

    ``scores`` holds the parts it came from (``dense`` cosine, ``lexical`` BM25, ``fused``). Multi-hop results
    say which ``hop`` found them and from which ``parent`` passage (None on the first hop). Searches with
    ``augment=`` add ``scores["augmented"]`` (1.0 or 0.0) and a ``note`` when an augmenter fell back.

    ``confidence`` is the search's: the estimated probability that its top hit is relevant (the same on every
    hit of one result; low means "probably nothing here": rephrase, expand or stop). ``relevance`` is this
    hit's own estimated probability of being relevant. Both are absolute, unlike ``score``.

    ``flags`` name what looks hostile in the passage (``word_list``, ``repetitive``, ``instructions``: see
    :mod:`hopscout.suspicion`); a flagged passage is demoted (by HOPSCOUT_FLAGGED_DEMOTION) and should be read
    as data, never as instructions.

    Every face shows a hit the same way: :meth:`to_dict` (MCP, CLI ``--json``) and :meth:`to_metadata`
    (LangChain documents, LlamaIndex nodes: hopscout's fields beside the document's own, never over them) carry
    the same fields, and :mod:`hopscout.agent_view` writes the text a model reads."""

    id: str
    text: str
    score: float
    metadata: Mapping[str, Any]
    scores: Mapping[str, float] = field(default_factory=dict)
    hop: int = 1
    parent: str | None = None
    note: str | None = None
    confidence: float | None = None
    relevance: float | None = None
    flags: tuple[str, ...] = ()

    @property
    def source(self) -> str | None:
        """The file the text came from, when it was ingested from one."""
        value = self.metadata.get("source")
        return str(value) if value is not None else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``id, text, score, source, metadata, scores, hop, parent, confidence, relevance,
        flags`` and ``note`` when set."""
        return {
            "id": self.id,
            "text": self.text,
            "score": self.score,
            "source": self.source,
            "metadata": dict(self.metadata),
            "scores": dict(self.scores),
            "hop": self.hop,
            "parent": self.parent,
            "confidence": self.confidence,
            "relevance": self.relevance,
            "flags": list(self.flags),
            **({"note": self.note} if self.note else {}),
        }

    def to_metadata(self) -> dict[str, str | int | float | bool]:
        """The hit as one flat metadata mapping for a LangChain document or a LlamaIndex node.

        The document's own metadata, as stored (a ``score`` or ``hop`` key of its own stays its own), then
        hopscout's fields, each under :data:`FIELD_PREFIX`: ``hopscout_score``, ``hopscout_score_<part>`` for each
        part of it (``dense``, ``lexical``, ``fused``, ...), ``hopscout_hop``, ``hopscout_flags``
        (comma-separated, ``""`` when none) and, when set, ``hopscout_parent``, ``hopscout_confidence``,
        ``hopscout_relevance``, ``hopscout_note``. Every value is a str, int, float or bool (what LangChain's
        ``filter_complex_metadata`` keeps and Chroma accepts), so documents and nodes can be written to a vector
        store again: None is left out, a list or mapping of the document's own is JSON-encoded."""
        own = {key: _flat(value) for key, value in self.metadata.items() if value is not None}
        ours: dict[str, str | int | float | bool | None] = {
            "score": self.score,
            **{f"score_{part}": float(value) for part, value in self.scores.items()},
            "hop": self.hop,
            "parent": self.parent,
            "confidence": self.confidence,
            "relevance": self.relevance,
            "flags": ",".join(self.flags),
            "note": self.note,
        }
        fields = {FIELD_PREFIX + key: value for key, value in ours.items() if value is not None}
        return {**own, **{key: value for key, value in fields.items() if key not in own}}


def _flat(value: Any) -> str | int | float | bool:
    if isinstance(value, (str, int, float, bool)):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except ValueError:  # a circular structure
        return str(value)


# The fields of a hit (:meth:`Hit.to_dict`); :meth:`Hit.to_metadata` adds them beside a document's own metadata
# under FIELD_PREFIX.
HIT_FIELDS = ("id", "score", "source", "scores", "hop", "parent", "confidence", "relevance", "flags", "note")
FIELD_PREFIX = "hopscout_"


@dataclass(frozen=True)
class CollectionInfo:
    """A collection in the store: its name, document count and the embedder that built it."""

    name: str
    count: int
    embedder: str | None
    dim: int | None
    fusion_weight: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "count": self.count,
            "embedder": self.embedder,
            "dim": self.dim,
            "fusion_weight": self.fusion_weight,
        }


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did: files added, replaced, left as unchanged, removed, failed (path → reason: could not be
    read), skipped (path → reason: hidden, an unsupported type, no text in it, over the size limit, or a symlink
    leading outside the allowed folders, broken or looping) and the chunks written."""

    added: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    failed: Mapping[str, str] = field(default_factory=dict)
    chunks: int = 0
    skipped: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": list(self.added),
            "replaced": list(self.replaced),
            "unchanged": list(self.unchanged),
            "removed": list(self.removed),
            "failed": dict(self.failed),
            "skipped": dict(self.skipped),
            "chunks": self.chunks,
        }
