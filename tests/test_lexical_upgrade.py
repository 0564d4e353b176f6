"""Upgrading to the tantivy default copies nothing: ``auto`` keeps the FTS5 copy a collection already has, a new
collection gets tantivy, and key phrases stored under the name tantivy copies used before follow the collection."""

from __future__ import annotations

from pathlib import Path

from hopscout import Scout, Settings
from hopscout.embedders import SentenceTransformerEmbedder
from hopscout.lexical import resolve_backend
from hopscout.scout import engine_of

NOTES = ["Grind finer if the coffee tastes sour.", "Venus is the hottest planet.", "Tides follow the moon."]


def test_auto_is_tantivy_unless_only_an_fts5_copy_exists(tmp_path: Path) -> None:
    stem = tmp_path / "c1"
    assert resolve_backend(stem) == "tantivy"  # a new collection
    Path(f"{stem}.sqlite").touch()
    assert resolve_backend(stem) == "fts5"  # made before tantivy was the default
    assert resolve_backend(stem, "tantivy") == "tantivy"  # asked for by name: copied once, then tantivy
    Path(f"{stem}.bm25.sqlite").touch()
    assert resolve_backend(stem) == "tantivy"  # both: the user switched already


def test_a_collection_built_with_fts5_keeps_it_after_the_upgrade(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    home = tmp_path / "home"
    with Scout(Settings(home=home, lexical_backend="fts5"), embedder=embedder) as before:
        before.add(NOTES, collection="notes")
    with Scout(Settings(home=home), embedder=embedder) as after:  # the default: auto
        assert after.settings.lexical_backend == "auto"
        hits = after.search("sour coffee", 1, collection="notes", mode="lexical", confidence=False)
        assert hits[0].text == NOTES[0]
        index = engine_of(after).index("notes")
        assert index.copied == 0 and index.files.bm25.name.endswith(".sqlite")
        assert not list((home / "lexical").rglob("*.bm25.sqlite"))  # nothing copied into tantivy
        after.add(["A new note on tides and the moon."], collection="fresh")  # a new collection: tantivy
        assert engine_of(after).index("fresh").files.bm25.name.endswith(".bm25.sqlite")


def test_key_phrases_stored_under_the_earlier_tantivy_name_are_kept(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    home = tmp_path / "home"
    with Scout(Settings(home=home, lexical_backend="tantivy"), embedder=embedder) as scout:
        scout.add(NOTES, collection="notes")
        phrases = engine_of(scout).index("notes").files.phrases
        held = engine_of(scout).index("notes").phrase_table.sizes()
    assert held[0] > 0 and phrases.name.count(".") == 2  # <id>.phrases.sqlite
    earlier = phrases.with_name(phrases.name.replace(".phrases.", ".bm25.phrases."))
    phrases.rename(earlier)  # as a tantivy copy named it before
    with Scout(Settings(home=home, lexical_backend="tantivy"), embedder=embedder) as scout:
        assert engine_of(scout).index("notes").phrase_table.sizes() == held
    assert phrases.is_file() and not earlier.exists()
