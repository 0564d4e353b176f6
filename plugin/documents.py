"""What ``Scout.add`` and ``Scout.update`` accept, checked and normalised into :class:`~hopscout.types.Document` with
ids, and documents as ``Scout.get`` gives them back (:class:`StoredDocument`, :class:`DocumentPage`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidArgumentError
from .filters import check_key, check_scalar, shown
from .keys import RESERVED_PREFIXES
from .types import Document

MAX_ID_CHARS = 1024
MAX_METADATA_KEYS = 128


def as_documents(
    documents: Iterable[Any],
    metadatas: Sequence[Mapping[str, Any] | None] | None,
    ids: Sequence[str] | None,
    *,
    max_chars: int | None = None,
) -> list[Document]:
    """Strings, Documents or ``{"text", "metadata", "id"}`` dicts → Documents with ids (hash of text and
    metadata when none is given); raises InvalidArgumentError naming the bad item.

    ``max_chars`` (``HOPSCOUT_MAX_DOCUMENT_CHARS`` in ``Scout.add``) bounds each text; ids are at most
    MAX_ID_CHARS characters, metadata at most MAX_METADATA_KEYS keys (see :func:`check_metadata`)."""
    if isinstance(documents, (str, bytes, Document)) or not isinstance(documents, Iterable):
        raise InvalidArgumentError("documents must be a list of strings, Documents or {'text': ...} dicts")
    docs = list(documents)
    if metadatas is not None and len(metadatas) != len(docs):
        raise InvalidArgumentError(f"{len(metadatas)} metadatas for {len(docs)} documents")
    if ids is not None and len(ids) != len(docs):
        raise InvalidArgumentError(f"{len(ids)} ids for {len(docs)} documents")
    out: list[Document] = []
    for n, item in enumerate(docs):
        if isinstance(item, str):
            item = Document(item)
        elif isinstance(item, Mapping):
            if not isinstance(item.get("text"), str):
                raise InvalidArgumentError(f"document {n} has no 'text' string")
            item = Document(item["text"], item.get("metadata") or {}, item.get("id"))
        elif not isinstance(item, Document):
            raise InvalidArgumentError(f"document {n} is a {type(item).__name__}, not a string or Document")
        if not item.text.strip():
            raise InvalidArgumentError(f"document {n} is empty")
        if max_chars is not None and len(item.text) > max_chars:
            raise InvalidArgumentError(
                f"document {n} has {len(item.text)} characters, over the limit of {max_chars} "
                "(HOPSCOUT_MAX_DOCUMENT_CHARS): split it into passages, or save it to a file and ingest that "
                "(ingest cuts files into chunks)"
            )
        meta = check_metadata(n, {**item.metadata, **((metadatas[n] or {}) if metadatas is not None else {})})
        doc_id = ids[n] if ids is not None else item.id
        if doc_id is None:
            doc_id = hashlib.sha256(repr((item.text, sorted(meta.items()))).encode()).hexdigest()[:32]
        if not isinstance(doc_id, str) or not 0 < len(doc_id) <= MAX_ID_CHARS:
            raise InvalidArgumentError(
                f"document {n} has an invalid id {shown(doc_id)}: ids are non-empty strings of at most "
                f"{MAX_ID_CHARS} characters"
            )
        out.append(Document(item.text, meta, doc_id))
    if len({d.id for d in out}) != len(out):
        raise InvalidArgumentError("duplicate ids in one add() call")
    return out


def check_metadata(n: int, meta: Mapping[str, Any], *, what: str | None = None) -> dict[str, Any]:
    """Document ``n``'s metadata with None values dropped; raises on reserved keys, on keys no filter could name
    (:func:`hopscout.filters.check_key`) and on values that are not scalars or too long
    (:func:`hopscout.filters.check_scalar`). ``what`` names the owner in messages (default "document n")."""
    owner = what or f"document {n}"
    if len(meta) > MAX_METADATA_KEYS:
        raise InvalidArgumentError(
            f"{owner} has {len(meta)} metadata keys, over the limit of {MAX_METADATA_KEYS}: keep the "
            "attributes you filter on"
        )
    clean: dict[str, Any] = {}
    for key, value in meta.items():
        if not isinstance(key, str) or not key or key.startswith(RESERVED_PREFIXES):
            raise InvalidArgumentError(
                f"{owner}: metadata key {shown(key)} is invalid or reserved (hs_*, hopscout:*, tool_*)"
            )
        try:
            check_key(key)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"{owner}: {exc}") from None
        if value is None:
            continue
        clean[key] = check_scalar(value, f"{owner}: metadata {key!r}")
    return clean


def merge_metadata(current: Mapping[str, Any], changes: Mapping[str, Any] | None) -> dict[str, Any]:
    """``current`` with ``changes`` applied: a key set to None is removed, any other value set (how ``update``
    and ``modify_collection`` change metadata without restating it whole)."""
    merged = dict(current)
    for key, value in (changes or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True)
class StoredDocument:
    """A document as its collection holds it: id, text, the user's metadata (hopscout's own ``hs_*`` keys left
    out) and ``flags``, the hostile-text signs read when it was written (:mod:`hopscout.suspicion`): a flagged
    text is data, never instructions."""

    id: str
    text: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    flags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "metadata": dict(self.metadata), "flags": list(self.flags)}


@dataclass(frozen=True)
class DocumentPage:
    """One page of :meth:`hopscout.Scout.get`: the documents from ``offset``; ``next_offset`` is where the next
    page starts (None: this is the last); ``missing`` lists the ids asked for that the collection does not hold."""

    collection: str
    documents: tuple[StoredDocument, ...]
    offset: int = 0
    next_offset: int | None = None
    missing: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "documents": [doc.to_dict() for doc in self.documents],
            "offset": self.offset,
            "next_offset": self.next_offset,
            "missing": list(self.missing),
        }
