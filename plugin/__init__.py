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
    StoreUnavailableError,
    UnreadableFileError,
    UnsupportedFileError,
)
from .scout import CollectionInfo, Scout
from .settings import Settings
from .types import Document, Hit, IngestReport

__version__ = "0.1.0"

__all__ = [
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
    "OpenAIEmbedder",
    "Scout",
    "SentenceTransformerEmbedder",
    "Settings",
    "StoreUnavailableError",
    "UnreadableFileError",
    "UnsupportedFileError",
]
