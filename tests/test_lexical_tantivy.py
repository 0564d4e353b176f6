"""The tantivy lexical backend against today's FTS5 index, through the lexical index's public interface: the same
ranking on real passages, filters, document frequencies, writes seen by a second handle on the same files, and a
write cut between its two commits (or by kill -9) repeated without duplicates. And a lexical search that needs
no query vector does not encode one."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hopscout import Scout, Settings
from hopscout.analysis import analyze
from hopscout.embedders import SentenceTransformerEmbedder
from hopscout.lexical import LexicalIndex, open_lexical
from hopscout.lexical.tantivy_index import TantivyLexicalIndex

needs_tantivy = pytest.mark.skipif(importlib.util.find_spec("tantivy") is None, reason="pip install tantivy")

MINI = Path(__file__).parent / "fixtures" / "scifact_mini"


def _rows() -> list[tuple[str, str, str, dict[str, object]]]:
    docs = [json.loads(line) for line in (MINI / "corpus.jsonl").read_text().splitlines()]
    return [
        (d["_id"], f"h{n}", f"{d.get('title', '')}\n{d['text']}", {"odd": n % 2, "n": n})
        for n, d in enumerate(docs)
    ]


def _queries() -> list[str]:
    return [json.loads(line)["text"] for line in (MINI / "queries.jsonl").read_text().splitlines()]


@pytest.fixture
def both(tmp_path: Path) -> tuple[LexicalIndex, LexicalIndex]:
    fts5, tv = open_lexical(tmp_path / "a", "fts5"), open_lexical(tmp_path / "b", "tantivy")
    assert isinstance(tv, TantivyLexicalIndex) and not isinstance(fts5, TantivyLexicalIndex)
    for index in (fts5, tv):
        index.apply(_rows(), version="v1", seq=3)
    return fts5, tv


@needs_tantivy
def test_ranks_filters_and_counts_as_fts5(both: tuple[LexicalIndex, LexicalIndex]) -> None:
    fts5, tv = both
    assert (tv.count(), tv.version, tv.seq, tv.hashes()) == (
        fts5.count(),
        fts5.version,
        fts5.seq,
        fts5.hashes(),
    )
    filters = {None: lambda m: True, "odd": lambda m: m["odd"] == 1, "early": lambda m: m["n"] < 50}
    wheres = {None: None, "odd": {"odd": 1}, "early": {"n": {"$lt": 50}}}
    meta = {doc_id: m for doc_id, _, _, m in _rows()}
    tops, overlaps = 0, []
    for name, where in wheres.items():
        for query in _queries():
            want, got = fts5.search(query, 10, where), tv.search(query, 10, where)
            assert all(filters[name](meta[i]) for i, _ in got)
            tops += bool(want) and bool(got) and want[0][0] == got[0][0]
            overlaps.append(len({i for i, _ in want} & {i for i, _ in got}) / max(1, len(want)))
    # BM25 differs only in its IDF (Lucene's) and tantivy's one-byte lengths: the same top nearly always
    assert tops >= 0.85 * len(wheres) * len(_queries())
    assert sum(overlaps) / len(overlaps) >= 0.85
    terms = sorted({t for q in _queries()[:5] for t in analyze(q)})
    assert terms and tv.doc_freqs(terms) == fts5.doc_freqs(terms)


@needs_tantivy
def test_second_handle_sees_writes_updates_and_deletes(tmp_path: Path) -> None:
    writer, reader = open_lexical(tmp_path / "c", "tantivy"), open_lexical(tmp_path / "c", "tantivy")
    writer.apply([("a", "h1", "zebrafish fins regenerate", {}), ("b", "h2", "mouse liver", {})])
    assert [i for i, _ in reader.search("zebrafish", 5)] == ["a"]
    writer.apply([("a", "h1b", "salamander limbs regenerate", {})], deletes=["b"])
    assert reader.search("zebrafish", 5) == [] and reader.search("liver", 5) == []
    assert [i for i, _ in reader.search("salamander", 5)] == ["a"]
    assert reader.count() == 1 and reader.hashes() == {"a": "h1b"}


@needs_tantivy
def test_write_cut_between_commits_is_repeated_without_duplicates(tmp_path: Path) -> None:
    index = open_lexical(tmp_path / "d", "tantivy")
    assert isinstance(index, TantivyLexicalIndex)
    index.apply([("a", "h1", "zebrafish fins", {})], version="v1", seq=1)

    def crash(version: object, seq: object) -> None:
        raise KeyboardInterrupt  # as a kill between tantivy's commit and SQLite's

    index._record = crash  # type: ignore[method-assign,assignment]
    with pytest.raises(KeyboardInterrupt):
        index.apply(
            [("a", "h2", "zebrafish tails", {}), ("b", "h3", "zebrafish eyes", {})], version="v2", seq=2
        )
    del index._record
    assert index.version == "v1" and index.hashes() == {"a": "h1"}  # not acknowledged: a sync copies it again
    index.apply([("a", "h2", "zebrafish tails", {}), ("b", "h3", "zebrafish eyes", {})], version="v2", seq=2)
    assert sorted(i for i, _ in index.search("zebrafish", 10)) == ["a", "b"]
    assert index.search("fins", 10) == [] and index.version == "v2"


_WRITER = """
import sys
from pathlib import Path
from hopscout.lexical import open_lexical
index = open_lexical(Path(sys.argv[1]), "tantivy")
n = 0
while True:
    index.apply([(f"d{n}", "h", f"word{n}x common text", {}), (f"d{n}", "h", "ignored", {})], version=str(n))
    print(n, flush=True)
    n += 1
