"""Exceptions hopscout raises. Every message says what went wrong and what to do about it."""

from __future__ import annotations


class HopscoutError(Exception):
    """Base class: catch this to handle every hopscout failure."""


class InvalidQueryError(HopscoutError, ValueError):
    """A query is empty, whitespace only, too long, or not a string."""


class InvalidArgumentError(HopscoutError, ValueError):
    """An argument has the wrong type or is out of range (k <= 0, a bad filter, ...)."""


class InvalidSettingError(HopscoutError, ValueError):
    """A setting (a ``HOPSCOUT_*`` environment variable or a keyword setting) has a value hopscout cannot use."""


class StoreNotFoundError(HopscoutError, LookupError):
    """A command that only reads (search, collections, delete) was pointed at a home with no hopscout store."""


class CollectionNotFoundError(HopscoutError, LookupError):
    """The named collection does not exist in the store."""


class EmbedderMismatchError(HopscoutError):
    """A collection was built with another embedder (id or dimension) than the one in use."""


class StoreUnavailableError(HopscoutError, ConnectionError):
    """The Chroma store cannot be reached or opened."""


class EmbedderUnavailableError(HopscoutError):
    """The embedding model cannot be loaded or the embeddings endpoint does not answer."""


class UnreadableFileError(HopscoutError, OSError):
    """A file cannot be read: missing, a directory, no permission, binary, or an unknown encoding."""


class UnsupportedFileError(UnreadableFileError):
    """A file's type has no parser (e.g. an image); it is skipped in folder ingests."""


class LLMUnavailableError(HopscoutError, ConnectionError):
    """The LLM endpoint is down, too slow (timeout), or answered with an error or an unusable response."""


class NoRecordedReplyError(LLMUnavailableError):
    """A recorded LLM (:class:`hopscout.llm.ReplayLLM`) has no reply for this task and subject; the LLM itself is
    fine, so other subjects are still asked."""


class ToolCatalogCollectionError(InvalidArgumentError):
    """Documents and a tool catalog mixed up in one collection: documents were to be added to, searched in or
    deleted from a tool catalog's collection (only :class:`hopscout.ToolCatalog` reads and writes it:
    ``register``, ``remove``, ``find_tools``), or a catalog was to take over a collection of documents."""


class InvalidToolError(InvalidArgumentError):
    """One tool cannot enter a catalog (no name, a name that could pass for another tool's, an over-long
    description, ...): :func:`hopscout.tools.to_spec` raises it; ``ToolCatalog.register`` skips that tool,
    registers the others and reports why (``RegisterReport.skipped``). ``name`` is the tool's name as given
    (None when it has none that is a string), ``reason`` why, without the tool's label."""

    def __init__(self, message: str, *, name: str | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.name = name
        self.reason = reason or message


class ToolNotFoundError(HopscoutError, LookupError):
    """No tool with that key is registered in the catalog."""
