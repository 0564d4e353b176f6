"""hopscout.tools.corpus: a tool set's corpus.jsonl read as its servers' tools (the evaluations' and the bench's)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from hopscout.errors import UnreadableFileError
from hopscout.tools.corpus import corpus_servers, corpus_tool, parse_text


def test_the_text_layout_gives_a_description_and_parameters() -> None:
    text = "getWeather\nWeather for a city.\nParameters:\n- city (string, required): The city.\n- days: How many."
    tool = parse_text(text, "getWeather")
    assert tool["description"] == "Weather for a city."
    assert tool["inputSchema"]["properties"] == {
        "city": {"description": "The city."},
        "days": {"description": "How many."},
    }


def test_a_row_is_its_schema_its_description_or_its_text() -> None:
    schema = {"metadata": {"schema": {"description": "Click.", "inputSchema": {"type": "object"}}}}
    assert corpus_tool("click", schema)["name"] == "click"  # a schema without a name: the row's id
    assert corpus_tool("x", {"metadata": {"description": "Books."}}) == {"name": "x", "description": "Books."}
    assert corpus_tool("y", {"text": "y\nDoes y."})["description"] == "Does y."


def test_servers_come_from_metadata_or_the_folder_and_a_repeated_name_is_kept_once(tmp_path: Path) -> None:
    rows = [
        {"_id": "a", "text": "a\nFirst.", "metadata": {"server": "Ant Design"}},
        {"_id": "a2", "metadata": {"server": "Ant Design", "schema": {"name": "a", "description": "Again."}}},
        {"_id": "b", "text": "b\nSecond."},
    ]
    folder = tmp_path / "my set"
    folder.mkdir()
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    servers = corpus_servers(folder)
    assert list(servers) == ["Ant-Design", "my-set"]
    assert [t["description"] for t in servers["Ant-Design"]] == ["First."]
    (folder / "corpus.jsonl").write_text('{"text": "no id"}\n')
    with pytest.raises(UnreadableFileError, match=r"corpus.jsonl:1: expected a corpus row with an _id"):
        corpus_servers(folder)
    with pytest.raises(UnreadableFileError, match="cannot read"):
        corpus_servers(tmp_path / "missing")


def test_a_set_with_a_tool_no_catalog_takes_is_read_without_it(caplog: pytest.LogCaptureFixture) -> None:
    from hopscout.evaluation.datasets import Dataset
    from hopscout.evaluation.tools import dataset_specs

    corpus = {
        "get_weather": {"metadata": {"description": "Current weather for a city."}},
        "bad/name": {"metadata": {"description": "A name that could pass for another server's tool."}},
        "convert_currency": {"metadata": {"description": "Convert an amount between currencies."}},
    }
    with caplog.at_level(logging.WARNING, logger="hopscout.evaluation"):
        specs = dataset_specs(Dataset("mini", corpus, {}, {}))
    assert [s.name for s in specs] == ["get_weather", "convert_currency"]
    assert "bad/name" in caplog.text and "left out" in caplog.text
