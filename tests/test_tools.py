"""ToolCatalog on embedded Chroma and a Chroma server: registering every tool shape, no-op re-registers,
replacement, removal, namespaces, exact-name lookups, quality on a Seal-Tools cut, bad input, LLM fallbacks,
and the generated-query and expansion paths against a real local LLM server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hopscout import (
    InvalidArgumentError,
    InvalidQueryError,
    LLMClient,
    SearchOptions,
    ToolCatalog,
    ToolNotFoundError,
    ToolSpec,
)
from hopscout.evaluation.datasets import load_dataset
from hopscout.evaluation.tools import dataset_specs
from hopscout.llm.replies import parse_list
from hopscout.metrics import mean, per_query
from hopscout.scout import engine_of
from hopscout.tools.queries import decompose
from hopscout.tools.spec import to_spec, tool_document

FIXTURES = Path(__file__).parent / "fixtures"

WEATHER_MCP = {
    "name": "get_forecast",
    "description": "Weather forecast for a city and day",
    "inputSchema": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}}},
}
EMAIL_OPENAI = {
    "type": "function",
    "function": {
        "name": "sendEmail",
        "description": "Send an email to a recipient",
        "parameters": {"type": "object", "properties": {"to": {"type": "string", "description": "Address"}}},
    },
}
STOCK_BARE = {
    "name": "stock_price",
    "description": "Latest share price of a listed company",
    "parameters": {"type": "object", "properties": {"ticker": {"type": "string"}}},
}


def test_every_tool_shape_registers(make_scout: Any, collection: str, tmp_path: Path) -> None:
    from langchain_core.tools import StructuredTool
    from llama_index.core.tools import FunctionTool

    def translate_text(text: str, target_language: str) -> str:
        """Translate text into another language."""
        return text

    def convert_currency(amount: float, currency: str) -> float:
        """Convert an amount of money into another currency."""
        return amount

    catalog = ToolCatalog(make_scout(), collection=collection)
    report = catalog.register(
        [
            WEATHER_MCP,
            EMAIL_OPENAI,
            STOCK_BARE,
            ToolSpec("book_flight", "Book a plane ticket", {}),
            StructuredTool.from_function(translate_text),
            FunctionTool.from_defaults(convert_currency),
        ]
    )
    assert sorted(report.added) == [
        "book_flight",
        "convert_currency",
        "get_forecast",
        "sendEmail",
        "stock_price",
        "translate_text",
    ]
    assert set(catalog.get("translate_text").input_schema["properties"]) == {"text", "target_language"}
    assert "amount" in catalog.get("convert_currency").input_schema["properties"]
    assert catalog.get("sendEmail").input_schema["properties"]["to"]["description"] == "Address"
    path = tmp_path / "tools.json"
    path.write_text(json.dumps({"tools": [{"name": "list_files", "description": "List files in a folder"}]}))
    assert catalog.register_file(path, namespace="fs").added == ("fs/list_files",)
    hits = catalog.find_tools("what will the weather be in Paris tomorrow", k=3)
    assert hits.hits[0].key == "get_forecast" and hits.hits[0].schema == WEATHER_MCP["inputSchema"]
    assert hits.queries[0] == "what will the weather be in Paris tomorrow" and hits.generated is False
    assert catalog.find_tools("show me the files in my folder", k=1).hits[0].to_dict()["namespace"] == "fs"


def test_reregister_noop_replace_remove_namespaces(make_scout: Any, collection: str) -> None:
    scout = make_scout()
    catalog = ToolCatalog(scout, collection=collection)
    assert catalog.register([WEATHER_MCP, STOCK_BARE]).added == ("get_forecast", "stock_price")
    count = scout.collections()[[c.name for c in scout.collections()].index(collection)].count
    again = catalog.register([WEATHER_MCP, STOCK_BARE])
    assert again.added == () and again.replaced == () and again.unchanged == ("get_forecast", "stock_price")
    changed = {**STOCK_BARE, "description": "Crypto coin prices in dollars"}
    assert catalog.register([changed]).replaced == ("stock_price",)
    assert catalog.get("stock_price").description == "Crypto coin prices in dollars"
    assert {c.name: c.count for c in scout.collections()}[collection] == count  # replaced, not duplicated
    assert catalog.find_tools("bitcoin price", k=1).hits[0].key == "stock_price"
    catalog.register([WEATHER_MCP], namespace="srv-a")
    catalog.register([{**WEATHER_MCP, "description": "Tide tables for a harbour"}], namespace="srv-b")
    assert {t.key for t in catalog.tools()} == {
        "get_forecast",
        "stock_price",
        "srv-a/get_forecast",
        "srv-b/get_forecast",
    }
    only_b = catalog.find_tools("weather forecast", k=5, namespaces=["srv-b"])
    assert [h.key for h in only_b] == ["srv-b/get_forecast"]
    assert catalog.remove(["get_forecast"], namespace="srv-a") == 1
    assert catalog.remove(["get_forecast", "nope"]) == 1
    assert {t.key for t in ToolCatalog(scout, collection=collection).tools()} == {
        "stock_price",
        "srv-b/get_forecast",
    }
    with pytest.raises(ToolNotFoundError, match="srv-b/get_forecast"):
        catalog.get("get_forecast")


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)  # 200 tools: encoded once, on one backend
def test_exact_name_first_and_quality_on_seal_cut(make_scout: Any, collection: str) -> None:
    mini_catalog = ToolCatalog(make_scout(), collection=collection)
    mini_catalog.register(dataset_specs(load_dataset(FIXTURES / "tools_mini")))
    dataset = load_dataset(FIXTURES / "tools_mini")
    names = list(dataset.corpus)
    for name in names[::20]:
        assert mini_catalog.find_tools(name, k=3).hits[0].name == name
    assert mini_catalog.find_tools(f"please call {names[7]} now", k=3).hits[0].name == names[7]
    scout = mini_catalog.scout
    qids = dataset.judged_queries
    dense = engine_of(scout).search(  # Scout.search refuses a tool catalog's collection; the engine does not
        [dataset.queries[q] for q in qids],
        SearchOptions.build(10, {"mode": "dense", "collection": mini_catalog.collection}),
    )
    batch = mini_catalog.find_tools_batch([dataset.queries[q] for q in qids], k=10)
    found = {q: result.keys for q, result in zip(qids, batch)}
    base = mean(per_query({q: [h.id for h in hs] for q, hs in zip(qids, dense)}, dataset.qrels))
    ours = mean(per_query(found, dataset.qrels))
    assert ours["ndcg@10"] >= base["ndcg@10"] and ours["all@10"] >= base["all@10"]


def test_bad_input(make_scout: Any, collection: str) -> None:
    catalog = ToolCatalog(make_scout(), collection=collection)
    assert catalog.find_tools("anything", k=3).hits == []  # empty catalog: no error
    catalog.register([WEATHER_MCP])
    for request in ("", "   ", "x" * 9000, None, 42):
        with pytest.raises(InvalidQueryError):
            catalog.find_tools(request, k=3)  # type: ignore[arg-type]
    for k in (0, -1, 10_000, 2.5, "3", True):
        with pytest.raises(InvalidArgumentError):
            catalog.find_tools("weather", k=k)  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError):
        catalog.find_tools("weather", queries="not a list")  # type: ignore[arg-type]
    with pytest.raises(InvalidQueryError):
        catalog.find_tools("weather", queries=["ok", ""])
    # a tool that cannot enter the catalog is skipped, with why; the others of the call are registered
    report = catalog.register(
        [
            STOCK_BARE,
            {"name": "bad", "description": 7},
            {"name": "x", "inputSchema": "nope"},
            {"description": "no name"},
            {"name": "y", "description": "z" * 9000},
        ]
    )
    assert report.added == ("stock_price",)
    assert report.skipped == {
        "bad": "field 'description' must be a string, got int",
        "x": "field 'input schema' must be a JSON object, got str",
        "#3": "field 'name' is missing (keys: ['description'])",
        "y": "field 'description' has 9000 characters (limit 8000); shorten it",
    }
    assert report.to_dict()["skipped"] == report.skipped
    with pytest.raises(InvalidArgumentError, match=r"tool #1 'bad': field 'description'"):
        to_spec({"name": "bad", "description": 7}, position=1)  # one tool alone: an error
    with pytest.raises(InvalidArgumentError, match="given twice"):
        catalog.register([WEATHER_MCP, WEATHER_MCP])
    with pytest.raises(InvalidArgumentError):
        catalog.register(WEATHER_MCP)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="namespace: 'srv/a' is not a namespace"):
        catalog.register([WEATHER_MCP], namespace="srv/a")
    with pytest.raises(InvalidArgumentError, match="namespaces"):
        catalog.find_tools("weather", namespaces="srv")  # type: ignore[arg-type]
    # the failed registers wrote nothing
    assert [t.key for t in catalog.tools()] == ["get_forecast", "stock_price"]


def test_document_and_query_helpers() -> None:
    doc = tool_document(
        ToolSpec(
            "getFilmDetails", "Details of a film", {"properties": {"film_title": {"description": "Title"}}}
        )
    )
    assert doc.startswith("get film details\nDetails of a film") and "film_title (film title): Title" in doc
    assert tool_document(ToolSpec("Now", "Google Trends")).startswith("now\n")  # a brand is not said twice
    # a name without Latin letters stays as it is
    assert tool_document(ToolSpec("天气", "Weather")).startswith("天气\n")
    steps = decompose(
        "Book a flight to Rome for May 3rd. Then reserve a hotel near the Colosseum, "
        "and also rent a car at the airport."
    )
    assert steps == [
        "Book a flight to Rome for May 3rd",
        "reserve a hotel near the Colosseum",
        "rent a car at the airport",
    ]
    assert decompose("What is the weather in Paris?") == []
    assert parse_list('{"queries": ["get weather", "book hotel"]}') == ["get weather", "book hotel"]
    assert parse_list("Sure:\n1. get weather\n- book hotel\n- get weather") == ["get weather", "book hotel"]
    assert parse_list('```json\n{"queries": []}\n```') == []
    assert parse_list('{"queries": ["get weather forecast", "book a hotel room", "trunc') == [
        "get weather forecast",
        "book a hotel room",
    ]  # cut by the token cap: complete values kept
    assert parse_list('{"queries": ["json", "..."]}') == []  # one-word junk from tiny models dropped


def test_dead_llm_falls_back_with_note(make_scout: Any, collection: str) -> None:
    catalog = ToolCatalog(
        make_scout(), collection=collection, llm=LLMClient("http://127.0.0.1:9/v1", max_retries=0)
    )
    catalog.register([WEATHER_MCP, STOCK_BARE])
    result = catalog.find_tools("weather in Oslo", k=2)
    assert result.hits[0].key == "get_forecast" and not result.generated
    assert "unreachable" in (result.note or "") and "used the raw request only" in (result.note or "")
    report = catalog.register([EMAIL_OPENAI], expand=True)
    assert (
        report.added == ("sendEmail",)
        and report.expanded == ()
        and "without expansion" in (report.note or "")
    )
    given = catalog.find_tools("weather in Oslo", k=2, queries=["city weather forecast"])
    assert given.note is None and given.queries == ["weather in Oslo", "city weather forecast"]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_real_llm_generation_and_expansion(make_scout: Any, collection: str, llm_url: str) -> None:
    llm = LLMClient(llm_url, timeout=60, max_tokens=64)
    catalog = ToolCatalog(make_scout(), collection=collection, llm=llm)
    tools = [
        WEATHER_MCP,
        EMAIL_OPENAI,
        STOCK_BARE,
        {"name": "book_hotel", "description": "Reserve a hotel room"},
    ]
    report = catalog.register(tools, expand=True)
    # One LLM call per tool; a 135M model's reply for a tool may parse to nothing usable, so not every tool
    # needs to gain views, but some must.
    assert report.note is None and llm.calls == 4 and 1 <= len(report.expanded) <= 4
    views = {c.name: c.count for c in catalog.scout.collections()}[collection]
    assert views > 4  # the tool documents plus the synthetic requests that parsed
    calls = llm.calls
    assert catalog.register(tools, expand=True).unchanged == (
        "get_forecast",
        "sendEmail",
        "stock_price",
        "book_hotel",
    )
    assert llm.calls == calls  # unchanged tools, cached expansions: no LLM call
    result = catalog.find_tools("email my boss the weather forecast for Rome", k=3)
    assert result.queries[0] == "email my boss the weather forecast for Rome" and len(result.hits) == 3
    assert result.note is None or "no usable query" in result.note
    calls = llm.calls
    again = catalog.find_tools("email my boss the weather forecast for Rome", k=3)
    assert llm.calls == calls and again.queries == result.queries  # generated queries are cached
    fresh = ToolCatalog(catalog.scout, collection=collection, llm=llm)
    assert fresh.find_tools("email my boss the weather forecast for Rome", k=3).queries == result.queries
    assert llm.calls == calls  # the cache is persisted under settings.home


# -- shapes of published tool catalogs ---------------------------------------------------------------------
OPENAPI_OPERATION = {  # an OpenAPI operation: operationId, summary, parameters as a list
    "operationId": "getPetById",
    "summary": "Find a pet in the store by its id",
    "parameters": [
        {
            "name": "petId",
            "in": "path",
            "required": True,
            "description": "Id of the pet",
            "schema": {"type": "integer"},
        },
        {"name": "fields", "in": "query", "description": "Fields to return", "schema": {"type": "string"}},
    ],
}
SEAL_STYLE = {  # Seal-Tools and other API sets: api_name, api_description, name → {type, description}
    "api_name": "getFilmDetails",
    "api_description": "Details of a film: director, cast and year",
    "parameters": {"title": {"type": "str", "description": "Title of the film"}},
    "required": ["title"],
    "responses": {"details": {"type": "str", "description": "The film's details"}},
}
API_WITH_DESCRIPTION = {  # an API set that keeps the text under "description" beside api_name
    "api_name": "convertUnits",
    "description": "Convert a value between units of length, mass or temperature",
    "parameters": [{"name": "value", "description": "The value", "schema": {"type": "number"}}],
}


@pytest.mark.parametrize(
    ("tool", "name", "description", "properties", "required"),
    [
        (
            OPENAPI_OPERATION,
            "getPetById",
            "Find a pet in the store by its id",
            {
                "petId": {"type": "integer", "description": "Id of the pet"},
                "fields": {"type": "string", "description": "Fields to return"},
            },
            ["petId"],
        ),
        (
            SEAL_STYLE,
            "getFilmDetails",
            "Details of a film: director, cast and year",
            {"title": {"type": "string", "description": "Title of the film"}},
            ["title"],
        ),
        (
            API_WITH_DESCRIPTION,
            "convertUnits",
            "Convert a value between units of length, mass or temperature",
            {"value": {"type": "number", "description": "The value"}},
            None,
        ),
    ],
)
def test_published_catalog_shapes_keep_name_description_and_parameters(
    tool: dict[str, Any], name: str, description: str, properties: dict[str, Any], required: list[str] | None
) -> None:
    spec = to_spec(tool)
    assert (spec.name, spec.description) == (name, description)
    assert spec.input_schema["properties"] == properties and spec.input_schema.get("required") == required
    document = tool_document(spec)
    assert description in document and all(f"- {p}" in document for p in properties)


def test_dataset_specs_read_every_shape_in_metadata(tmp_path: Path) -> None:
    folder = tmp_path / "apis"
    folder.mkdir()
    corpus = [
        {"_id": t.get("operationId") or t["api_name"], "title": "", "text": "", "metadata": {"schema": t}}
        for t in (OPENAPI_OPERATION, SEAL_STYLE, API_WITH_DESCRIPTION)
    ]
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(row) for row in corpus))
    (folder / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "which pet has id 7"}))
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\tgetPetById\t1\n")
    specs = {s.name: s for s in dataset_specs(load_dataset(folder))}
    assert set(specs) == {"getPetById", "getFilmDetails", "convertUnits"}
    assert all(s.description and s.input_schema["properties"] for s in specs.values())


# -- views written elsewhere --------------------------------------------------------------------------------
def test_register_views_written_elsewhere(make_scout: Any, collection: str) -> None:
    catalog = ToolCatalog(make_scout(), collection=collection)
    tools = [WEATHER_MCP, EMAIL_OPENAI, STOCK_BARE]
    views = {"stock_price": ["how is ACME trading today", "what is Tesla worth per share right now"]}
    assert catalog.register(tools, views=views).expanded == ("stock_price",)
    hit = catalog.find_tools("is ACME trading up today", k=1).hits[0]
    assert hit.key == "stock_price"
    assert catalog.register(tools, views=views).expanded == ()  # the same views again: nothing to do
    changed = {"stock_price": ["share price of a company"], "get_forecast": ["will it rain tomorrow in Oslo"]}
    report = catalog.register(tools, views=changed)
    assert sorted(report.expanded) == ["get_forecast", "stock_price"] and report.added == ()
    assert (
        catalog.find_tools("how is ACME trading today", k=1).hits[0].key == "stock_price"
    )  # still by its text
    with pytest.raises(InvalidArgumentError, match="not among the tools"):
        catalog.register(tools, views={"nope": ["a request"]})
    with pytest.raises(InvalidArgumentError, match="list of strings"):
        catalog.register(tools, views={"stock_price": "a request"})


# -- recorded LLM outputs replayed as the LLM ---------------------------------------------------------------
def test_recorded_outputs_replay_as_the_llm(make_scout: Any, collection: str, tmp_path: Path) -> None:
    from hopscout import ReplayLLM

    recorded = tmp_path / "recorded.jsonl"
    recorded.write_text(
        "\n".join(
            json.dumps(row)
            for row in [
                {"_id": "stock_price", "requests": ["how is ACME trading today", "Tesla share price now"]},
                {"_id": "q1", "queries": ["current stock price of a company", "send an email"]},
            ]
        )
    )
    request = "I own some ACME; tell my broker what it trades at"
    llm = ReplayLLM.from_jsonl(recorded, subjects={"q1": request})
    catalog = ToolCatalog(make_scout(), collection=collection, llm=llm)
    report = catalog.register([WEATHER_MCP, EMAIL_OPENAI, STOCK_BARE], expand=True)
    assert report.expanded == ("stock_price",) and "no recorded views for 2 tools" in (report.note or "")
    found = catalog.find_tools(request, k=3)
    assert found.generated and found.queries[1:] == ["current stock price of a company", "send an email"]
    assert {h.key for h in found.hits[:2]} == {"stock_price", "sendEmail"}
    other = catalog.find_tools("weather in Paris", k=1)  # no recording for this request: LLM-free, said so
    assert not other.generated and "no recorded" in (other.note or "")


# -- how a tool's score is made --------------------------------------------------------------------------------
TRAVEL = [
    {"name": "book_flight", "description": "Book a seat on a commercial airline flight between two airports"},
    {"name": "reserve_hotel", "description": "Reserve a hotel room for given dates in a city"},
    {"name": "rent_car", "description": "Rent a car at an airport or in a city"},
    {
        "name": "travel_insurance",
        "description": "Buy insurance that covers a trip, its luggage and its delays",
    },
    {"name": "currency_rates", "description": "Exchange rates between currencies, updated hourly"},
]


def test_caller_queries_lead_and_the_request_breaks_ties(make_scout: Any, collection: str) -> None:
    catalog = ToolCatalog(make_scout(), collection=collection)
    catalog.register(TRAVEL)
    request = "sort out my trip to Lisbon next month"
    plain = catalog.find_tools(request, k=5)
    planned = catalog.find_tools(request, k=5, queries=["book a plane ticket", "reserve a hotel room"])
    assert {h.key for h in planned.hits[:2]} == {"book_flight", "reserve_hotel"}, [
        h.key for h in planned.hits
    ]
    assert {h.query for h in planned.hits[:2]} == {"book a plane ticket", "reserve a hotel room"}
    assert plain.queries == [request] and planned.queries[0] == request


def test_a_view_finds_a_tool_its_description_does_not(make_scout: Any, collection: str) -> None:
    catalog = ToolCatalog(make_scout(), collection=collection)
    tools = [
        *TRAVEL,
        {"name": "zorblex", "description": "The all-in-one assistant for modern teams."},
        {"name": "spell_check", "description": "Check the spelling and grammar of an English text or email"},
    ]
    request = "put my email into French"
    catalog.register(tools)
    assert catalog.find_tools(request, k=3).hits[0].key != "zorblex"  # its description says nothing of it
    catalog.register(
        tools, views={"zorblex": ["translate this paragraph into French", "say this in Spanish"]}
    )
    assert catalog.find_tools(request, k=3).hits[0].key == "zorblex"


def test_a_second_catalog_sees_a_swap_that_keeps_the_count(make_scout: Any, collection: str) -> None:
    scout = make_scout()
    writer, reader = ToolCatalog(scout, collection=collection), ToolCatalog(scout, collection=collection)
    writer.register([{"name": "get_weather", "description": "Weather forecast for a city"}])
    assert [h.key for h in reader.find_tools("will it rain in Oslo?", k=1).hits] == ["get_weather"]
    writer.remove(["get_weather"])  # one tool out, another in: the count stays 1
    writer.register([{"name": "convert_currency", "description": "Convert an amount between currencies"}])
    assert [h.key for h in reader.find_tools("how many euros is 20 dollars?", k=1).hits] == [
        "convert_currency"
    ]
    assert [spec.name for spec in reader.tools()] == ["convert_currency"]
