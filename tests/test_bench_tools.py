"""``hopscout bench --tools``: pooled catalogs of real tools (copies under further namespaces past the real ones),
measured by a real child process on a real store; the store it leaves holds exactly the catalog asked for.
Timings are not asserted (they do not belong in tests); what was measured, and over what, is."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hopscout import Scout
from hopscout.bench.tool_pool import pooled_catalog, real_servers
from hopscout.bench.tools_bench import COLLECTION, format_tool_bench
from hopscout.cli import main
from hopscout.tools import ToolCatalog

TOOLS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "tools"
pytestmark = pytest.mark.skipif(not (TOOLS / "metatool").is_dir(), reason="needs ../shared/data/tools")
META, LIVE = 30, 25  # real tools taken from MetaTool and from livemcp_catalog


def _head(source: Path, target: Path, n: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        "".join(source.read_text(encoding="utf-8").splitlines(keepends=True)[:n]), encoding="utf-8"
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small slice of the real tool sets, plus a set whose corpus is MetaTool's slice again (to be skipped)."""
    root = tmp_path_factory.mktemp("data")
    _head(TOOLS / "metatool" / "corpus.jsonl", root / "tools" / "metatool" / "corpus.jsonl", META)
    _head(TOOLS / "metatool" / "queries.jsonl", root / "tools" / "metatool" / "queries.jsonl", 20)
    _head(
        TOOLS / "livemcp_catalog" / "corpus.jsonl", root / "tools" / "livemcp_catalog" / "corpus.jsonl", LIVE
    )
    (root / "tools" / "same_as_metatool").mkdir()
    shutil.copy(
        root / "tools" / "metatool" / "corpus.jsonl", root / "tools" / "same_as_metatool" / "corpus.jsonl"
    )
    return root


def test_real_servers_put_the_query_set_first_and_read_a_shared_corpus_once(data: Path) -> None:
    servers = real_servers(data / "tools", "metatool")
    assert servers[0][0] == "metatool" and len(servers[0][1]) == META
    assert sum(len(tools) for _, tools in servers) == META + LIVE
    live = {
        json.loads(line)["metadata"]["server"]
        for line in (data / "tools/livemcp_catalog/corpus.jsonl").open()
    }
    assert {server for server, _ in servers[1:]} == live
    assert all(isinstance(tool["name"], str) and tool["name"] for _, tools in servers for tool in tools)


def test_pooled_catalog_copies_real_tools_under_new_namespaces_past_their_end(data: Path) -> None:
    real = real_servers(data / "tools", "metatool")
    small = pooled_catalog(real, 12)
    assert (small.real, small.copies, small.servers) == (12, 0, [("metatool", real[0][1][:12])])
    big = pooled_catalog(real, 2 * (META + LIVE) + 7)
    assert (big.real, big.copies, big.size) == (META + LIVE, META + LIVE + 7, 2 * (META + LIVE) + 7)
    assert sum(len(tools) for _, tools in big.servers) == big.size
    names = [server for server, _ in big.servers]
    assert len(set(names)) == len(names)  # every copy under a namespace of its own
    assert names[len(real)] == "metatool-copy1" and names[-1] == "metatool-copy2"
    assert big.servers[len(real)][1] == real[0][1]  # a copy is the same tools, word for word


def test_bench_tools_end_to_end(data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    size = META + LIVE + 15
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "bench",
                "--tools",
                str(size),
                "--queries",
                "6",
                "--data",
                str(data),
                "--home",
                str(tmp_path),
                "--json",
            ]
        )
    assert exit_.value.code == 0
    report = json.loads(capsys.readouterr().out)
    row = report["sizes"][str(size)]
    assert report["real_tools"] == META + LIVE
    assert (row["tools"], row["real"], row["copies"], row["skipped"], row["queries"]) == (
        size,
        META + LIVE,
        15,
        0,
        6,
    )
    for name in ("encode", "hybrid", "find_tools"):
        assert 0 < row[name]["p50_ms"] <= row[name]["p95_ms"]
    assert row["register_s"] > 0 and row["first_find_s"] > 0
    assert row["register_s_per_1000"] == pytest.approx(row["register_s"] / size * 1000)
    text = format_tool_bench(report)
    assert f"{size:>7} {15:>7}" in text and "find_tools p50/p95" in text

    scout = Scout(
        home=str(tmp_path / "bench" / f"tools-{size}")
    )  # the store the child left: the catalog asked for
    try:
        keys = [spec.key for spec in ToolCatalog(scout, collection=COLLECTION).tools()]
    finally:
        scout.close()
    assert len(keys) == size
    assert sum(key.startswith("metatool-copy1/") for key in keys) == 15


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tools", "5k"], "error: --tools takes comma-separated whole numbers, got '5k'"),
        (["--tools", "0"], "error: --tools sizes must be positive"),
        (["--tools", "10", "--data", "{tmp}"], "error: no metatool/queries.jsonl under"),
    ],
)
def test_bench_tools_rejects_bad_sizes_and_missing_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--home", str(tmp_path), *[a.format(tmp=tmp_path) for a in args]])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "bench" / "tools-10").exists()  # nothing was measured or written
