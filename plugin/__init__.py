"""hopscout: the retrieval layer for LLM agents.

One entry point, :class:`Scout`: hybrid (dense + BM25) search over Chroma, offline by default."""

from .embedders import Embedder, OpenAIEmbedder, SentenceTransformerEmbedder
from .errors import (
    CollectionNotFoundError,
    EmbedderMismatchError,
    EmbedderUnavailableError,
    HopscoutError,
    InvalidArgumentError,
    InvalidQueryError,
    LLMUnavailableError,
    StoreUnavailableError,
    ToolNotFoundError,
    UnreadableFileError,
    UnsupportedFileError,
)
from .llm import LLM, LLMClient
from .scout import CollectionInfo, Scout
from .settings import Settings
from .tools import RegisterReport, ToolCatalog, ToolHit, ToolResults, ToolSpec
from .types import Document, Hit, IngestReport

__version__ = "0.1.0"

__all__ = [
    "LLM",
    "CollectionInfo",
    "CollectionNotFoundError",
    "Document",
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
    "OpenAIEmbedder",
    "RegisterReport",
    "Scout",
    "SentenceTransformerEmbedder",
    "Settings",
    "StoreUnavailableError",
    "ToolCatalog",
    "ToolHit",
    "ToolNotFoundError",
    "ToolResults",
    "ToolSpec",
    "UnreadableFileError",
    "UnsupportedFileError",
]
