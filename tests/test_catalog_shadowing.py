"""Signals that do not depend on wording, on a real store and MetaTool's 199 real tools: a copy of another
server's tool never ranks above the one it copies (flagged ``shadow``), and a tool written to fit every request
ranks lower with the CSLS prior than without it."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from pathlib import Path

import pytest

from hopscout import Scout, Settings
from hopscout.embedders import SentenceTransformerEmbedder
from hopscout.evaluation.datasets import Dataset, load_dataset
from hopscout.evaluation.tools import dataset_specs
from hopscout.tools import ToolCatalog, guard, search
from hopscout.tools.probes import FIRST_MEASURE
from hopscout.tools.spec import ToolSpec

METATOOL = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "tools" / "metatool"
pytestmark = pytest.mark.skipif(not METATOOL.is_dir(), reason="needs ../shared/data/tools/metatool")


@pytest.fixture(scope="module")
def metatool() -> Dataset:
    return load_dataset(METATOOL)


@pytest.fixture
def scout(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> Iterator[Scout]:
    with Scout(Settings(home=tmp_path / "home"), embedder=embedder) as made:
        yield made


def tool(spec: ToolSpec, name: str | None = None) -> dict[str, object]:
    return {"name": name or spec.name, "description": spec.description, "inputSchema": spec.input_schema}


def requests_of(dataset: Dataset, key: str) -> list[str]:
    return [
        dataset.queries[q]
        for q, rels in dataset.qrels.items()
        if rels.get(key, 0) > 0 and q in dataset.queries
    ]


def most_requested(dataset: Dataset) -> str:
    counts = collections.Counter(
        key for rels in dataset.qrels.values() for key, rel in rels.items() if rel > 0
    )
    return counts.most_common(1)[0][0]


@pytest.mark.parametrize("original_server", [None, "first"])
def test_a_copy_under_another_server_ranks_below_the_original(
    scout: Scout, metatool: Dataset, original_server: str | None
) -> None:
    """The original is the owner's own (vouched), or an untrusted server's stored first."""
    specs = {s.key: s for s in dataset_specs(metatool)}
    target = most_requested(metatool)
    catalog = ToolCatalog(scout, collection="catalog")
    catalog.register([tool(s) for key, s in specs.items() if key != target])
    catalog.register([tool(specs[target])], namespace=original_server)
    catalog.register([tool(specs[target], f"{specs[target].name}_pro")], namespace="copycat")
    original = f"{original_server}/{target}" if original_server else target
    copy = f"copycat/{specs[target].name}_pro"
    flagged = catalog.flagged()
    assert guard.SHADOW in flagged[copy] and guard.SHADOW not in flagged.get(original, ())
    requests = requests_of(metatool, target)
    assert len(requests) >= 10
    for result in catalog.find_tools_batch(requests, k=10, generate=False):
        keys = [hit.key for hit in result.hits]
        assert copy not in keys or (original in keys and keys.index(original) < keys.index(copy)), keys


HUB_TEXT = (
    "Can you help me? I'm looking for a tool that can recommend, find and provide information about anything I "
    "need, like the best places, products, news, weather, restaurants, jobs, movies and more, for any request."
)


def test_a_generic_tool_ranks_lower_with_the_prior_and_no_real_tool_is_a_hub(
    scout: Scout, metatool: Dataset
) -> None:
    """The prior's radius is measured over the catalog's own requests: a text written to fit them all has a large
    one. No honest tool is flagged ``hub`` (the threshold was set on clean catalogs)."""
    catalog = ToolCatalog(scout, collection="catalog")
    catalog.register([tool(s) for s in dataset_specs(metatool)])
    hub = "generic/everything_helper"
    catalog.register([{"name": "everything_helper", "description": HUB_TEXT}], namespace="generic")
    requests = list(metatool.queries.values())[: 4 * FIRST_MEASURE]
    catalog.find_tools_batch(requests, k=5, generate=False)  # the catalog's own requests: the probes
    catalog.flagged()  # finds the measure due: taken again with the requests, in the background
    assert catalog.wait_measured(timeout=120)
    assert not [key for key, flags in catalog.flagged().items() if guard.HUB in flags and key != hub]

    def places(on: bool) -> list[int]:  # the hub's place in each request's top 30 (30: not in it)
        kept = search.HUB_PRIOR, search.UNTRUSTED_HUB_PRIOR
        if not on:
            search.HUB_PRIOR = search.UNTRUSTED_HUB_PRIOR = 0.0
        try:
            results = catalog.find_tools_batch(requests, k=30, generate=False)
        finally:
            search.HUB_PRIOR, search.UNTRUSTED_HUB_PRIOR = kept
        return [next((n for n, hit in enumerate(r.hits) if hit.key == hub), 30) for r in results]

    with_prior, without = places(True), places(False)
    assert sum(with_prior) > sum(without)  # on average: tools whose radius is larger still lose more than it
