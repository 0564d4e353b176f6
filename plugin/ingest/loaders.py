"""Turn one file into plain text plus its structure (headings, PDF pages).

Every supported format ends up as a `LoadedFile`: the text the chunker splits, the
sections that give each chunk its heading path, and for PDFs where each page starts,
so a search hit can say "Install > From PyPI" or "page 3" instead of only a file name.
"""

from __future__ import annotations

import codecs
import errno
import io
import logging
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer
import pypdf
from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString

from hopscout.errors import UnreadableFileError, UnsupportedFileError

_KINDS: dict[str, tuple[str, ...]] = {
    "text": (".txt", ".text", ".rst", ".log"),
    "markdown": (".md", ".markdown"),
    "html": (".html", ".htm"),
    "pdf": (".pdf",),
    "code": (
        ".py", ".js", ".ts", ".tsx", ".jsx", ".java", ".go", ".rs", ".c", ".h", ".cpp",
        ".hpp", ".cs", ".rb", ".php", ".sh", ".sql", ".kt", ".swift", ".scala", ".lua",
        ".r", ".toml", ".yaml", ".yml", ".json", ".ini", ".cfg",
    ),
}  # fmt: skip
_KIND_BY_SUFFIX = {suffix: kind for kind, suffixes in _KINDS.items() for suffix in suffixes}
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_KIND_BY_SUFFIX)

_BINARY_SNIFF_BYTES = 8192
_MAX_HEADING = 200  # characters of one heading kept in a chunk's heading path
# Config/data formats have no function-like definitions worth a heading.
_NO_CODE_SECTIONS = frozenset({".toml", ".yaml", ".yml", ".json", ".ini", ".cfg", ".sql"})

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
# Top-level (unindented) definitions in Python-, JS-, Go-, Rust-, Kotlin-, Swift-like code.
_CODE_DEF = re.compile(
    r"^(?:(?:export|default|pub(?:\([\w:]+\))?|async|public|private|protected|internal|"
    r"static|abstract|final|open|sealed|data|unsafe)\s+)*"
    r"(def|class|function\*?|func|fn|fun|struct|interface|trait|impl)\s+"
    r"(?:\([^)]*\)\s*)?([A-Za-z_$][\w$]*)",
    re.MULTILINE,
)

_HTML_DROP = ("script", "style", "nav", "footer", "head", "title", "noscript", "template")
_HTML_CELLS = frozenset({"td", "th"})
_HTML_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_HTML_LINE_BLOCKS = frozenset({"li", "tr", "dt", "dd", "br", "option"})
_HTML_PARAGRAPH_BLOCKS = frozenset(
    {
        "p", "div", "section", "article", "main", "aside", "header", "ul", "ol", "dl",
        "table", "thead", "tbody", "pre", "blockquote", "figure", "figcaption", "form",
        "fieldset", "details", "summary", "address", "hr", "body", "html",
        *_HTML_HEADINGS,
    }
)  # fmt: skip


@dataclass(frozen=True)
class Section:
    """A heading and where its text starts in `LoadedFile.text`."""

    start: int
    heading: str  # heading path joined with " > ", e.g. "Install > From PyPI"


@dataclass(frozen=True)
class LoadedFile:
    """One file's extracted text and structure; `text` is "" for an empty file."""

    path: Path
    kind: str  # "text" | "markdown" | "html" | "pdf" | "code"
    text: str
    sections: tuple[Section, ...]  # sorted by start
    encoding: str | None  # None for pdf
    pages: tuple[int, ...] = ()  # pdf only: offset in `text` where page i+1 starts


def file_kind(path: str | Path) -> str | None:
    """Return the kind of file its suffix says it is, or None if hopscout cannot parse it."""
    return _KIND_BY_SUFFIX.get(Path(path).suffix.lower())


def load_file(path: str | Path, max_bytes: int | None = None) -> LoadedFile:
    """Read and parse one file (symlinks followed), at most ``max_bytes`` of it (HOPSCOUT_MAX_FILE_BYTES in an
    ingest); raise UnreadableFileError/UnsupportedFileError saying why not."""
    resolved = Path(path).expanduser().resolve()
    if resolved.is_dir():
        raise UnreadableFileError(f"{resolved} is a directory, not a file; pass a file path")
    if not resolved.exists():
        raise UnreadableFileError(f"{resolved} does not exist; check the path")
    _check_kind(resolved)
    return parse_file(resolved, read_file(resolved, max_bytes), max_bytes)


