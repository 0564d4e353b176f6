"""Equivalent tools grouped, on a real store, the bundled model and real MCP servers' tools (livemcp_catalog:
playwright, puppeteer and filesystem, which share functions): find_tools shows one entry per function with the
other servers' tools as its alternatives, never heads a group with a copy or an untrusted tool over a vouched
one, and ``similar`` gives a tool's equivalents first."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hopscout import Scout, Settings
from hopscout.embedders import SentenceTransformerEmbedder
from hopscout.tools import ToolCatalog, guard

LIVEMCP = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "tools" / "livemcp_catalog"
pytestmark = pytest.mark.skipif(not LIVEMCP.is_dir(), reason="needs ../shared/data/tools/livemcp_catalog")
SERVERS = ("playwright", "puppeteer", "filesystem")
CLICKS = {"playwright/playwright_click", "puppeteer/puppeteer_click"}


@pytest.fixture(scope="module")
def server_tools() -> dict[str, list[dict[str, Any]]]:
    tools: dict[str, list[dict[str, Any]]] = {server: [] for server in SERVERS}
    for line in (LIVEMCP / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        meta = json.loads(line)["metadata"]
        if meta["server"] in tools:
            tools[meta["server"]].append(meta["schema"])
    return tools


def catalog_of(
    tmp_path: Path,
    embedder: SentenceTransformerEmbedder,
    tools: dict[str, list[dict[str, Any]]],
    **settings: Any,
) -> tuple[Scout, ToolCatalog]:
    scout = Scout(Settings(home=tmp_path / "home", **settings), embedder=embedder)
    catalog = ToolCatalog(scout, collection="catalog")
    for server in SERVERS:
        catalog.register(tools[server], namespace=server)
    return scout, catalog


@pytest.fixture
def catalog(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, server_tools: dict[str, list[dict[str, Any]]]
) -> Iterator[ToolCatalog]:
    scout, made = catalog_of(tmp_path, embedder, server_tools)
    with scout:
        yield made


def test_one_entry_per_function_and_the_other_servers_as_alternatives(catalog: ToolCatalog) -> None:
    (result,) = catalog.find_tools_batch(["click the submit button on the web page"], k=5, generate=False)
    entry = next(hit for hit in result.hits if hit.key in CLICKS)
    assert {entry.key, *(a.key for a in entry.alternatives)} == CLICKS
    assert all(a.namespace != entry.namespace for a in entry.alternatives)
    shown = [hit.key for hit in result.hits] + [a.key for hit in result.hits for a in hit.alternatives]
    assert len(result.hits) == 5 and len(shown) == len(set(shown))  # k entries, no tool twice
    assert result.to_dict()["hits"][result.keys.index(entry.key)]["alternatives"][0]["namespace"] in SERVERS


def test_grouping_off_shows_each_copy_as_its_own_entry(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, server_tools: dict[str, list[dict[str, Any]]]
) -> None:
    scout, catalog = catalog_of(tmp_path, embedder, server_tools, group_tools=False)
    with scout:
        (result,) = catalog.find_tools_batch(["click the submit button on the web page"], k=5, generate=False)
    assert CLICKS <= set(result.keys) and not any(hit.alternatives for hit in result.hits)


def test_a_vouched_tool_heads_its_group_and_a_copy_never_heads_its_original(
    catalog: ToolCatalog, server_tools: dict[str, list[dict[str, Any]]]
) -> None:
    request = ["take a screenshot of the current page"]
    catalog.register(server_tools["puppeteer"], namespace="puppeteer", trust=guard.TRUSTED)
    (result,) = catalog.find_tools_batch(request, k=3, generate=False)
    assert result.hits[0].key == "puppeteer/puppeteer_screenshot"
    assert [a.key for a in result.hits[0].alternatives] == ["playwright/playwright_screenshot"]
    # a later server copying puppeteer's screenshot tool word for word: a shadow, folded under the original
    copy = {**next(t for t in server_tools["puppeteer"] if t["name"] == "puppeteer_screenshot")}
    catalog.register([{**copy, "name": "copycat_screenshot"}], namespace="copycat")
    assert guard.SHADOW in catalog.flagged()["copycat/copycat_screenshot"]
    (result,) = catalog.find_tools_batch(request, k=3, generate=False)
    keys = result.keys + [a.key for hit in result.hits for a in hit.alternatives]
    assert result.hits[0].key == "puppeteer/puppeteer_screenshot"
    assert (
        "copycat/copycat_screenshot" not in result.keys[:1] and keys.count("copycat/copycat_screenshot") <= 1
    )


def test_similar_gives_a_tool_s_equivalents_first(catalog: ToolCatalog) -> None:
    found = catalog.similar("puppeteer/puppeteer_click", k=4)
    assert found[0].key == "playwright/playwright_click" and len(found) == 4
    assert "puppeteer/puppeteer_click" not in [hit.key for hit in found]
    assert all(-1.0 <= hit.score <= 1.0 for hit in found)
    assert [hit.score for hit in found[1:]] == sorted((hit.score for hit in found[1:]), reverse=True)
    with pytest.raises(Exception, match="no tool"):
        catalog.similar("nowhere/nothing")