"""


@needs_tantivy
def test_kill_9_mid_write_loses_nothing_acknowledged(tmp_path: Path) -> None:
    stem = tmp_path / "e"
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(stem)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    acked = -1
    deadline = time.monotonic() + 60
    while acked < 15 and time.monotonic() < deadline:
        acked = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    index = open_lexical(stem, "tantivy")
    for n in range(acked + 1):
        assert index.search(f"word{n}x", 1)[0][0] == f"d{n}"  # its own word (word, x: in every one)
    held = index.hashes()
    assert len(index.search("common", 1000)) == len(held) >= acked + 1  # one entry per id
    index.apply([("z", "h", "after the crash", {})])  # tantivy's lock died with the writer
    assert [i for i, _ in index.search("crash", 5)] == ["z"]


def test_without_tantivy_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hopscout.lexical.tantivy_index as module

    monkeypatch.setattr(module, "tantivy", None)
    with pytest.raises(ImportError, match="pip install"):
        open_lexical(tmp_path / "f", "tantivy")
    with pytest.raises(ValueError, match="fts5, tantivy"):
        open_lexical(tmp_path / "g", "lucene")


def test_a_lexical_search_never_encodes_the_query_and_its_confidence_reads_bm25_alone(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    scout = Scout(Settings(home=tmp_path / "home"), embedder=embedder)
    scout.add(["zebrafish fins regenerate after amputation", "mouse liver enzymes"], ids=["a", "b"])
    encoded: list[list[str]] = []
    real = embedder.embed_queries
    monkeypatch.setattr(embedder, "embed_queries", lambda texts: encoded.append(list(texts)) or real(texts))
    hits = scout.search("zebrafish regeneration", 2, mode="lexical", confidence=False)
    assert [h.id for h in hits] == ["a"] and hits[0].confidence is None and encoded == []
    lexical = scout.search("zebrafish regeneration", 2, mode="lexical")
    assert [h.id for h in lexical] == ["a"] and encoded == []
    assert lexical[0].confidence is not None and lexical[0].relevance is not None
    assert lexical[0].scores.keys() == {"lexical"}
    hybrid = scout.search("zebrafish regeneration", 2, mode="hybrid")
    assert encoded and hybrid[0].confidence is not None
    assert lexical[0].confidence != hybrid[0].confidence  # another model: one that reads BM25 alone
    scout.close()


@needs_tantivy
def test_a_scout_set_to_tantivy_searches_filters_and_drops_through_it(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """HOPSCOUT_LEXICAL_BACKEND=tantivy end to end: writes, every mode, a filter, a delete, a dropped collection's
    segments removed."""
    scout = Scout(Settings(home=tmp_path / "home", lexical_backend="tantivy"), embedder=embedder)
    scout.add(
        ["zebrafish fins regenerate after amputation", "mouse liver enzymes", "zebrafish embryos"],
        ids=["a", "b", "c"],
        metadatas=[{"lab": "x"}, {"lab": "y"}, {"lab": "y"}],
    )
    for mode in ("lexical", "hybrid", "dense"):
        assert scout.search("zebrafish fins regeneration", 1, mode=mode)[0].id == "a"
    assert [h.id for h in scout.search("zebrafish", 3, mode="lexical", where={"lab": "y"})] == ["c"]
    scout.delete(ids=["a"])
    assert "a" not in {h.id for h in scout.search("zebrafish fins", 3, mode="lexical")}
    segments = list((tmp_path / "home" / "lexical").rglob("*.bm25.tantivy"))
    assert segments and all(p.is_dir() for p in segments)
    scout.close()
    # the same collection searched once with the FTS5 backend too: its copy is the collection's as well
    with Scout(Settings(home=tmp_path / "home", lexical_backend="fts5"), embedder=embedder) as fts5:
        assert fts5.search("zebrafish", 1, mode="lexical")[0].id == "c"
    scout = Scout(Settings(home=tmp_path / "home", lexical_backend="tantivy"), embedder=embedder)
    local = sorted((tmp_path / "home" / "lexical").rglob("*"))
    assert any(p.name.endswith(".sqlite") and ".bm25." not in p.name for p in local)  # FTS5's copy
    scout.drop_collection(scout.settings.collection)
    assert not any(p.exists() for p in segments)
    assert not [p for p in (tmp_path / "home" / "lexical").rglob("*") if p.is_file()]  # either backend's
    scout.close()


def test_search_still_answers_when_the_tantivy_files_are_lost(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    home = tmp_path / "home"
    with Scout(Settings(home=home), embedder=embedder) as scout:
        scout.add(["zebrafish fins regenerate after amputation", "mouse liver enzymes"], ids=["a", "b"])
    (folder,) = home.rglob("*.bm25.tantivy")
    shutil.rmtree(folder)  # the SQLite file beside it still lists both documents
    with Scout(Settings(home=home), embedder=embedder) as scout:
        assert [h.id for h in scout.search("fish regrowing fins", 1, mode="dense")] == ["a"]
        assert [h.id for h in scout.search("zebrafish", 1, mode="lexical")] == ["a"]  # copied again
