"""What ``Scout.add`` accepts, checked and normalised into :class:`~hopscout.types.Document` with ids."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .errors import InvalidArgumentError
from .types import Document

RESERVED_PREFIXES = ("hs_", "hopscout:")
_SCALAR = (str, int, float, bool)


def as_documents(
    documents: Iterable[Any], metadatas: Sequence[Mapping[str, Any] | None] | None, ids: Sequence[str] | None
) -> list[Document]:
    """Strings, Documents or ``{"text", "metadata", "id"}`` dicts → Documents with ids (hash of text and
    metadata when none is given); raises InvalidArgumentError naming the bad item."""
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
        meta = check_metadata(n, {**item.metadata, **((metadatas[n] or {}) if metadatas is not None else {})})
        doc_id = ids[n] if ids is not None else item.id
        if doc_id is None:
            doc_id = hashlib.sha256(repr((item.text, sorted(meta.items()))).encode()).hexdigest()[:32]
        if not isinstance(doc_id, str) or not doc_id:
            raise InvalidArgumentError(
                f"document {n} has an invalid id {doc_id!r}: ids are non-empty strings"
            )
        out.append(Document(item.text, meta, doc_id))
    if len({d.id for d in out}) != len(out):
        raise InvalidArgumentError("duplicate ids in one add() call")
    return out


def check_metadata(n: int, meta: Mapping[str, Any]) -> dict[str, Any]:
    """Document ``n``'s metadata with None values dropped; raises on reserved keys and non-scalar values."""
    clean: dict[str, Any] = {}
    for key, value in meta.items():
        if not isinstance(key, str) or not key or key.startswith(RESERVED_PREFIXES):
            raise InvalidArgumentError(
                f"document {n}: metadata key {key!r} is invalid or reserved (hs_*, hopscout:*)"
            )
        if value is None:
            continue
        if not isinstance(value, _SCALAR):
            raise InvalidArgumentError(
                f"document {n}: metadata {key!r} is a {type(value).__name__}; values must be str, int, float or bool"
            )
        clean[key] = value
    return clean
