"""hopscout: the retrieval layer for LLM agents.

One entry point, :class:`Scout`: hybrid (dense + BM25) search over Chroma, offline by default, with multi-hop
retrieval and adaptive query augmentation; :class:`ToolCatalog` finds the few tools a request needs. Faces
(``hopscout.adapters``, ``hopscout.servers``) use only the names exported here."""

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
