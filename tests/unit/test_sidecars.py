"""hopscout.tools.pair_cache and judge_cache (files of hopscout.tools.sidecar): the pairs a measure found and the
judgements a read made, stored beside a collection's files and read back whole; a file of other rules or another
judge, a damaged one or none reads as nothing, and a failed write is logged, not raised."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hopscout.tools import exposure, judge_cache, pair_cache, shadowing
from hopscout.tools.pair_cache import Pairs

PAIRS = Pairs(over={"a/x": "h1", "b/x": "h2", "c/y": "h3"}, twins=[("a/x", "b/x"), ("b/x", "c/y")])


def test_pairs_read_back_as_stored(tmp_path: Path) -> None:
    path = tmp_path / "id.pairs.npz"
    pair_cache.save(path, PAIRS)
    assert pair_cache.load(path) == PAIRS
    pair_cache.save(path, Pairs())
    assert pair_cache.load(path) == Pairs()  # replaced whole
    assert [p.name for p in tmp_path.iterdir()] == ["id.pairs.npz"]  # no temporary file left


def test_pairs_of_tools_not_named_are_not_stored(tmp_path: Path) -> None:
    path = tmp_path / "id.pairs.npz"
    pair_cache.save(path, Pairs(over={"a/x": "h1"}, twins=[("a/x", "gone"), ("gone", "a/x")]))
    assert pair_cache.load(path) == Pairs(over={"a/x": "h1"})


def test_pairs_found_under_other_rules_or_damaged_read_as_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "id.pairs.npz"
    assert pair_cache.load(path) is None  # none stored
    pair_cache.save(path, PAIRS)
    monkeypatch.setattr(shadowing, "SAME_WORDS", shadowing.SAME_WORDS - 0.05)
    assert pair_cache.load(path) is None  # a threshold changed since
    monkeypatch.undo()
    assert pair_cache.load(path) == PAIRS
    path.write_bytes(path.read_bytes()[:100])
    with caplog.at_level(logging.INFO, logger="hopscout.tools"):
        assert pair_cache.load(path) is None
        path.write_bytes(b"")  # a crash before the data reached the disk
        assert pair_cache.load(path) is None and judge_cache.load(path) == {}
    assert "tool pairs at" in caplog.text and "not read" in caplog.text


def test_a_failed_write_is_logged_and_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with caplog.at_level(logging.WARNING, logger="hopscout.tools"):
        pair_cache.save(blocked / "id.pairs.npz", PAIRS)
    assert "not stored" in caplog.text and pair_cache.load(blocked / "id.pairs.npz") is None


def test_judgements_read_back_only_under_the_judge_that_made_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "id.judged.npz"
    assert judge_cache.load(path) == {}
    flags = {"h1": (), "h2": ("instructions", "invisible_characters")}
    judge_cache.save(path, flags)
    assert judge_cache.load(path) == flags
    monkeypatch.setattr(exposure, "JUDGE_FORMAT", exposure.JUDGE_FORMAT + 1)  # another judge
    assert judge_cache.load(path) == {}