def parse_file(path: Path, data: bytes, max_chars: int | None = None) -> LoadedFile:
    """Parse the bytes ``data`` of the file ``path`` (its suffix says how); a PDF's extracted text is held to
    ``max_chars`` (a small PDF can inflate to far more). UnreadableFileError/UnsupportedFileError say why not."""
    kind = _check_kind(path)
    if kind == "pdf":
        return _load_pdf(path, data, max_chars)

    text, encoding = _decode(path, data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return LoadedFile(path, kind, "", (), encoding)
    if kind == "html":
        text, sections = _html_text(text)
    elif kind == "markdown":
        sections = _markdown_sections(text)
    elif kind == "code" and path.suffix.lower() not in _NO_CODE_SECTIONS:
        sections = _code_sections(text)
    else:
        sections = ()
    return LoadedFile(path, kind, text, sections, encoding)


def _check_kind(path: Path) -> str:
    kind = file_kind(path)
    if kind is None:
        raise UnsupportedFileError(
            f"{path} has an unsupported type ({path.suffix or 'no suffix'}); "
            f"supported suffixes: {' '.join(sorted(SUPPORTED_SUFFIXES))}"
        )
    return kind


def too_large(path: Path | str, size: int, max_bytes: int) -> UnreadableFileError:
    """The error for a file over the size limit (what a single-file ingest raises)."""
    return UnreadableFileError(
        f"{path} is {size} bytes, over the limit of {max_bytes} (HOPSCOUT_MAX_FILE_BYTES); raise the limit "
        "to ingest it, or split the file"
    )


_OPEN_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
)


def read_file(path: Path, max_bytes: int | None = None, *, identity: tuple[int, int] | None = None) -> bytes:
    """The bytes of the regular file at ``path``, which the caller has resolved and checked: its last component
    is not followed if it has become a symlink since, a file whose (device, inode) is not ``identity`` (the one
    checked: a folder on its path was swapped for a link since) is refused, a FIFO or device is refused without
    blocking, and a file over ``max_bytes`` is refused before it is read (or the moment a growing one passes
    it): never read whole into memory first. OS errors become an actionable UnreadableFileError."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except PermissionError as exc:
        raise UnreadableFileError(
            f"no permission to read {path}; check its permissions or run as a user who can read it"
        ) from exc
    except FileNotFoundError as exc:
        raise UnreadableFileError(f"{path} does not exist (it was removed while reading)") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnreadableFileError(f"{path} became a symlink after it was checked; not followed") from exc
        raise UnreadableFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "rb") as handle:
        try:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise UnreadableFileError(
                    f"{path} is not a regular file (a folder, pipe or device); not read"
                )
            if identity is not None and (info.st_dev, info.st_ino) != identity:
                raise UnreadableFileError(
                    f"{path} is not the file that was checked (it, or a folder on its path, was replaced "
                    "since, e.g. by a symlink); not read: ingest again to take its new version"
                )
            if max_bytes is not None and info.st_size > max_bytes:
                raise too_large(path, info.st_size, max_bytes)
            data = handle.read(-1 if max_bytes is None else max_bytes + 1)
        except UnreadableFileError:
            raise
        except OSError as exc:
            raise UnreadableFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if max_bytes is not None and len(data) > max_bytes:
        raise too_large(path, len(data), max_bytes)
    return data


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    """Decode text bytes: UTF-8 (BOM stripped), UTF-16/32 with a BOM, else a detected encoding."""
    for bom, codec in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(codec), codec
            except UnicodeDecodeError as exc:
                raise UnreadableFileError(
                    f"{path} starts with a {codec} byte-order mark but is not valid {codec}; "
                    "convert it to UTF-8"
                ) from exc
    if b"\x00" in data[:_BINARY_SNIFF_BYTES]:
        raise UnreadableFileError(
            f"{path} looks like a binary file (it contains NUL bytes), not text; "
            "remove it or give it a suffix hopscout skips"
        )
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    encoding = _guess_encoding(data)
    if encoding is None:
        raise UnreadableFileError(
            f"{path} is not UTF-8 and its encoding could not be detected; convert it to UTF-8"
        )
    return data.decode(encoding, errors="replace"), encoding


# Non-ASCII characters real text in each legacy Latin code page is mostly made of: its common letters plus
# everyday punctuation. A wrong code page turns them into rare letters or symbols (naïve -> "naļve" in cp1257,
# zażółć -> "za¿ó³æ" in cp1252), which is what this scores.
_LEGACY_PUNCT = frozenset("\u00a0–—‘’‚“”„…«»‹›€°§©®™·•¡¿£¥×")
_LEGACY_LETTERS = {
    "cp1252": "àáâãäåæçèéêëìíîïñòóôõöøùúûüÿßœ",  # Western European, preferred on ties
    "cp1250": "áäčďéěíĺľňóôöőŕřšťúůüűýžąćęłńśźż",  # Central European
    "cp1257": "āčēģīķļņšūžąęėįųõäöüó",  # Baltic
}
_LEGACY_COMMON = {
    enc: frozenset(letters) | frozenset(letters.upper()) | _LEGACY_PUNCT
    for enc, letters in _LEGACY_LETTERS.items()
}


def _plausibility(text: str, encoding: str) -> float:
    odd = [c for c in text if ord(c) > 127]
    return sum(c in _LEGACY_COMMON[encoding] for c in odd) / len(odd) if odd else 1.0


def _guess_encoding(data: bytes) -> str | None:
    """Ask charset_normalizer; among the Latin code pages it finds plausible, pick the one whose
    decoding uses the most common letters (cp1252 on ties).

    For short Western-European text charset_normalizer often ranks cp1250/cp1257 first on a language
    guess (it calls French "Polish"), which garbles accents; its coherence score cannot be trusted there.
    """
    results = charset_normalizer.from_bytes(data)
    best = results.best()
    if best is None:
        return None
    latin = {e for m in results for e in (m.encoding, *m.could_be_from_charset) if e in _LEGACY_COMMON}
    if not latin or any(ord(c) >= 0x250 and c not in _LEGACY_PUNCT for c in str(best)):
        return best.encoding  # Cyrillic, Greek, ...: trust charset_normalizer
    scored = []
    for encoding in _LEGACY_LETTERS:  # dict order: cp1252 first, so it wins ties
        if encoding in latin:
            try:
                scored.append((_plausibility(data.decode(encoding), encoding), encoding))
            except UnicodeDecodeError:
                continue
    if not scored:
        return best.encoding
    top = max(score for score, _ in scored)
    return next(encoding for score, encoding in scored if score == top)


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs what it repairs in a damaged PDF ("EOF marker not found") as warnings, which Python prints on
    stderr and which break ``--json`` output; a PDF it cannot read raises, and that is reported instead."""
    pypdf_logger = logging.getLogger("pypdf")
    level = pypdf_logger.level
    pypdf_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        pypdf_logger.setLevel(level)


