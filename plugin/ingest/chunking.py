"""Split loaded text into token-bounded, overlapping chunks that remember where they came from.

Chunks are sized with the embedder's own tokenizer so none is truncated at embedding time,
overlap so a sentence cut at a boundary is still found whole in one of them, and carry
their exact character span, heading path and PDF page so results can be cited.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

from semantic_text_splitter import MarkdownSplitter, TextSplitter
from tokenizers import Tokenizer

from hopscout.errors import EmbedderUnavailableError, InvalidArgumentError
from hopscout.ingest.loaders import LoadedFile, Section


@dataclass(frozen=True)
class Chunk:
    """A piece of a source text; `source[start:end] == text`."""

    text: str
    start: int
    end: int
    heading: str  # heading path of the section the chunk starts in, "" if none
    page: int | None  # 1-based PDF page the chunk starts on, None for non-PDF
    last_page: int | None = None  # 1-based PDF page the chunk ends on (== page unless it spans pages)


class Chunker:
    """Token-aware splitter: at most `max_tokens` tokens per chunk, `overlap` tokens shared.

    Token counts exclude special tokens ([CLS]/[SEP]), so leave room for them below the
    embedder's limit. The tokenizer is loaded on first use, once.
    """

    def __init__(self, tokenizer_path: str | Path, max_tokens: int = 200, overlap: int = 32) -> None:
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens <= 0:
            raise InvalidArgumentError(f"max_tokens must be a positive integer, got {max_tokens!r}")
        if not isinstance(overlap, int) or isinstance(overlap, bool) or overlap < 0:
            raise InvalidArgumentError(f"overlap must be an integer >= 0, got {overlap!r}")
        if overlap >= max_tokens:
            raise InvalidArgumentError(f"overlap ({overlap}) must be smaller than max_tokens ({max_tokens})")
        self.tokenizer_path = Path(tokenizer_path)
        self.max_tokens = max_tokens
        self.overlap = overlap
        self._splitters: dict[str, TextSplitter | MarkdownSplitter] = {}
        self._tokenizer: Tokenizer | None = None

    def chunk(self, loaded: LoadedFile) -> list[Chunk]:
        """Chunk a loaded file, tagging each chunk with its heading path and PDF page."""
        return self._split(loaded.text, loaded.kind, loaded.sections, loaded.pages)

    def chunk_text(self, text: str, kind: str = "text") -> list[Chunk]:
        """Chunk bare text (no headings or pages); kind "markdown" splits on markdown structure."""
        if not isinstance(text, str):
            raise InvalidArgumentError(f"text must be a str, got {type(text).__name__}")
        return self._split(text, kind, (), ())

    def _split(
        self, text: str, kind: str, sections: tuple[Section, ...], pages: tuple[int, ...]
    ) -> list[Chunk]:
        if not text.strip():
            return []
        section_starts = [s.start for s in sections]
        chunks: list[Chunk] = []
        for offset, piece in self._splitter(kind).chunk_indices(text):
            stripped = piece.strip()
            if not stripped:
                continue
            start = _locate(text, offset, piece) + (len(piece) - len(piece.lstrip()))
            index = bisect_right(section_starts, start) - 1
            end = start + len(stripped)
            if chunks and self.overlap:
                start = self._overlap_start(text, start, floor=chunks[-1].start)
            chunks.append(
                Chunk(
                    text=text[start:end],
                    start=start,
                    end=end,
                    heading=sections[index].heading if index >= 0 else "",
                    page=bisect_right(pages, start) if pages else None,
                    last_page=bisect_right(pages, end - 1) if pages else None,
                )
            )
        return chunks

    def _overlap_start(self, text: str, start: int, floor: int) -> int:
        """Where a chunk must start to repeat the last ``overlap`` tokens (whole words) before ``start``.

        The splitter only overlaps whole paragraphs or sentences, which on prose means none at all;
        so chunks are cut at ``max_tokens - overlap`` and each gets this word-aligned tail prepended."""
        window_start = max(floor, start - 12 * self.overlap)
        window = text[window_start:start]
        offsets = self._load_tokenizer().encode(window, add_special_tokens=False).offsets
        if not offsets:
            return start
        cut = offsets[max(0, len(offsets) - self.overlap)][0]
        while cut < len(window) and not window[cut].isspace() and cut > 0 and not window[cut - 1].isspace():
            cut += 1  # mid-word: move to the next word so no word is split
        while cut < len(window) and window[cut].isspace():
            cut += 1
        return window_start + cut if cut < len(window) else start

    def _splitter(self, kind: str) -> TextSplitter | MarkdownSplitter:
        """The markdown or plain-text splitter, built on first use."""
        family = "markdown" if kind == "markdown" else "text"
        if family not in self._splitters:
            cls = MarkdownSplitter if family == "markdown" else TextSplitter
            self._splitters[family] = cls.from_huggingface_tokenizer(
                self._load_tokenizer(), capacity=self.max_tokens - self.overlap
            )
        return self._splitters[family]

    def _load_tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            try:
                tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
            except Exception as exc:  # tokenizers raises a bare Exception for missing/bad files
                raise EmbedderUnavailableError(
                    f"cannot load the tokenizer {self.tokenizer_path}: {exc}; "
                    "check that the embedding model is installed"
                ) from exc
            # all-MiniLM's tokenizer.json truncates at 128 tokens: left on, every text would
            # look short enough and a whole document would come back as one chunk.
            # Padding is disabled too so it can never inflate the counts.
            tokenizer.no_truncation()
            tokenizer.no_padding()
            self._tokenizer = tokenizer
        return self._tokenizer


def _locate(text: str, offset: int, piece: str) -> int:
    """Check the splitter's offset against the text (0.33 reports char offsets, verified)."""
    if not text.startswith(piece, offset):
        raise RuntimeError(
            f"semantic_text_splitter returned a chunk that is not at offset {offset} of the text; "
            "its offsets are no longer character offsets (check the installed version)"
        )
    return offset
