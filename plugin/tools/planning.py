"""The queries searched for one request: the raw request always, plus the caller's queries, or ones the LLM
writes, or (LLM-free) the request's own steps, with a note on any fallback. LLM failures never raise here:
the LLM-free path is taken and the note says why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidArgumentError, InvalidQueryError, LLMUnavailableError
from ..llm import CachedLLM
from ..llm.replay import TOOL_QUERIES
from ..llm.replies import parse_list
from ..retrieval import check_queries, check_text
from ..settings import Settings
from .queries import PROMPT_VERSION, decompose, generation_prompt

MAX_QUERIES = 8  # raw request + at most 7 more per call


@dataclass(frozen=True)
class Plan:
    """The queries searched for one request (the request first); whether the others are rewrites (caller or
    LLM queries) rather than the request's own steps; whether an LLM wrote them; a fallback note."""

    queries: list[str]
    rewrites: bool
    generated: bool
    note: str | None


def check_requests(requests: Any, settings: Settings) -> list[str]:
    """``requests`` stripped, if it is a non-empty list of requests; InvalidQueryError otherwise."""
    if isinstance(requests, str) or not isinstance(requests, Sequence) or not requests:
        raise InvalidQueryError("requests must be a non-empty list of strings")
    return [_check_request(r, settings) for r in requests]


def _check_request(text: Any, settings: Settings) -> str:
    """The core's rule for a query, in a request's words: the faces show these messages to the agent that asked."""
    return check_text(text, settings, "request", "describe the capability you need").strip()


def plan_batch(
    requests: list[str],
    queries: Any,
    generate: Any,
    completions: CachedLLM | None,
    settings: Settings,
) -> list[Plan]:
    """:func:`plan` for each request, ``queries[i]`` (a list of strings, or None) going with request i."""
    if generate is not None and not isinstance(generate, bool):
        raise InvalidArgumentError(f"generate must be True, False or None, got {generate!r}")
    if queries is not None and (
        isinstance(queries, str) or not isinstance(queries, Sequence) or len(queries) != len(requests)
    ):
        raise InvalidQueryError("queries must be a list with one list of strings (or None) per request")
    return [
        plan(r, None if queries is None else queries[n], generate, completions, settings)
        for n, r in enumerate(requests)
    ]


def plan(
    request: str,
    queries: Sequence[str] | None,
    generate: bool | None,
    completions: CachedLLM | None,
    settings: Settings,
) -> Plan:
    """The queries to search for ``request``: ``queries`` (the caller's) when given, else the LLM's when
    ``generate`` (None: when ``completions`` is configured), else the request's own steps."""
    note: str | None = None
    generated = False
    rewrites = queries is not None
    if queries is not None:
        extra = _check_queries(queries, settings)
    else:
        use_llm = generate if generate is not None else completions is not None
        extra = []
        if use_llm and completions is None:
            note = "generate=True but no LLM is configured (HOPSCOUT_LLM_BASE_URL)"
        elif use_llm and completions is not None:
            try:
                extra = _generate(completions, request)
                generated = rewrites = bool(extra)
                if not extra:
                    note = "the LLM wrote no usable query"
            except LLMUnavailableError as exc:
                note = str(exc)
        if not extra:
            extra = decompose(request)
            if note:
                note += f"; used the raw request{f' and its {len(extra)} steps' if extra else ' only'}"
    searched = [request] + [q for q in dict.fromkeys(extra) if q != request]
    return Plan(searched, rewrites, generated, note)


def _check_queries(queries: Any, settings: Settings) -> list[str]:
    """A caller's queries for one request, stripped. The core's check, but an empty list is allowed here: it
    asks for the request alone, with no rewrites and no steps (the evaluation's ``raw@caller``)."""
    if isinstance(queries, str) or not isinstance(queries, Sequence):
        raise InvalidQueryError(f"queries must be a list of strings, got {type(queries).__name__}")
    extra = [q.strip() for q in check_queries(queries, settings)] if queries else []
    if len(extra) > MAX_QUERIES - 1:
        raise InvalidArgumentError(f"at most {MAX_QUERIES - 1} queries per request, got {len(extra)}")
    return extra


def _generate(completions: CachedLLM, request: str) -> list[str]:
    reply = completions.complete(
        TOOL_QUERIES, PROMPT_VERSION, generation_prompt(request), subject=request, json_mode=True
    )
    return parse_list(reply, limit=MAX_QUERIES - 1, exclude=request)
