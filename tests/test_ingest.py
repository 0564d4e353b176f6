"""Folder and file ingest through the public ``Scout`` API, on embedded Chroma and a Chroma server.

Real files, the real bundled model, real Chroma: what the report says, what search then finds (with
citable metadata), how re-runs pick up changes, and that an ingest killed mid-write is resumed without
duplicates or a lexical index out of step with Chroma."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hopscout import Scout, UnreadableFileError, UnsupportedFileError
from hopscout.keys import HASH_KEY
from hopscout.scout import engine_of

# Small chunks, so the Markdown guide splits at its headings and crash-test files span write batches.
SMALL_CHUNKS = {"chunk_tokens": 48, "chunk_overlap": 8}

GUIDE_MD = """\
# Field guide

Welcome — this naïve guide covers the basics of the quokka survey on Rottnest Island, from packing
the kit to filing the tallies at the end of each day.

## Install

To install the survey kit, unpack the crate and mount the brass theodolite on its tripod. Level it
with the bubble vial before the first reading.

## Usage

Walk each transect at dawn and count every quokka within ten metres of the line. Note the weather,
the time and the tally in the waterproof notebook.
"""

PAGE_HTML = """\
<html><head><title>Pangolin notes</title><style>p { color: red }</style></head>
<body><nav>Home | About</nav>
<h1>Pangolins</h1>
<p>The pangolin is a scaly anteater that rolls into a tight ball when threatened.</p>
<h2>Diet</h2>
<p>A pangolin eats ants and termites, catching them with a very long sticky tongue.</p>
</body></html>
"""

NOTES_TXT = "The wombat digs long burrows with its strong claws and sleeps through the hot afternoon.\n"
NOTES_TXT_NEW = "The echidna is a spiny monotreme that lays eggs and hunts ants with its snout.\n"
TOOL_PY = '''\
def fizzbuzz(n):
    """Return Fizz, Buzz, FizzBuzz or the number itself for n."""
    if n % 15 == 0:
        return "FizzBuzz"
    return str(n)
'''
LEGACY_TXT = "Café naïve – résumé, déjà vu. Straße. Ça va? Le garçon apporte le café crème.\n" * 3


def make_folder(root: Path) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    files = {
        "guide": root / "guide.md",
        "page": root / "page.html",
        "notes": root / "notes.txt",
        "tool": root / "tool.py",
        "legacy": root / "legacy.txt",
        "blob": root / "blob.txt",
        "png": root / "image.png",
    }
    files["guide"].write_text(GUIDE_MD, encoding="utf-8")
    files["page"].write_text(PAGE_HTML, encoding="utf-8")
    files["notes"].write_text(NOTES_TXT, encoding="utf-8")
    files["tool"].write_text(TOOL_PY, encoding="utf-8")
    files["legacy"].write_bytes(LEGACY_TXT.encode("cp1252"))
    files["blob"].write_bytes(b"not really text\x00\x01\x02\x03\xff" * 20)
    files["png"].write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    return {name: path.resolve() for name, path in files.items()}


def count_of(scout: Scout, collection: str) -> int:
    return {info.name: info.count for info in scout.collections()}[collection]


def sources(hits) -> list[str | None]:
    return [hit.source for hit in hits]


def test_folder_ingest_reports_files_and_hits_cite_exact_spans(
    make_scout, collection, tmp_path: Path
) -> None:
    files = make_folder(tmp_path / "docs")
    scout = make_scout(**SMALL_CHUNKS)
    report = scout.ingest(tmp_path / "docs", collection=collection)

    readable = {str(files[n]) for n in ("guide", "page", "notes", "tool", "legacy")}
    assert set(report.added) == readable
    assert len(report.added) == len(readable)
    assert report.replaced == report.unchanged == report.removed == ()
    assert list(report.failed) == [str(files["blob"])]
    assert "binary" in report.failed[str(files["blob"])]
    listed = set(report.added) | set(report.failed) | set(report.unchanged)
    assert str(files["png"]) not in listed  # unsupported: skipped silently
    assert report.chunks > len(readable)  # the guide splits into several chunks
    assert count_of(scout, collection) == report.chunks

    # The Markdown chunk: found by meaning, cited by file, heading path and exact character span.
    guide_text = files["guide"].read_text(encoding="utf-8")
    hits = scout.search("how do I set up the theodolite for the survey", k=3, collection=collection)
    assert hits and hits[0].source == str(files["guide"])
    top = hits[0]
    assert "theodolite" in top.text
    assert top.metadata["heading"] == "Field guide > Install"
    assert top.metadata["kind"] == "markdown"
    start, end = top.metadata["start"], top.metadata["end"]
    assert guide_text[start:end] == top.text
    assert start > guide_text.index("—")  # offsets are characters: the em dash before is 3 bytes in UTF-8
    for hit in scout.search("quokka", k=10, mode="lexical", collection=collection):
        assert hit.source == str(files["guide"])
        assert guide_text[hit.metadata["start"] : hit.metadata["end"]] == hit.text

    # Each other kind is found by a word only it contains.
    page = scout.search("pangolin", k=5, mode="lexical", collection=collection)
    assert set(sources(page)) == {str(files["page"])}
    assert all("color" not in h.text and "Home | About" not in h.text for h in page)  # style and nav dropped
    assert any(h.metadata.get("heading") == "Pangolins > Diet" and "termites" in h.text for h in page)
    assert sources(scout.search("wombat", k=5, mode="lexical", collection=collection)) == [
        str(files["notes"])
    ]
    code = scout.search("fizzbuzz", k=5, mode="lexical", collection=collection)
    assert set(sources(code)) == {str(files["tool"])} and code[0].metadata["kind"] == "code"
    assert any(h.metadata.get("heading") == "def fizzbuzz" for h in code)
    legacy = scout.search("résumé garçon", k=5, mode="lexical", collection=collection)
    assert set(sources(legacy)) == {str(files["legacy"])}
    assert all("Ã" not in h.text and "\ufffd" not in h.text for h in legacy)  # not read as UTF-8/Latin-1


def test_reingest_skips_replaces_and_removes(make_scout, collection, tmp_path: Path) -> None:
    files = make_folder(tmp_path / "docs")
    folder = tmp_path / "docs"
    scout = make_scout(**SMALL_CHUNKS)
    first = scout.ingest(folder, collection=collection)

    again = scout.ingest(folder, collection=collection)
    assert set(again.unchanged) == set(first.added)
    assert again.added == again.replaced == again.removed == ()
    assert again.chunks == 0
    assert count_of(scout, collection) == first.chunks

    # Modify one file: its old words are gone from the lexical index, its new ones are found.
    files["notes"].write_text(NOTES_TXT_NEW, encoding="utf-8")
    changed = scout.ingest(folder, collection=collection)
    assert changed.replaced == (str(files["notes"]),)
    assert changed.added == changed.removed == ()
    assert set(changed.unchanged) == set(first.added) - {str(files["notes"])}
    assert changed.chunks == 1
    assert scout.search("wombat burrows", k=10, mode="lexical", collection=collection) == []
    new = scout.search("echidna", k=10, mode="lexical", collection=collection)
    assert sources(new) == [str(files["notes"])] and "monotreme" in new[0].text
    dense = scout.search(
        "an animal that digs burrows and sleeps in the afternoon", k=20, mode="dense", collection=collection
    )
    assert all("wombat" not in h.text for h in dense)

    # Delete one file: its chunks leave both indexes.
    page = str(files["page"])
    files["page"].unlink()
    gone = scout.ingest(folder, collection=collection)
    assert gone.removed == (page,)
    assert gone.added == gone.replaced == () and gone.chunks == 0
    assert scout.search("pangolin", k=10, mode="lexical", collection=collection) == []
    for mode in ("dense", "lexical", "hybrid"):
        assert (
            scout.search("pangolin termites", k=10, mode=mode, where={"source": page}, collection=collection)
            == []
        ), mode
    everything = scout.search(
        "scaly anteater pangolin eating termites", k=100, mode="dense", collection=collection
    )
    assert page not in sources(everything)

    # The collection holds exactly what a clean ingest of the folder as it is now would.
    clean = scout.ingest(folder, collection=f"{collection}-clean")
    assert count_of(scout, collection) == clean.chunks == len(everything)
    assert sorted(h.id for h in everything) == sorted(
        h.id
        for h in scout.search(
            "scaly anteater pangolin eating termites", k=100, mode="dense", collection=f"{collection}-clean"
        )
    )


def test_single_file_errors_name_the_file(make_scout, collection, tmp_path: Path) -> None:
    files = make_folder(tmp_path / "docs")
    scout = make_scout()
    missing = tmp_path / "docs" / "missing-notes.md"
    with pytest.raises(UnreadableFileError, match="missing-notes.md") as info:
        scout.ingest(missing, collection=collection)
    assert not isinstance(info.value, UnsupportedFileError)

    with pytest.raises(UnreadableFileError, match=r"blob\.txt looks like a binary file") as info:
        scout.ingest(files["blob"], collection=collection)
    assert not isinstance(info.value, UnsupportedFileError)

    with pytest.raises(UnsupportedFileError, match=r"image\.png has an unsupported type \(\.png\)"):
        scout.ingest(files["png"], collection=collection)

    # A single supported file ingests, and ingesting it again skips it as unchanged.
    report = scout.ingest(files["notes"], collection=collection)
    assert report.added == (str(files["notes"]),) and report.chunks == 1
    assert scout.ingest(files["notes"], collection=collection).unchanged == (str(files["notes"]),)


def test_cp1252_french_text_is_decoded_exactly(embedder, tmp_path: Path) -> None:
    """Legacy Windows text in French must come back as written, not as cp1257 mojibake ('naļve', 'déją')."""
    folder = tmp_path / "legacy"
    folder.mkdir()
    (folder / "legacy.txt").write_bytes(LEGACY_TXT.encode("cp1252"))
    with Scout(home=tmp_path / "home", embedder=embedder) as scout:
        scout.ingest(folder)
        hits = scout.search("garçon café crème", k=1, mode="lexical")
    assert hits and hits[0].text == LEGACY_TXT.strip()


def test_failed_ingest_does_not_create_the_collection(make_scout, collection, tmp_path: Path) -> None:
    """A typo'd path or an unreadable file must not leave an empty collection behind: it would turn a
    later 'no such collection' error into silent empty results."""
    files = make_folder(tmp_path / "docs")
    scout = make_scout()
    for target in (tmp_path / "no-such-folder", files["blob"], files["png"]):
        with pytest.raises(UnreadableFileError):
            scout.ingest(target, collection=collection)
        assert collection not in {info.name for info in scout.collections()}, target.name


# ---------------------------------------------------------------- crash mid-ingest

CRASH_SCRIPT = textwrap.dedent(
    """
    import os, signal, sqlite3, sys, time
    from hopscout import Scout
    from hopscout.scout import engine_of

    folder, name = sys.argv[1], sys.argv[2]
    scout = Scout()
    group = 4 * scout.settings.batch_size  # texts per store write; progress follows every embedding batch
    lock = None

    def progress(done, total):
        global lock
        index = engine_of(scout).index(name)
        if done == 2 * group:  # the second write is embedded, the first handed to the writer thread
            # Hold the lexical index's write lock, as another process might: the writer thread stores its
            # next batch in Chroma, then waits for this lock before updating the lexical index.
            lock = sqlite3.connect(index.files.bm25, timeout=30, isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")
        elif done == 3 * group:
            # Die once Chroma holds chunks the lexical index lacks: mid-write, between the two stores.
            deadline = time.monotonic() + 30
            while index.collection.count() <= lock.execute("SELECT count(*) FROM docs").fetchone()[0]:
                if time.monotonic() > deadline:
                    sys.exit(4)
                time.sleep(0.005)
            os.kill(os.getpid(), signal.SIGKILL)

    scout.ingest(folder, collection=name, progress=progress)
    sys.exit(3)  # reached only if the kill never happened
    """
)

ANIMALS = ["otter", "heron", "badger", "falcon", "lynx", "marten", "newt", "osprey", "puffin", "quail"]


def unique_word(n: int) -> str:
    """A made-up word per file, letters only (e.g. 'zqbdmarker'), shared with no other file."""
    return "zq" + "".join(chr(ord("a") + int(d)) for d in f"{n:03d}") + "marker"


def make_crash_folder(root: Path, files: int = 30) -> dict[str, str]:
    root.mkdir(parents=True)
    words = {}
    for n in range(files):
        word = unique_word(n)
        animal = ANIMALS[n % len(ANIMALS)]
        text = (
            f"Report {word} describes the {animal} seen near station {n}. "
            f"The {animal} was observed at dawn while it searched the reeds for food and shelter. "
            f"Field staff measured the water level, the wind and the temperature beside the {animal}. "
            f"Everything was logged in the station book and copied to the archive that evening."
        )
        if n % 2:  # files of 2 and 3 chunks, so write batches end mid-file
            text += (
                f" A second visit found the {animal} again, calmer, feeding along the muddy bank. "
                f"Photographs of the {animal} were added to the survey folder for station {n}."
            )
        path = root / f"station-{n:02d}.txt"
        path.write_text(text, encoding="utf-8")
        words[str(path.resolve())] = word
    return words


@pytest.mark.slow
def test_ingest_killed_mid_write_resumes_without_duplicates(
    make_scout, backend: str, collection: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    folder = tmp_path / "stations"
    words = make_crash_folder(folder)
    home = tmp_path / "crash-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPSCOUT_")}
    env.update(
        HOPSCOUT_HOME=str(home),
        HOPSCOUT_BATCH_SIZE="2",
        HOPSCOUT_CHUNK_TOKENS=str(SMALL_CHUNKS["chunk_tokens"]),
        HOPSCOUT_CHUNK_OVERLAP=str(SMALL_CHUNKS["chunk_overlap"]),
    )
    if backend == "server":
        env["HOPSCOUT_CHROMA_URL"] = request.getfixturevalue("chroma_url")

    proc = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(folder), collection],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,  # the script kills itself mid-write: its exit status is asserted below
    )
    assert proc.returncode == -9, (
        f"the ingest was not killed mid-way (rc {proc.returncode}):\n{proc.stderr[-3000:]}"
    )

    scout = make_scout(home=home, **SMALL_CHUNKS)
    clean = scout.ingest(folder, collection=f"{collection}-clean")
    assert len(clean.added) == len(words) and clean.chunks > 3 * 8  # more than the 3 batches the crash allows
    in_chroma = count_of(scout, collection)
    in_lexical = (
        engine_of(scout).index(collection).indexed_count()
    )  # opening does not catch up; searching would
    assert 0 < in_chroma < clean.chunks, f"crash left {in_chroma} of {clean.chunks} chunks"
    assert in_lexical < in_chroma, "the crash should have cut a write between Chroma and the lexical index"

    resumed = scout.ingest(folder, collection=collection)
    assert not resumed.failed and not resumed.removed
    assert set(resumed.added) | set(resumed.replaced) | set(resumed.unchanged) == set(words)
    assert resumed.added, "files the crash never reached are added"
    assert resumed.unchanged, "files fully written before the crash are skipped"
    assert resumed.replaced, "a file whose chunks were cut by the crash is written again"

    index = engine_of(scout).index(collection)
    chroma_ids = index.ids()
    assert len(chroma_ids) == len(set(chroma_ids)) == clean.chunks == count_of(scout, collection)
    assert set(index.stored_values(HASH_KEY, chroma_ids)) == set(chroma_ids) and index.indexed_count() == len(
        chroma_ids
    )
    assert set(chroma_ids) == set(
        engine_of(scout).index(f"{collection}-clean").ids()
    )  # ids are deterministic

    for source, word in words.items():
        hits = scout.search(word, k=5, mode="lexical", collection=collection)
        assert hits and {h.source for h in hits} == {source}, word
        assert all(word in h.text for h in hits)
