"""What a tool is written as in its catalog's collection: its own document (split name, name, description,
parameters; id its key) and the views given to it (requests a user might make, id ``<key>#r<n>``), each with
the metadata the catalog reads back; and the hashes that tell a changed tool or changed views from an
unchanged one."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..keys import (
    TOOL_HASH,
    TOOL_JUDGED,
    TOOL_KEY,
    TOOL_NAME,
    TOOL_NAMESPACE,
    TOOL_READ_ONLY,
    TOOL_SPEC,
    TOOL_VIEW,
    TOOL_VIEWS_HASH,
)
from .exposure import judgement_record
from .spec import DOCUMENT_VERSION, ToolSpec, tool_document

VIEW_TOOL, VIEW_REQUEST = "tool", "request"  # the values of TOOL_VIEW: a tool's own document, or a view of it
_VIEW_ID = re.compile(r"#r\d+")  # what follows a tool's key in the id of one of its views


@dataclass
class ToolDocuments:
    """Documents to write, in one order: ids, texts and metadata."""

    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    metadatas: list[dict[str, Any]] = field(default_factory=list)


def indexed_hash(spec: ToolSpec) -> str:
    """Changes when the tool or the way its document is written changes (then it is indexed again). Trust is
    configuration, not part of it: tools once registered trusted (whose hash ended ".trusted") are indexed
    again once."""
    return f"{spec.content_hash}.{DOCUMENT_VERSION}"


def views_hash(texts: Sequence[str]) -> str:
    """What a tool's views are, in 16 hex digits (a change writes them again)."""
    return hashlib.sha256(json.dumps(list(texts), ensure_ascii=False).encode()).hexdigest()[:16]


def is_view_id(doc_id: str, key: str) -> bool:
    """Whether ``doc_id`` is the id of one of the views of the tool ``key`` (``<key>#r<n>``)."""
    owner, mark, rest = doc_id.partition("#")
    return owner == key and bool(_VIEW_ID.fullmatch(mark + rest))


def tool_documents(
    specs: Sequence[ToolSpec], views: Mapping[str, Sequence[str]], by_key: Mapping[str, ToolSpec]
) -> ToolDocuments:
    """The documents of each tool of ``specs`` (its own document), and the views of ``views`` (tool key → its
    requests; ``by_key`` gives their tools), ``<key>#r<n>`` each."""
    out = ToolDocuments()
    for spec in specs:
        out.ids.append(spec.key)
        out.texts.append(tool_document(spec))
        out.metadatas.append(tool_metadata(spec))
    for key, views_of in views.items():
        spec = by_key[key]
        meta = {
            TOOL_KEY: key,
            TOOL_VIEW: VIEW_REQUEST,
            TOOL_HASH: indexed_hash(spec),
            TOOL_READ_ONLY: spec.read_only,
            TOOL_VIEWS_HASH: views_hash(views_of),
            **({TOOL_NAMESPACE: spec.namespace} if spec.namespace else {}),
        }
        for n, text in enumerate(views_of):
            out.ids.append(f"{key}#r{n}")
            out.texts.append(text)
            out.metadatas.append(dict(meta))
    return out


def tool_metadata(spec: ToolSpec) -> dict[str, Any]:
    """The metadata of a tool's own document: the whole tool (:data:`TOOL_SPEC`) and what filters read."""
    meta = {  # no trust level: trust is the catalog's configuration, read when a request is answered
        TOOL_KEY: spec.key,
        TOOL_VIEW: VIEW_TOOL,
        TOOL_HASH: indexed_hash(spec),
        TOOL_READ_ONLY: spec.read_only,  # the hint as published; find_tools(read_only=True) also asks trust
        TOOL_NAME: spec.name,
        TOOL_SPEC: json.dumps(spec.to_dict(), ensure_ascii=False, sort_keys=True),
        TOOL_JUDGED: judgement_record(spec),  # judged as it is written, so no later read judges it again
    }
    if spec.namespace:
        meta[TOOL_NAMESPACE] = spec.namespace
    return meta
