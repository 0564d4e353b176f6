"""Recorded LLM outputs replayed as hopscout's LLM: deterministic, offline, for evaluations and tests.

Every LLM path asks its model through :class:`~hopscout.llm.CachedLLM` with a *task* (``tools/queries``,
``tools/expand``, ``augment/passage``, ``augment/rephrase``, ``augment/keywords``) and the *subject* the prompt is
about (the request, the tool's key, the query). A :class:`ReplayLLM` answers from recorded replies keyed by
``(task, subject)``, so the same recording serves every path, whatever the prompt's wording. A subject it has
no reply for fails like a dead endpoint: the caller falls back and says so."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import LLMUnavailableError, UnreadableFileError

# Tasks, and the fields of a recorded row that answer them (a row is {"_id", <field>: ...}).
TOOL_QUERIES = "tools/queries"  # the capability queries for a request (what an agent passes as queries=)
TOOL_VIEWS = "tools/expand"  # user requests a tool serves (index-time expansion)
PASSAGE = "augment/passage"  # a hypothetical answer passage (hyde, query2doc)
REPHRASINGS = "augment/rephrase"  # rephrasings of a query (multi_query)
KEYWORDS = "augment/keywords"  # expansion keywords for a query
_FIELDS = {
    "requests": (TOOL_VIEWS, "requests"),
    "passage": (PASSAGE, None),
    "keywords": (KEYWORDS, "keywords"),
}


class ReplayLLM:
    """An :class:`~hopscout.llm.LLM` that answers from recorded replies, ``{(task, subject): reply text}``.

    >>> llm = ReplayLLM.from_jsonl("expansions.jsonl", subjects=dataset.queries)   # rows keyed by query id
    >>> Scout(llm=llm).search("...", augment="always", augmenter="hyde")"""

    def __init__(self, replies: Mapping[tuple[str, str], str], *, model: str = "recorded") -> None:
        self.replies = {(task, _key(subject)): text for (task, subject), text in replies.items()}
        self.model = model
        self.calls = 0

    def replay(self, task: str, subject: str) -> str | None:
        """The recorded reply for ``task`` about ``subject``, or None."""
        self.calls += 1
        return self.replies.get((task, _key(subject)))

    def complete(self, prompt: str, *, max_tokens: int | None = None, json_mode: bool = False) -> str:
        """Without a task and subject there is nothing to look up (hopscout's paths always give them)."""
        raise LLMUnavailableError("a recorded LLM answers only known tasks and subjects, not free prompts")

    @classmethod
    def from_jsonl(
        cls,
        paths: str | Path | Iterable[str | Path],
        *,
        subjects: Mapping[str, str] | None = None,
        model: str = "recorded",
    ) -> ReplayLLM:
        """Replies from recorded JSONL files as they are. Rows with ``requests`` answer ``tools/expand`` for the
        tool ``_id``; rows with ``queries`` answer ``tools/queries`` (and, beside a ``passage``,
        ``augment/rephrase``), rows with ``passage`` / ``keywords`` the augmenters. ``subjects`` maps row ids to
        the text the LLM was asked about (a query id → its text); ids not in it are the subject themselves."""
        replies: dict[tuple[str, str], str] = {}
        for path in [paths] if isinstance(paths, (str, Path)) else paths:
            for n, row in enumerate(_rows(Path(path)), 1):
                try:
                    subject = (subjects or {}).get(str(row["_id"]), str(row["_id"]))
                except KeyError:
                    raise UnreadableFileError(f'{path}:{n}: a recorded row needs an "_id"') from None
                for name, value in row.items():
                    if name == "queries":
                        task = REPHRASINGS if "passage" in row else TOOL_QUERIES
                        replies[(task, subject)] = json.dumps({"queries": value})
                    elif name in _FIELDS:
                        task, wrap = _FIELDS[name]
                        replies[(task, subject)] = json.dumps({wrap: value}) if wrap else str(value)
        return cls(replies, model=model)


def _key(subject: str) -> str:
    return " ".join(subject.split())


def _rows(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UnreadableFileError(f"cannot read recorded LLM outputs {path}: {exc}") from exc
    rows = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as exc:
                raise UnreadableFileError(f"{path}:{n} is not valid JSON: {exc}") from exc
    return rows
