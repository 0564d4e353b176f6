"""Signs that a tool description or a passage was written to capture retrieval rather than to describe.

:func:`text_flags` reads one text and names what looks hostile in it:

- ``word_list``: it reads as a list of words, not prose: many words with no sentence punctuation, almost no
  word used twice (prose repeats "the", "of", "a"), or comma-separated one- or two-word items;
- ``repetitive``: it repeats itself (the same three-word runs again and again within a line, or one word
  taking a large share of the text): keyword stuffing;
- ``instructions``: it speaks to the agent instead of describing ("ignore previous instructions", "always
  call this tool", "you must", "use this tool for every request").

The thresholds were set on the clean tool sets (MetaTool, Seal-Tools) and SciFact's abstracts, so that at
most about 1% of real descriptions and passages are flagged. Pure functions, no state."""

from __future__ import annotations

import re
from collections import Counter

from .analysis import STOPWORDS

WORD_LIST, REPETITIVE, INSTRUCTIONS = "word_list", "repetitive", "instructions"
FLAGS = (WORD_LIST, REPETITIVE, INSTRUCTIONS)

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SENTENCE_MARK = re.compile(r"[.!?;:()\[\]\n]")
_ITEM_SPLIT = re.compile(r"[,;|/\n]+")
MIN_WORDS = 20  # shorter texts are too short to judge as lists or repetition
LIST_WORDS = 30  # a list needs this many words to tell from a short description
LIST_DISTINCT = 0.95  # share of distinct words with no function word used twice (prose repeats "the", "a")
LIST_RUN = 40  # words in a row with no sentence mark, almost all distinct: no sentence reads like that
RUN_DISTINCT = 0.92
LIST_ITEM_WORDS = 2.0  # mean words per comma-separated item, over 10+ items
REPEAT_TRIGRAMS = 0.25  # share of word trigrams seen before
REPEAT_WORD = 0.18  # share of a text's words that are its most frequent content word (40+ words)

_INSTRUCTIONS = re.compile(
    r"\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:the\s+|your\s+)?(?:previous|prior|above|earlier|other)"
    r"\s+(?:instructions|prompts?|rules|tools|messages)"
    r"|\b(?:always|only|first)\s+(?:call|use|invoke|choose|pick|select|run)\s+(?:this|me|it)\b"
    r"|\byou\s+(?:must|should\s+always|have\s+to)\s+(?:call|use|invoke|choose|pick|select|run)\b"
    r"|\b(?:use|call|choose|pick|select|invoke)\s+(?:this|me)(?:\s+tool)?\s+(?:for|on|with)\s+(?:every|all|any)\b"
    r"|\b(?:before|instead\s+of)\s+(?:any|every|all)\s+other\s+tools?\b"
    r"|\bdo\s+not\s+(?:call|use)\s+(?:any\s+)?other\s+tools?\b"
    r"|\b(?:system\s+prompt|new\s+instructions)\s*:",
    re.IGNORECASE,
)


def text_flags(text: str) -> tuple[str, ...]:
    """The names of the hostile signs in ``text`` (a tool's description or a passage), in :data:`FLAGS` order."""
    found = []
    words = _TOKEN.findall(text.lower())
    if _reads_as_list(text, words):
        found.append(WORD_LIST)
    if _repeats(text, words):
        found.append(REPETITIVE)
    if _INSTRUCTIONS.search(text):
        found.append(INSTRUCTIONS)
    return tuple(found)


def has_instructions(text: str) -> bool:
    """Whether ``text`` speaks to the agent ("ignore previous instructions", "always call this tool", ...)."""
    return _INSTRUCTIONS.search(text) is not None


def _reads_as_list(text: str, words: list[str]) -> bool:
    if len(words) < MIN_WORDS:
        return False
    if len(words) >= LIST_WORDS and _unrepeated(words, LIST_DISTINCT):
        return True
    if any(len(run) >= LIST_RUN and _unrepeated(run, RUN_DISTINCT) for run in _runs(text)):
        return True
    items = [item for item in _ITEM_SPLIT.split(text) if item.strip()]
    return len(items) >= 10 and len(words) / len(items) <= LIST_ITEM_WORDS


def _unrepeated(words: list[str], distinct: float) -> bool:
    """Almost every word distinct, and no function word used twice."""
    counts = Counter(words)
    repeated_function = any(n > 1 for w, n in counts.items() if w in STOPWORDS)
    return not repeated_function and len(counts) / len(words) >= distinct


def _runs(text: str) -> list[list[str]]:
    """The words between sentence marks."""
    return [_TOKEN.findall(part.lower()) for part in _SENTENCE_MARK.split(text)]


def _repeats(text: str, words: list[str]) -> bool:
    """Trigrams repeated within a line (stuffing repeats itself in one run; a structured document's lines,
    such as a tool's parameter list, repeat one template across lines), or one word taking a large share."""
    if len(words) < MIN_WORDS:
        return False
    again = total = 0
    for line in text.lower().splitlines():
        line_words = _TOKEN.findall(line)
        seen: set[tuple[str, ...]] = set()
        for gram in zip(line_words, line_words[1:], line_words[2:]):
            again += gram in seen
            total += 1
            seen.add(gram)
    if total and again / total >= REPEAT_TRIGRAMS:
        return True
    content = Counter(w for w in words if w not in STOPWORDS and not w.isdigit())
    return len(words) >= 40 and bool(content) and content.most_common(1)[0][1] / len(words) >= REPEAT_WORD


__all__ = ["FLAGS", "INSTRUCTIONS", "REPETITIVE", "WORD_LIST", "has_instructions", "text_flags"]
