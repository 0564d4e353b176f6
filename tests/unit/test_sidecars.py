"""hopscout.tools.pair_cache, judge_cache and measure_cache (files of hopscout.tools.sidecar): the pairs a measure
found, the judgements a read made and a catalog's first measure, stored beside a collection's files and read back
whole; a file of other rules or another
judge, a damaged one or none reads as nothing, and a failed write is logged, not raised."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hopscout.tools import exposure, judge_cache, measure_cache, pair_cache, shadowing
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


HASHES = {"a/x": "h1", "b/x": "h2", "c/y": "h3"}


def test_a_first_measure_reads_back_as_stored_under_its_stamp_only(tmp_path: Path) -> None:
    path = tmp_path / "id.measure.npz"
    stamp = measure_cache.stamp("store-id", (0.5, "hybrid", 50, 20), HASHES, {"c/y": "v1"})
    groups = {"a/x": ("a/x", "b/x"), "b/x": ("a/x", "b/x"), "c/y": ("c/y",)}
    measure_cache.save(path, stamp, sorted(HASHES), {"c/y"}, {"a/x": -0.1, "c/y": 0.25}, groups)
    kept = measure_cache.load(path, stamp)
    assert kept == measure_cache.KeptMeasure(frozenset({"c/y"}), {"a/x": -0.1, "c/y": 0.25}, groups)
    others = [
        measure_cache.stamp(
            "store-id", (0.5, "hybrid", 50, 20), {**HASHES, "c/y": "h4"}, {"c/y": "v1"}
        ),  # a tool changed
        measure_cache.stamp("store-id", (0.5, "hybrid", 50, 20), HASHES, {"c/y": "v2"}),  # its views changed
        measure_cache.stamp(
            "store-id", (0.5, "hybrid", 50, 20), {**HASHES, "d/z": "h5"}, {"c/y": "v1"}
        ),  # a tool added
        measure_cache.stamp(
            "store-id", (0.6, "hybrid", 50, 20), HASHES, {"c/y": "v1"}
        ),  # another fusion weight
        measure_cache.stamp(
            "another-id", (0.5, "hybrid", 50, 20), HASHES, {"c/y": "v1"}
        ),  # the collection made again
        measure_cache.stamp(
            "store-id", (0.5, "hybrid", 50, 40), HASHES, {"c/y": "v1"}
        ),  # probes searched deeper
    ]
    assert len(set(others)) == len(others) and stamp not in others
    assert all(measure_cache.load(path, other) is None for other in others)


def test_a_damaged_first_measure_reads_as_none(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "id.measure.npz"
    stamp = measure_cache.stamp("store-id", (0.5, "hybrid", 50, 20), HASHES, {})
    assert measure_cache.load(path, stamp) is None  # none stored
    path.write_bytes(b"not a measure")
    with caplog.at_level(logging.INFO, logger="hopscout.tools"):
        assert measure_cache.load(path, stamp) is None
    assert "not read" in caplog.text