def _load_pdf(path: Path, data: bytes, max_chars: int | None = None) -> LoadedFile:
    """Extract text page by page (joined by a blank line) and record where each page starts."""
    with _quiet_pypdf():
        return _parse_pdf(path, data, max_chars)


def _parse_pdf(path: Path, data: bytes, max_chars: int | None) -> LoadedFile:
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFileError(
                f"{path} is a password-protected PDF; save an unprotected copy and ingest that"
            )
        page_texts, total = [], 0
        for page in reader.pages:
            page_texts.append((page.extract_text() or "").strip())
            total += len(page_texts[-1])
            if max_chars is not None and total > max_chars:
                raise UnreadableFileError(
                    f"{path}: its text runs past {max_chars} characters (HOPSCOUT_MAX_FILE_BYTES) by page "
                    f"{len(page_texts)}; split the PDF, or raise the limit to ingest it"
                )
    except UnreadableFileError:
        raise
    except Exception as exc:  # pypdf raises many exception types on damaged files
        raise UnreadableFileError(
            f"{path} is not a readable PDF ({type(exc).__name__}: {exc}); "
            "re-export or repair it and ingest it again"
        ) from exc
    page_texts = [t.replace("\r\n", "\n").replace("\r", "\n") for t in page_texts]
    if not any(t.strip() for t in page_texts):
        return LoadedFile(path, "pdf", "", (), None)
    offsets, position = [], 0
    for page_text in page_texts:
        offsets.append(position)
        position += len(page_text) + 2
    return LoadedFile(path, "pdf", "\n\n".join(page_texts), (), None, tuple(offsets))


