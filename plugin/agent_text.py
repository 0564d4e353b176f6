"""Someone else's text as an agent reads it, and as a judge should read it.

A tool description (or a passage) can hide what it says from a pattern, a model or a reviewer without hiding it
from the agent: characters that show nothing (zero-width spaces, bidirectional overrides, tags) split a word
for the judge but not for the reader, and letters of another script that look like Latin ones (a Cyrillic
``а`` for ``a``) spell an English word no English pattern matches. :func:`read_text` undoes both:

- ``clean``: the text in Unicode NFKC form, without control, invisible or bidirectional characters, and every
  word that is a disguise folded to the Latin word it passes for: a word mixing ASCII letters with look-alikes,
  or, in an otherwise Latin text, a word of look-alikes only. Real text in another script (a Chinese or a
  Russian description) is left as it is, since its words have letters with no Latin look-alike.
- ``skeleton``: the clean text without accents and other combining marks, and with every word that can be
  spelled in look-alikes folded to Latin, wherever it stands: what a judge reads (it is never shown).

Look-alikes come from the Unicode consortium's confusables table (the ``confusable-homoglyphs`` library),
folded only onto ASCII letters and digits. Pure functions; each character is looked up once per process."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby

from confusable_homoglyphs.confusables import confusables_data  # type: ignore[import-untyped]

from .untrusted import hidden

# A text whose words in other scripts (that cannot be spelled in Latin look-alikes) are at most this share of
# its words is "otherwise Latin": its look-alike words are folded in what the agent is shown. Real descriptions
# in another script are far above it (most words of Chinese or Russian text have letters with no look-alike);
# a Latin text quoting a foreign word or two stays below it.
FOREIGN_SHARE = 0.1
_KEPT_SPACE = frozenset(" \t\n\r")
_SOFT_HYPHEN, _ZWJ = "\u00ad", "\u200d"
_JOINERS = frozenset("\u200c\u200d")  # zero-width non-joiner, joiner
_VARIATION_SELECTORS = frozenset("\ufe0e\ufe0f")  # text and emoji presentation
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Invisible characters that conceal by what they are: bidirectional embeddings, overrides and isolates reorder
# what is shown; tag characters spell ASCII no one sees ("ASCII smuggling").
_CONCEALERS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_TAGS = range(0xE0000, 0xE0080)
CONCEAL_RUN = 3  # this many invisible characters in a row carry something (a stray one or two do not)


@dataclass(frozen=True)
class ReadText:
    """A text as :func:`read_text` reads it: ``clean`` (what an agent is shown), ``skeleton`` (what a judge
    reads), whether it held invisible or bidirectional characters, and whether look-alike letters were folded."""

    clean: str
    skeleton: str
    hidden: bool
    confusable: bool
    # an invisible character that can hide something: one inside a word (letters on both sides: it splits the
    # word for a judge), a run of CONCEAL_RUN, a bidirectional override or a tag character. Real text carries
    # stray ones that hide nothing (a left-to-right mark or a zero-width space between words, C1 controls of a
    # mis-decoded page: 5 of SciFact's 5,183 abstracts), which ``hidden`` counts and this does not.
    concealing: bool = False


def read_text(text: str) -> ReadText:
    """``text`` normalised (NFKC), stripped of invisible characters and with its disguised words folded to the
    Latin words they pass for (see the module's docstring)."""
    if text.isascii() and not _ASCII_CONTROL.search(text):  # most text: nothing to undo, at no cost
        return ReadText(text, text, False, False)
    normal = unicodedata.normalize("NFKC", text)
    kept: list[str] = []
    found_hidden = concealing = False
    run = 0  # invisible characters removed in a row
    for n, char in enumerate(normal):
        removed = False
        if char in _KEPT_SPACE:
            kept.append(char)
        elif char.isspace():  # a line or paragraph separator, a vertical tab: shown as a line break
            kept.append("\n" if hidden(char) else " ")
        elif not hidden(char) or _joins(char, kept[-1] if kept else "", normal[n + 1 : n + 2]):
            kept.append(char)
        elif char != _SOFT_HYPHEN:  # a hyphenation hint, common in text copied from print, removed unflagged
            found_hidden = removed = True
            concealing = concealing or _conceals(char, kept[-1] if kept else "", normal[n + 1 :], run)
        run = run + 1 if removed else 0
    pieces = [("".join(run), is_word) for is_word, run in groupby(kept, key=_in_word)]
    words = [p for p, is_word in pieces if is_word and any(c.isalpha() for c in p)]
    foreign = sum(1 for w in words if _folded(w) is None)
    latin_text = foreign <= FOREIGN_SHARE * len(words)
    clean: list[str] = []
    skeleton: list[str] = []
    folded_any = False
    for piece, is_word in pieces:
        bare = _bare(piece) if is_word else piece
        skeleton.append((_folded(bare) or bare) if is_word else piece)
        folded = _folded(piece) if is_word else None
        if folded is None or folded == piece:
            clean.append(piece)
            continue
        if _mixes_ascii(piece) or (latin_text and sum(c.isalpha() for c in piece) >= 2):
            clean.append(folded)
            folded_any = True
        else:
            clean.append(piece)
    return ReadText("".join(clean), "".join(skeleton), found_hidden, folded_any, concealing)


def _conceals(char: str, before: str, rest: str, run: int) -> bool:
    """Whether a removed invisible ``char`` (after ``before``, the last character kept, and ``run`` removed ones
    in a row; ``rest``: what follows it) can hide something: see :attr:`ReadText.concealing`."""
    if char in _CONCEALERS or ord(char) in _TAGS or run + 1 >= CONCEAL_RUN:
        return True
    after = next((c for c in rest if not hidden(c) or c in _KEPT_SPACE), "")
    return before.isalpha() and after.isalpha()


def _joins(char: str, before: str, after: str) -> bool:
    """Whether an invisible ``char`` does a visible job where it stands: a variation selector or a zero-width
    joiner in an emoji (``⚠️``, a family emoji), or a zero-width (non-)joiner between letters of a script that
    shapes them (Persian, the Indic scripts)."""
    if not before:
        return False
    if char in _VARIATION_SELECTORS:
        return _symbol(before)
    if char == _ZWJ and _symbol(before) and after and _symbol(after):
        return True
    return char in _JOINERS and _shaped_letter(before) and bool(after) and _shaped_letter(after)


@lru_cache(maxsize=1 << 12)
def _symbol(char: str) -> bool:
    return unicodedata.category(char) in ("So", "Sk")


@lru_cache(maxsize=1 << 12)
def _shaped_letter(char: str) -> bool:
    """A letter of another script that no Latin letter looks like (a joiner beside a look-alike would split the
    word it spells for a judge)."""
    return not char.isascii() and unicodedata.category(char)[0] in "LM" and _ascii_twin(char) is None


def fold(text: str) -> str:
    """The skeleton of ``text`` (:attr:`ReadText.skeleton`): what a judge of it reads."""
    return read_text(text).skeleton


@lru_cache(maxsize=1 << 14)
def _in_word(char: str) -> bool:
    return unicodedata.category(char)[0] in "LMN"


@lru_cache(maxsize=1 << 14)
def _ascii_twin(char: str) -> str | None:
    """The ASCII letter or digit ``char`` passes for (``char`` itself when it is ASCII); None: none."""
    if char.isascii():
        return char
    twins = {t["c"] for t in confusables_data.get(char, ()) if len(t["c"]) == 1 and t["c"].isascii()}
    twins = {t for t in twins if t.isalnum()}
    return min(twins) if twins else None  # min: one stable choice when the table gives two (rare)


def _folded(word: str) -> str | None:
    """``word`` spelled in ASCII look-alikes, or None when one of its characters has none."""
    out = []
    for char in word:
        twin = _ascii_twin(char)
        if twin is None:
            if unicodedata.category(char)[0] != "M":
                return None
            continue  # a combining mark on a look-alike: no letter of its own
        out.append(twin)
    return "".join(out) or None


@lru_cache(maxsize=1 << 14)
def _bare(word: str) -> str:
    """``word`` without its accents and other combining marks (``ǵ`` → ``g``): a judge reads letters."""
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c)) or word


def _mixes_ascii(word: str) -> bool:
    return any(c.isascii() and c.isalpha() for c in word) and any(not c.isascii() for c in word)


__all__ = ["FOREIGN_SHARE", "ReadText", "fold", "read_text"]
