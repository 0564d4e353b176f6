"""``hopscout bench`` end to end on a small fixture: the growth rows come from real child processes on a real
embedded store, the two-process catch-up from a real ``chroma run`` server, and a second run reuses what the
first built. Figures are not asserted (timings do not belong in tests); what they measured is."""

from __future__ import annotations

from pathlib import Path

import pytest

from hopscout.bench import format_bench, run_bench
from hopscout.cli import main
from hopscout.settings import SEARCH_MODES

DATA = Path(__file__).parent / "fixtures" / "scifact_mini"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    home = tmp_path_factory.mktemp("bench")
    first = run_bench(
        home,
        DATA,
        [300, 700],
        n_queries=8,
        sample=60,
        catchup_bases=[400],
        catchup_added=250,
        encoder_passages=12,
        rounds=1,
        write_load=20,
        write_seconds=2.5,
    )
    again = run_bench(home, DATA, [300], n_queries=8, sample=60, encoder_passages=12, rounds=1)
    return {"first": first, "again": again}


def test_growth_rows_measure_each_size_in_its_own_processes(report: dict) -> None:
    sizes = report["first"]["sizes"]
    assert list(sizes) == ["300", "700"]
    for size, row in sizes.items():
        probe = row["probe"]
        assert probe["count"] == int(size)  # the fresh process found every chunk the build process wrote
        assert row["build"]["docs_per_s"] > 0 and row["build"]["peak_rss_mb"] > 0
        assert probe["rss_mb"] > 50  # the probe process holds the encoder and the store
        for mode in ("encode", *SEARCH_MODES, "lexical_only"):
            assert 0 < probe[mode]["p50_ms"] <= probe[mode]["p95_ms"]
    assert sizes["700"]["disk_mb"] > sizes["300"]["disk_mb"] > 0


def test_under_writes_each_size_is_searched_while_another_process_writes(report: dict) -> None:
    """The contract's keys, from a reader child timing searches while a writer child adds chunks, probe words the
    reader found, and a fresh opener child."""
    for row in report["first"]["sizes"].values():
        for name in ("lexical", "lexical_only", "hybrid"):
            assert 0 < row[f"{name}_p50_under_writes_ms"] <= row[f"{name}_p95_under_writes_ms"]
        assert row["searches_under_writes"] > 0 and row["probes"] >= 1
        assert 0 <= row["visible_p50_s"] <= row["visible_p95_s"] < 60  # found, not given up on
        assert row["second_process_open_s"] > 0 and row["second_process_chromadb_import_s"] > 0
    assert "searches_under_writes" not in report["again"]["sizes"]["300"]


def test_a_second_run_reuses_the_collection_it_built(report: dict) -> None:
    row = report["again"]["sizes"]["300"]
    assert "build" not in row and row["probe"]["count"] == 300
    assert report["again"]["catchup"] == []


def test_the_second_process_catches_up_with_the_first(report: dict) -> None:
    (run,) = report["first"]["catchup"]
    assert run["b_copied"] == 400  # B's first search copied the collection into its own BM25 replica
    assert run["b_caught_up"] == 650  # and its first search after A's write caught up with all of it
    assert run["a_write_s"] > 0 and run["catchup_over_write"] > 0


def test_the_encoders_are_compared_on_the_same_texts(report: dict) -> None:
    encoders = report["first"]["encoders"]
    assert encoders["onnx"]["backend"] == "onnx" and encoders["torch"]["backend"] == "torch"
    assert encoders["passages"] == 12 and encoders["queries"] == 8
    assert set(encoders["ratio"]) == {
        "passages_docs_per_s",
        "short_docs_per_s",
        "ingest_docs_per_s",
        "query_speedup",
    }
    text = format_bench(report["first"])
    assert "onnx/torch" in text and "two processes on one chroma server, 400 chunks + 250" in text
    assert all(f"{size:>9}" in text for size in ("300", "700"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sizes", "10k"], "error: --sizes takes comma-separated whole numbers, got '10k'"),
        (["--catchup", "0"], "error: --catchup sizes must be positive"),
        (["--data", "{tmp}", "--catchup", ""], "error: no corpus.jsonl and queries.jsonl under"),
    ],
)
def test_bench_rejects_bad_sizes_and_missing_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--home", str(tmp_path), *[a.format(tmp=tmp_path) for a in args]])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "bench" / "texts.json").exists()  # nothing was measured or written
