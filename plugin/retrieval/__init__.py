"""The search pipeline's common ground: the options of a search, the one first retrieval every search starts
from, the values that flow between stages, confidence signals, and hits at the end."""

from .candidates import Candidates, Ranked, Row, Stage
from .first import FirstRetrieval, FirstStage
from .options import (
    DEFAULT_AGENT_K,
    DEFAULT_RETRIEVER_K,
    DEFAULT_SEARCH_K,
    EXPANSION_HELP,
    ResolvedSearch,
    SearchKwargs,
    SearchOptions,
    check_k,
    check_queries,
    check_text,
)
from .results import to_hits
from .signals import SIGNALS, signals

__all__ = [
    "DEFAULT_AGENT_K",
    "DEFAULT_RETRIEVER_K",
    "DEFAULT_SEARCH_K",
    "EXPANSION_HELP",
    "SIGNALS",
    "Candidates",
    "FirstRetrieval",
    "FirstStage",
    "Ranked",
    "ResolvedSearch",
    "Row",
    "SearchKwargs",
    "SearchOptions",
    "Stage",
    "check_k",
    "check_queries",
    "check_text",
    "signals",
    "to_hits",
]
