"""Index-time expansion: a few user requests per tool, written by the LLM and stored as extra views of it.
Replies are cached, so an unchanged tool never costs a second call; after the LLM fails once, only cached
replies are used."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import LLMUnavailableError, NoRecordedReplyError
from ..llm import CachedLLM
from ..llm.replay import TOOL_VIEWS
from ..llm.replies import parse_list
from .queries import PROMPT_VERSION, expansion_prompt
from .spec import ToolSpec

EXPANSION_VIEWS = 3


@dataclass(frozen=True)
class Expansion:
    """The views written (tool key → requests) and a note on the tools left without (None: none were)."""

    views: dict[str, list[str]] = field(default_factory=dict)
    note: str | None = None


def expand_views(completions: CachedLLM | None, specs: Sequence[ToolSpec]) -> Expansion:
    """Views of ``specs`` written by the LLM (``completions``; None: no LLM, and a note says so)."""
    if not specs:
        return Expansion()
    if completions is None:
        return Expansion(
            note="expand=True but no LLM is configured (HOPSCOUT_LLM_BASE_URL); tools indexed without expansion"
        )
    views: dict[str, list[str]] = {}
    failed: list[str] = []
    error: Exception | None = None
    missing: list[str] = []  # a recorded LLM with no reply for these tools
    for spec in specs:
        prompt = expansion_prompt(spec)
        reply = completions.cached(TOOL_VIEWS, PROMPT_VERSION, prompt)
        if reply is None:
            if error is not None:  # the LLM failed once: serve what is cached, call no more
                failed.append(spec.key)
                continue
            try:
                reply = completions.complete(
                    TOOL_VIEWS, PROMPT_VERSION, prompt, subject=spec.key, json_mode=True
                )
            except NoRecordedReplyError:
                missing.append(spec.key)
                continue
            except LLMUnavailableError as exc:
                error = exc
                failed.append(spec.key)
                continue
        views[spec.key] = parse_list(reply, limit=EXPANSION_VIEWS, exclude=spec.name)
    notes = [f"{error}; {len(failed)} tools indexed without expansion"] if error else []
    if missing:
        notes.append(
            f"no recorded views for {len(missing)} tools (e.g. {missing[0]!r}); indexed without expansion"
        )
    return Expansion(views, "; ".join(notes) or None)
