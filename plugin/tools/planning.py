"""The queries searched for one request: the raw request always, plus the caller's queries, or ones the LLM
writes, or (LLM-free) the request's own steps, with a note on any fallback; the conversation's recent turns
beside them (weighed by :mod:`.conversation`); or, for ``select:NAME[,NAME]``, no query, only the names. LLM
failures never raise here: the LLM-free path is taken and the note says why."""

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
from .names import parse_select
from .queries import PROMPT_VERSION, decompose, generation_prompt

MAX_QUERIES = 8  # raw request + at most 7 more per call
# The conversation's turns searched beside a request: the last few only (the request's own moment matters most,
# and each turn is one more query to embed); each is checked as a request is.
MAX_CONTEXT_TURNS = 4


@dataclass(frozen=True)
class Plan:
    """The queries searched for one request (the request first); whether the others are rewrites (caller or
    LLM queries) rather than the request's own steps; whether an LLM wrote them; a fallback note; the
    conversation's recent turns, oldest first (searched too, weighed below the request); and the names a
    ``select:`` request asks for (then nothing is searched)."""

    queries: list[str]
    rewrites: bool
    generated: bool
    note: str | None
    context: tuple[str, ...] = ()
    select: tuple[str, ...] | None = None


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
    contexts: Any = None,
) -> list[Plan]:
    """:func:`plan` for each request, ``queries[i]`` and ``contexts[i]`` (each a list of strings, or None)
    going with request i."""
    if generate is not None and not isinstance(generate, bool):
        raise InvalidArgumentError(f"generate must be True, False or None, got {generate!r}")
    for what, given in (("queries", queries), ("contexts", contexts)):
        if given is not None and (
            isinstance(given, str) or not isinstance(given, Sequence) or len(given) != len(requests)
        ):
            raise InvalidQueryError(f"{what} must be a list with one list of strings (or None) per request")
    return [
        plan(
            r,
            None if queries is None else queries[n],
            generate,
            completions,
            settings,
            None if contexts is None else contexts[n],
        )
        for n, r in enumerate(requests)
    ]


def plan(
    request: str,
    queries: Sequence[str] | None,
    generate: bool | None,
    completions: CachedLLM | None,
    settings: Settings,
    context: Sequence[str] | None = None,
) -> Plan:
    """The queries to search for ``request``: ``queries`` (the caller's) when given, else the LLM's when
    ``generate`` (None: when ``completions`` is configured), else the request's own steps; ``context``, the
    conversation's recent turns (:func:`check_context`). A ``select:`` request searches nothing: its plan
    holds the names (:func:`~.names.parse_select`)."""
    names = parse_select(request)
    if names is not None:
        return Plan([request], False, False, None, select=tuple(names))
    turns = check_context(context, settings)
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
    return Plan(searched, rewrites, generated, note, turns)


def check_context(context: Any, settings: Settings) -> tuple[str, ...]:
    """The conversation's recent turns (oldest first), stripped: the last :data:`MAX_CONTEXT_TURNS` of
    ``context``, each checked as a request is (``check_text``); () for None or []. InvalidQueryError otherwise."""
    if context is None:
        return ()
    if isinstance(context, str) or not isinstance(context, Sequence):
        raise InvalidQueryError(
            f"context must be a list of the conversation's recent turns (strings), got {type(context).__name__}"
        )
    turns = [
        check_text(turn, settings, "a context turn", "pass the conversation's turns as text").strip()
        for turn in context[-MAX_CONTEXT_TURNS:]
    ]
    return tuple(dict.fromkeys(turns))


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