class _HeadingPath:
    """Track nested headings and render the current path, e.g. "Guide > Install"."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def push(self, level: int, title: str) -> str:
        title = title[:_MAX_HEADING]  # a heading is stored with every chunk under it
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, title))
        return " > ".join(t for _, t in self._stack if t)


def _markdown_sections(text: str) -> tuple[Section, ...]:
    """Sections from ATX headings (`#`..`######`), skipping lines inside fenced code blocks."""
    sections: list[Section] = []
    path = _HeadingPath()
    fence: str | None = None
    offset = 0
    for line in text.splitlines(keepends=True):
        fence_match = _FENCE.match(line)
        if fence is not None:
            closes = (
                fence_match
                and fence_match.group(1)[0] == fence[0]
                and len(fence_match.group(1)) >= len(fence)
            )
            if closes and not line.strip(" \t\n`~"):
                fence = None
        elif fence_match:
            fence = fence_match.group(1)
        elif heading := _ATX_HEADING.match(line.rstrip("\n")):
            title = (heading.group(2) or "").strip()
            sections.append(Section(offset, path.push(len(heading.group(1)), title)))
        offset += len(line)
    if sections and text[: sections[0].start].strip():
        sections.insert(0, Section(0, ""))
    return tuple(sections)


def _code_sections(text: str) -> tuple[Section, ...]:
    """Sections at top-level def/class/function/func/fn lines, headed e.g. "def load_file"."""
    return tuple(
        Section(m.start(), f"{m.group(1).rstrip('*')} {m.group(2)[:_MAX_HEADING]}")
        for m in _CODE_DEF.finditer(text)
    )


class _TextBuilder:
    """Accumulate HTML text: whitespace collapsed, blocks separated by newlines."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self._newlines = 2  # newlines ending the text so far; the start counts as a break
        self._pending_space = False

    def text(self, raw: str, *, preformatted: bool = False) -> None:
        """Append a text node; outside <pre>, runs of whitespace become one space."""
        if preformatted:
            self._emit(raw)
            return
        collapsed = re.sub(r"\s+", " ", raw)
        self._pending_space |= collapsed.startswith(" ")
        core = collapsed.strip()
        if not core:
            return
        if self._pending_space and self._newlines == 0:
            self._emit(" ")
        self._emit(core)
        self._pending_space = collapsed.endswith(" ")

    def space(self) -> None:
        """Separate what follows from what precedes by a space (e.g. table cells)."""
        self._pending_space = True

    def block(self, newlines: int) -> None:
        """End the current line (1) or paragraph (2), unless the text already does."""
        self._pending_space = False
        if self.parts and self._newlines < newlines:
            self._emit("\n" * (newlines - self._newlines))

    def _emit(self, value: str) -> None:
        if not value:
            return
        self.parts.append(value)
        self.length += len(value)
        body = value.rstrip("\n")
        trailing = len(value) - len(body)
        self._newlines = self._newlines + trailing if not body else trailing


def _html_text(markup: str) -> tuple[str, tuple[Section, ...]]:
    """Visible text of an HTML page plus sections from h1-h6 (title stands in for a missing h1)."""
    soup = BeautifulSoup(markup, "html.parser")
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    for tag in soup.find_all(_HTML_DROP):
        tag.decompose()

    out = _TextBuilder()
    path = _HeadingPath()
    sections: list[Section] = []
    if title and soup.find("h1") is None:
        sections.append(Section(0, path.push(1, title)))
        out.text(title)
        out.block(2)

    # Iterative walk over ("open" | "close", node) events, so deep nesting cannot overflow.
    stack: list[tuple[str, Tag | NavigableString]] = [("open", soup)]
    in_pre = 0
    while stack:
        event, node = stack.pop()
        if isinstance(node, NavigableString):
            if not isinstance(node, PreformattedString):  # skip comments, doctype, CDATA
                out.text(str(node), preformatted=in_pre > 0)
            continue
        name = node.name
        newlines = 2 if name in _HTML_PARAGRAPH_BLOCKS else 1 if name in _HTML_LINE_BLOCKS else 0
        if newlines:
            out.block(newlines)
        if event == "close":
            in_pre -= name == "pre"
            if name in _HTML_CELLS:
                out.space()
            continue
        if name in _HTML_HEADINGS:
            heading = node.get_text(" ", strip=True)
            sections.append(Section(out.length, path.push(_HTML_HEADINGS[name], heading)))
        in_pre += name == "pre"
        stack.append(("close", node))
        stack.extend(
            ("open", child) for child in reversed(node.contents) if isinstance(child, (Tag, NavigableString))
        )
    text = "".join(out.parts).rstrip()
    if sections and text[: sections[0].start].strip():
        sections.insert(0, Section(0, ""))
    return text, tuple(s for s in sections if s.start <= len(text))
