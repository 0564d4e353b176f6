"""hopscout: the retrieval layer for LLM agents.

One entry point, :class:`Scout`: hybrid (dense + BM25) search over Chroma, offline by default, with multi-hop
retrieval and adaptive query augmentation; :class:`ToolCatalog` finds the few tools a request needs. Faces
(``hopscout.adapters``, ``hopscout.servers``) use only the names exported here.

Every name is imported on first use (PEP 562 ``__getattr__``): ``import hopscout.errors`` or the command line's
fast paths load only what they need, not the embedder, the store client and pydantic. Type checkers and IDEs
read the imports under ``TYPE_CHECKING``; ``tests/unit/test_lazy_package.py`` keeps that list, ``_WHERE`` and
``__all__`` the same."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .agent_view import hits_text, passage_text
    from .documents import DocumentPage, StoredDocument
    from .embedders import Embedder, OpenAIEmbedder, SentenceTransformerEmbedder
    from .errors import (
        CollectionNotFoundError,
        EmbedderMismatchError,
        EmbedderUnavailableError,
        HopscoutError,
        InvalidArgumentError,
        InvalidQueryError,
        LLMUnavailableError,
        NoRecordedReplyError,
        StoreUnavailableError,
        ToolCatalogCollectionError,
        ToolNotFoundError,
        UnreadableFileError,
        UnsupportedFileError,
    )
    from .llm import LLM, LLMClient, ReplayLLM
    from .retrieval import DEFAULT_AGENT_K, DEFAULT_RETRIEVER_K, DEFAULT_SEARCH_K, SearchOptions
    from .scout import Scout
    from .settings import AUGMENT_POLICIES, SEARCH_MODES, AugmentPolicy, SearchMode, Settings
    from .store import VectorStore
    from .tools import Profile, RegisterReport, ToolCatalog, ToolHit, ToolResults, ToolSpec
    from .types import FIELD_PREFIX, HIT_FIELDS, CollectionInfo, Document, Hit, IngestReport
    from .untrusted import namespace_problem, shown, tool_name_problem, untrusted_text

__version__ = "0.1.0"

_WHERE = {  # public name -> the module that defines it
    "hits_text": ".agent_view",
    "passage_text": ".agent_view",
    "DocumentPage": ".documents",
    "StoredDocument": ".documents",
    "Embedder": ".embedders",
    "OpenAIEmbedder": ".embedders",
    "SentenceTransformerEmbedder": ".embedders",
    "CollectionNotFoundError": ".errors",
    "EmbedderMismatchError": ".errors",
    "EmbedderUnavailableError": ".errors",
    "HopscoutError": ".errors",
    "InvalidArgumentError": ".errors",
    "InvalidQueryError": ".errors",
    "LLMUnavailableError": ".errors",
    "NoRecordedReplyError": ".errors",
    "StoreUnavailableError": ".errors",
    "ToolCatalogCollectionError": ".errors",
    "ToolNotFoundError": ".errors",
    "UnreadableFileError": ".errors",
    "UnsupportedFileError": ".errors",
    "LLM": ".llm",
    "LLMClient": ".llm",
    "ReplayLLM": ".llm",
    "DEFAULT_AGENT_K": ".retrieval",
    "DEFAULT_RETRIEVER_K": ".retrieval",
    "DEFAULT_SEARCH_K": ".retrieval",
    "SearchOptions": ".retrieval",
    "Scout": ".scout",
    "AUGMENT_POLICIES": ".settings",
    "AugmentPolicy": ".settings",
    "SEARCH_MODES": ".settings",
    "SearchMode": ".settings",
    "Settings": ".settings",
    "VectorStore": ".store",
    "Profile": ".tools",
    "RegisterReport": ".tools",
    "ToolCatalog": ".tools",
    "ToolHit": ".tools",
    "ToolResults": ".tools",
    "ToolSpec": ".tools",
    "CollectionInfo": ".types",
    "Document": ".types",
    "FIELD_PREFIX": ".types",
    "HIT_FIELDS": ".types",
    "Hit": ".types",
    "IngestReport": ".types",
    "namespace_problem": ".untrusted",
    "shown": ".untrusted",
    "tool_name_problem": ".untrusted",
    "untrusted_text": ".untrusted",
}

__all__ = [
    "AUGMENT_POLICIES",
    "DEFAULT_AGENT_K",
    "DEFAULT_RETRIEVER_K",
    "DEFAULT_SEARCH_K",
    "FIELD_PREFIX",
    "HIT_FIELDS",
    "LLM",
    "SEARCH_MODES",
    "AugmentPolicy",
    "CollectionInfo",
    "CollectionNotFoundError",
    "Document",
    "DocumentPage",
    "Embedder",
    "EmbedderMismatchError",
    "EmbedderUnavailableError",
    "Hit",
    "HopscoutError",
    "IngestReport",
    "InvalidArgumentError",
    "InvalidQueryError",
    "LLMClient",
    "LLMUnavailableError",
    "NoRecordedReplyError",
    "OpenAIEmbedder",
    "Profile",
    "RegisterReport",
    "ReplayLLM",
    "Scout",
    "SearchMode",
    "SearchOptions",
    "SentenceTransformerEmbedder",
    "Settings",
    "StoreUnavailableError",
    "StoredDocument",
    "ToolCatalog",
    "ToolCatalogCollectionError",
    "ToolHit",
    "ToolNotFoundError",
    "ToolResults",
    "ToolSpec",
    "UnreadableFileError",
    "UnsupportedFileError",
    "VectorStore",
    "hits_text",
    "namespace_problem",
    "passage_text",
    "shown",
    "tool_name_problem",
    "untrusted_text",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is asked for, and keep the name here."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
