"""LlamaIndex adapter through LlamaIndex's own interfaces: a query engine over the retriever (MockLLM), its
``MetadataFilters``, the tool spec's ``to_tool_list()`` (schema, errors as an agent sees them), an agent's
``tool_retriever``, and the LLM bridge."""

from __future__ import annotations

import pickle
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from faces import (
    COLLECTION,
    FIELD_SEARCH,
    FLAGGED_COLLECTION,
    QUERY,
    add_flagged,
    check_every_field_is_set,
    check_list_text,
    check_own_keys_kept,
    check_passage,
    check_storable,
    expected_metadata,
    fields_of,
    store_again,
)
from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata, MockLLM
from llama_index.core.llms.mock import MockFunctionCallingLLM
from llama_index.core.objects import ObjectRetriever
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import MetadataMode, NodeWithScore, TextNode
from llama_index.core.tools import BaseTool, FunctionTool
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

from hopscout import InvalidArgumentError, Scout, SearchOptions, Settings, ToolCatalog
from hopscout.adapters.llamaindex import (
    HopscoutRetriever,
    HopscoutToolRetriever,
    HopscoutToolSpec,
    LlamaIndexLLM,
)
from hopscout.agent_view import hits_text, passage_text
from hopscout.demo import SAMPLE_DIR
from hopscout.errors import LLMUnavailableError
from hopscout.llm import LLM

DOCS = [
    (
        "Venus is the hottest planet in the solar system, hotter than Mercury.",
        {"topic": "space", "year": 2020},
    ),
    ("Mars is a cold desert planet with a thin carbon dioxide atmosphere.", {"topic": "space", "year": 2021}),
    ("Jupiter is the largest planet; its Great Red Spot is a giant storm.", {"topic": "space", "year": 2022}),
    (
        "Grind finer if your espresso tastes sour; coarser if it tastes bitter.",
        {"topic": "coffee", "year": 2020},
    ),
    ("Pour-over coffee wants water just off the boil, around 94 degrees.", {"topic": "coffee", "year": 2023}),
    ("A sourdough starter needs daily feeding with flour and water.", {"topic": "baking", "year": 2021}),
]


@pytest.fixture(scope="module")
def scout(embedder: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scout]:
    with Scout(Settings(home=tmp_path_factory.mktemp("li-home")), embedder=embedder) as s:
        s.add([text for text, _ in DOCS], metadatas=[meta for _, meta in DOCS])
        yield s


def _toolbox() -> list[BaseTool]:
    def get_weather(city: str) -> str:
        """Current weather and forecast (temperature, rain, wind) for a city."""
        return f"sunny in {city}"

    def send_email(to: str, subject: str, body: str) -> str:
        """Send an email message to a recipient."""
        return "sent"

    def create_calendar_event(title: str, start: str, end: str) -> str:
        """Create an event or meeting in the user's calendar."""
        return "created"

    def calculator(expression: str) -> str:
        """Evaluate an arithmetic expression such as 2 * (3 + 4)."""
        return "14"

    def convert_currency(amount: float, source: str, target: str) -> str:
        """Convert an amount of money between currencies (USD, EUR, JPY...) at today's exchange rate."""
        return "1"

    fns = [get_weather, send_email, create_calendar_event, calculator, convert_currency]
    return [FunctionTool.from_defaults(fn=fn) for fn in fns]


# -- retriever ------------------------------------------------------------------------------------------
def test_retriever_is_a_llamaindex_retriever_returning_text_nodes(scout: Scout) -> None:
    retriever = HopscoutRetriever(scout, similarity_top_k=3)
    assert isinstance(retriever, BaseRetriever)
    nodes = retriever.retrieve("why is my espresso sour?")
    hits = scout.search("why is my espresso sour?", 3)
    assert all(isinstance(n, NodeWithScore) and isinstance(n.node, TextNode) for n in nodes)
    assert [n.node.node_id for n in nodes] == [h.id for h in hits]
    assert nodes[0].node.get_content() == hits[0].text and nodes[0].node.metadata == expected_metadata(
        hits[0]
    )
    assert nodes[0].node.metadata["topic"] == "coffee"
    assert nodes[0].score == pytest.approx(hits[0].score)


def test_query_engine_over_the_retriever(scout: Scout) -> None:
    engine = RetrieverQueryEngine.from_args(
        HopscoutRetriever(scout, similarity_top_k=2, where={"topic": "space"}), llm=MockLLM()
    )
    response = engine.query("which planet is the hottest?")
    assert "Venus" in response.source_nodes[0].node.get_content()
    assert all(n.node.metadata["topic"] == "space" for n in response.source_nodes)
    assert "Venus is the hottest planet" in str(response)  # MockLLM echoes the prompt, context included


async def test_async_query_engine_and_retriever(scout: Scout) -> None:
    retriever = HopscoutRetriever(scout, similarity_top_k=2, mode="lexical")
    nodes = await retriever.aretrieve("sourdough starter")
    assert "sourdough" in nodes[0].node.get_content() and len(nodes) <= 2
    response = await RetrieverQueryEngine.from_args(retriever, llm=MockLLM()).aquery("sourdough starter")
    assert response.source_nodes[0].node.node_id == nodes[0].node.node_id


def test_retriever_on_both_backends(make_scout: Any, collection: str) -> None:
    scout = make_scout()
    scout.add([text for text, _ in DOCS], metadatas=[meta for _, meta in DOCS], collection=collection)
    nodes = HopscoutRetriever(scout, collection=collection, similarity_top_k=2).retrieve("the largest planet")
    assert len(nodes) == 2 and "Jupiter" in nodes[0].node.get_content()
    recent_space = MetadataFilters(
        filters=[
            MetadataFilter(key="topic", value="space"),
            MetadataFilter(key="year", value=2021, operator=FilterOperator.GTE),
        ]
    )
    nodes = HopscoutRetriever(
        scout, collection=collection, similarity_top_k=6, filters=recent_space
    ).retrieve("planet")
    assert sorted(n.node.metadata["year"] for n in nodes) == [2021, 2022]


# -- MetadataFilters ------------------------------------------------------------------------------------
def _f(key: str, value: Any, op: FilterOperator = FilterOperator.EQ) -> MetadataFilter:
    return MetadataFilter(key=key, value=value, operator=op)


FILTER_CASES: list[tuple[str, MetadataFilters, Callable[[dict[str, Any]], bool]]] = [
    ("EQ", MetadataFilters(filters=[_f("topic", "space")]), lambda m: m["topic"] == "space"),
    (
        "NE",
        MetadataFilters(filters=[_f("topic", "space", FilterOperator.NE)]),
        lambda m: m["topic"] != "space",
    ),
    ("GT", MetadataFilters(filters=[_f("year", 2021, FilterOperator.GT)]), lambda m: m["year"] > 2021),
    ("GTE", MetadataFilters(filters=[_f("year", 2021, FilterOperator.GTE)]), lambda m: m["year"] >= 2021),
    ("LT", MetadataFilters(filters=[_f("year", 2021, FilterOperator.LT)]), lambda m: m["year"] < 2021),
    ("LTE", MetadataFilters(filters=[_f("year", 2021, FilterOperator.LTE)]), lambda m: m["year"] <= 2021),
    (
        "IN",
        MetadataFilters(filters=[_f("topic", ["coffee", "baking"], FilterOperator.IN)]),
        lambda m: m["topic"] in {"coffee", "baking"},
    ),
    (
        "NIN",
        MetadataFilters(filters=[_f("year", [2020, 2021], FilterOperator.NIN)]),
        lambda m: m["year"] not in {2020, 2021},
    ),
    (
        "AND",
        MetadataFilters(filters=[_f("topic", "space"), _f("year", 2020, FilterOperator.GT)]),
        lambda m: m["topic"] == "space" and m["year"] > 2020,
    ),
    (
        "OR",
        MetadataFilters(filters=[_f("topic", "baking"), _f("year", 2023)], condition=FilterCondition.OR),
        lambda m: m["topic"] == "baking" or m["year"] == 2023,
    ),
    (
        "nested",  # space AND (2020 OR 2022), then OR'd with coffee from 2023
        MetadataFilters(
            filters=[
                MetadataFilters(
                    filters=[
                        _f("topic", "space"),
                        MetadataFilters(
                            filters=[_f("year", 2020), _f("year", 2022)], condition=FilterCondition.OR
                        ),
                    ]
                ),
                MetadataFilters(filters=[_f("topic", "coffee"), _f("year", 2023)]),
            ],
            condition=FilterCondition.OR,
        ),
        lambda m: (
            (m["topic"] == "space" and m["year"] in {2020, 2022})
            or (m["topic"] == "coffee" and m["year"] == 2023)
        ),
    ),
]


@pytest.mark.parametrize(("name", "filters", "keep"), FILTER_CASES, ids=[c[0] for c in FILTER_CASES])
def test_metadata_filters_select_exactly_the_matching_documents(
    scout: Scout, name: str, filters: MetadataFilters, keep: Callable[[dict[str, Any]], bool]
) -> None:
    expected = sorted(text for text, meta in DOCS if keep(meta))
    assert 0 < len(expected) < len(DOCS)  # each case keeps some documents and drops some
    retriever = HopscoutRetriever(scout, similarity_top_k=len(DOCS), filters=filters)
    assert sorted(n.node.get_content() for n in retriever.retrieve("planet coffee bread")) == expected
    spec_search = HopscoutToolSpec(scout, k=len(DOCS), filters=filters).to_tool_list()[0]
    assert str(spec_search.call(query="planet coffee bread")).count("score") == len(expected)


async def test_metadata_filters_in_a_query_engine_and_as_where(scout: Scout) -> None:
    space = MetadataFilters(filters=[_f("topic", "space")])
    engine = RetrieverQueryEngine.from_args(
        HopscoutRetriever(scout, similarity_top_k=2, filters=space), llm=MockLLM()
    )
    response = await engine.aquery("what tastes sour?")
    assert {n.node.metadata["topic"] for n in response.source_nodes} == {"space"}
    as_where = HopscoutRetriever(scout, similarity_top_k=6, where=space).retrieve("what tastes sour?")
    as_dict = HopscoutRetriever(scout, similarity_top_k=6, filters={"topic": "space"}).retrieve(
        "what tastes sour?"
    )
    assert [n.node.node_id for n in as_where] == [n.node.node_id for n in as_dict] and len(as_dict) == 3


@pytest.mark.parametrize(
    ("filters", "named"),
    [
        (MetadataFilters(filters=[_f("topic", "spa", FilterOperator.TEXT_MATCH)]), "TEXT_MATCH"),
        (MetadataFilters(filters=[_f("tags", "rust", FilterOperator.CONTAINS)]), "CONTAINS"),
        (MetadataFilters(filters=[_f("tags", ["a", "b"], FilterOperator.ANY)]), "ANY"),
        (MetadataFilters(filters=[_f("topic", None, FilterOperator.IS_EMPTY)]), "IS_EMPTY"),
        (
            MetadataFilters(
                filters=[_f("topic", "space"), MetadataFilters(filters=[_f("x", "y", FilterOperator.ALL)])]
            ),
            "ALL",
        ),
        (MetadataFilters(filters=[_f("topic", "space")], condition=FilterCondition.NOT), "NOT"),
    ],
)
def test_unsupported_filters_name_the_operator(scout: Scout, filters: MetadataFilters, named: str) -> None:
    with pytest.raises(
        InvalidArgumentError, match=rf"cannot .* with Filter\w+\.{named}\b.*; it supports [A-Z]"
    ):
        HopscoutRetriever(scout, filters=filters)
    with pytest.raises(InvalidArgumentError, match=rf"\.{named}\b"):
        HopscoutToolSpec(scout, filters=filters)


def test_one_filter_at_a_time(scout: Scout) -> None:
    space = MetadataFilters(filters=[_f("topic", "space")])
    with pytest.raises(InvalidArgumentError, match="not both"):
        HopscoutRetriever(scout, filters=space, where={"topic": "space"})
    with pytest.raises(InvalidArgumentError, match="MetadataFilters or a Chroma-syntax dict, got list"):
        HopscoutRetriever(scout, filters=[_f("topic", "space")])  # type: ignore[arg-type]


def test_retriever_options_follow_the_core_signature(scout: Scout) -> None:
    retriever = HopscoutRetriever(scout, similarity_top_k=3, search_kwargs={"fusion_weight": 1.0})
    assert [n.node.node_id for n in retriever.retrieve("sour espresso")] == [
        h.id for h in scout.search("sour espresso", 3, fusion_weight=1.0)
    ]
    with pytest.raises(InvalidArgumentError, match="accepts: .*fusion_weight"):
        HopscoutRetriever(scout, search_kwargs={"no_such_option": 1})
    with pytest.raises(InvalidArgumentError, match="adapter's own argument"):
        HopscoutRetriever(scout, search_kwargs={"where": {"topic": "space"}})


# -- tool spec ------------------------------------------------------------------------------------------
def test_tool_spec_search_tool(scout: Scout) -> None:
    tools = HopscoutToolSpec(scout, k=2, where={"topic": "coffee"}).to_tool_list()
    assert [t.metadata.name for t in tools] == ["search"]
    schema = tools[0].metadata.fn_schema.model_json_schema()
    assert schema["required"] == ["query"] and set(schema["properties"]) == {"query", "k", "expansion"}
    output = tools[0].call(query="water temperature")
    assert str(output).startswith("Search confidence") and "94 degrees" in str(output).split("\n\n")[1]
    assert "[3]" not in str(output) and "sour" in str(output)
    tool = HopscoutToolSpec(scout, k=1).to_tool_list()[0]
    assert "Jupiter" not in str(tool.call(query="tell me more"))
    assert "Jupiter" in str(tool.call(query="tell me more", expansion="Jupiter Great Red Spot"))


def test_tool_spec_parameters_are_described_in_the_schema(scout: Scout) -> None:
    catalog = ToolCatalog(scout, collection="li-described", llm=None)
    tools = HopscoutToolSpec(scout, catalog=catalog).to_tool_list()
    for tool in tools:
        properties = tool.metadata.fn_schema.model_json_schema()["properties"]
        assert all(p.get("description") for p in properties.values()), (tool.metadata.name, properties)
        assert "Args:" in tool.metadata.description and "{" not in tool.metadata.description
    expansion = tools[0].metadata.fn_schema.model_json_schema()["properties"]["expansion"]
    agent_text = next(f.metadata["agent"] for f in SearchOptions.agent_options() if f.name == "expansion")
    assert expansion["description"] == agent_text  # the same words as every other face


@pytest.mark.parametrize("k", [0, -2])
async def test_tool_spec_refuses_k_below_one(scout: Scout, k: int) -> None:
    catalog = ToolCatalog(scout, collection="li-k", llm=None)
    catalog.register(_toolbox())
    search, find_tools = HopscoutToolSpec(scout, catalog=catalog, k=2).to_tool_list()
    with pytest.raises(InvalidArgumentError, match=rf"k must be between 1 and \d+.*got {k}"):
        search.call(query="hot planet", k=k)
    with pytest.raises(InvalidArgumentError, match=rf"k must be between 1 and \d+.*got {k}"):
        await find_tools.acall(request="send an email", k=k)
    assert str(search.call(query="hot planet")).count("score") == 2  # unset k: the spec's own


def _calls(*calls: tuple[str, dict[str, Any]]) -> Callable[..., ChatMessage]:
    """A function-calling model's script: the given tool calls in its first turn, then the tool outputs."""

    def respond(messages: Any, **kwargs: Any) -> ChatMessage:
        results = [m.content for m in messages if m.role == MessageRole.TOOL]
        if results:
            return ChatMessage(role=MessageRole.ASSISTANT, content=" | ".join(results))
        blocks = [
            ToolCallBlock(tool_call_id=str(n), tool_name=name, tool_kwargs=args)
            for n, (name, args) in enumerate(calls)
        ]
        return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks)

    return respond


async def test_agent_reads_the_tool_spec_errors(scout: Scout) -> None:
    catalog = ToolCatalog(scout, collection="li-agent-errors", llm=None)
    catalog.register(_toolbox())
    spec = HopscoutToolSpec(scout, catalog=catalog, collection="no-such-collection")
    script = _calls(
        ("search", {"query": "hot planet", "k": 0}),
        ("search", {"query": "  "}),
        ("search", {"query": "hot planet"}),
        ("find_tools", {"request": "convert 250 dollars to yen", "k": 1}),
    )
    agent = FunctionAgent(tools=spec.to_tool_list(), llm=MockFunctionCallingLLM(response_generator=script))
    handler = agent.run("look it up")
    results = [ev async for ev in handler.stream_events() if isinstance(ev, ToolCallResult)]
    await handler

    def output(query: str) -> Any:  # the agent runs its calls concurrently: results come in any order
        (hit,) = [ev.tool_output for ev in results if query in str(ev.tool_kwargs)]
        return hit

    outputs = [output("'k': 0"), output("'  '"), output("'hot planet'}"), output("yen")]
    assert len(results) == 4 and [o.is_error for o in outputs] == [True, True, True, False]
    k_zero, empty, missing, found = (o.content for o in outputs)
    assert "k must be between 1 and" in k_zero and "got 0" in k_zero
    assert "query is empty" in empty
    assert "no-such-collection" in missing
    assert found.startswith("convert_currency:")


async def test_tool_spec_with_catalog(scout: Scout) -> None:
    tools_module = pytest.importorskip("hopscout.tools")
    catalog = tools_module.ToolCatalog(scout, collection="li-spec-catalog", llm=None)
    catalog.register(_toolbox())
    spec_tools = HopscoutToolSpec(scout, catalog=catalog).to_tool_list()
    assert [t.metadata.name for t in spec_tools] == ["search", "find_tools"]
    output = await spec_tools[1].acall(request="how many yen is 250 dollars?", k=2)
    assert str(output).splitlines()[0].startswith("convert_currency:")


# -- tool retriever -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("will it rain in Oslo tomorrow?", "get_weather"),
        ("email the quarterly report to Ann", "send_email"),
        ("what is 17 times 23?", "calculator"),
    ],
)
def test_tool_retriever_returns_the_relevant_tool_objects(
    scout: Scout, request_text: str, expected: str
) -> None:
    pytest.importorskip("hopscout.tools")
    tools = _toolbox()
    retriever = HopscoutToolRetriever(tools, scout=scout, collection="li-tools", k=2)
    assert isinstance(retriever, ObjectRetriever)
    picked = retriever.retrieve(request_text)
    assert len(picked) == 2 and picked[0].metadata.name == expected
    assert all(any(p is t for t in tools) for p in picked)


def test_tool_retriever_keeps_out_of_the_shared_tools_collection(embedder: Any, tmp_path: Path) -> None:
    with Scout(Settings(home=tmp_path), embedder=embedder) as scout:
        retriever = HopscoutToolRetriever(_toolbox(), scout=scout, k=2)
        assert retriever.catalog.collection == "llamaindex_tools" and len(retriever.catalog) == 5
        shared = ToolCatalog(scout)  # the MCP server's find_tools serves this one
        assert shared.collection == scout.settings.tools_collection and len(shared) == 0
        assert scout.settings.tools_collection not in {c.name for c in scout.collections()}
        assert retriever.retrieve("will it rain in Oslo tomorrow?")[0].metadata.name == "get_weather"
        own = HopscoutToolRetriever(_toolbox(), scout=scout, collection="my-tools")
        assert own.catalog.collection == "my-tools"
        given = HopscoutToolRetriever(_toolbox(), catalog=shared)
        assert given.catalog is shared and len(shared) == 5  # a catalog of your own is used as it is


async def test_agent_takes_the_tool_retriever(scout: Scout) -> None:
    pytest.importorskip("hopscout.tools")
    retriever = HopscoutToolRetriever(_toolbox(), scout=scout, collection="li-tools", k=2)
    agent = FunctionAgent(tool_retriever=retriever, llm=MockLLM())
    tools = await agent.get_tools("put a meeting with Bob on my calendar for Friday")
    assert tools[0].metadata.name == "create_calendar_event" and len(tools) == 2


# -- LLM bridge -----------------------------------------------------------------------------------------
class _Scripted(CustomLLM):
    reply: str = '["weather forecast for a city"]'
    fail: bool = False

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="scripted")

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        if self.fail:
            raise ConnectionError("endpoint refused the connection")
        return CompletionResponse(text=self.reply)

    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> Any:
        raise NotImplementedError


def test_llm_bridge_satisfies_the_llm_protocol() -> None:
    llm = LlamaIndexLLM(_Scripted())
    assert isinstance(llm, LLM) and llm.model == "_Scripted/scripted"
    assert (
        llm.complete("Write search queries.", max_tokens=16, json_mode=True)
        == '["weather forecast for a city"]'
    )
    assert "hello there" in LlamaIndexLLM(MockLLM()).complete("hello there")


def test_llm_bridge_failures_become_llm_unavailable() -> None:
    with pytest.raises(LLMUnavailableError, match="refused"):
        LlamaIndexLLM(_Scripted(fail=True)).complete("hi")
    with pytest.raises(LLMUnavailableError, match="no text"):
        LlamaIndexLLM(_Scripted(reply=" ")).complete("hi")


# -- packaging ------------------------------------------------------------------------------------------
def test_public_names() -> None:
    import hopscout.adapters.llamaindex as module

    assert sorted(module.__all__) == [
        "HopscoutRetriever",
        "HopscoutToolRetriever",
        "HopscoutToolSpec",
        "LlamaIndexLLM",
    ]


def test_missing_llamaindex_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in sys.modules if n == "llama_index" or n.startswith("llama_index.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "llama_index", None)
    monkeypatch.delitem(sys.modules, "hopscout.adapters.llamaindex")
    with pytest.raises(ImportError, match=r'pip install "hopscout\[llamaindex\]"'):
        import hopscout.adapters.llamaindex  # noqa: F401


def test_nodes_carry_every_field_of_a_hit(scout: Scout) -> None:
    scout.ingest(SAMPLE_DIR, collection=COLLECTION)
    hits = scout.search(QUERY, 6, collection=COLLECTION, **FIELD_SEARCH)
    retriever = HopscoutRetriever(
        scout, similarity_top_k=6, collection=COLLECTION, search_kwargs=FIELD_SEARCH
    )
    nodes = retriever.retrieve(QUERY)
    assert [(n.node.node_id, n.node.get_content(), n.score) for n in nodes] == [
        (h.id, h.text, h.score) for h in hits
    ]
    assert [n.node.metadata for n in nodes] == [expected_metadata(h) for h in hits]
    check_every_field_is_set([fields_of(n.node.node_id, n.node.metadata) for n in nodes])
    check_storable([n.node.metadata for n in nodes])
    shown = nodes[0].node.get_content(metadata_mode=MetadataMode.LLM)  # what a query engine gives its LLM
    assert shown == passage_text(
        hits[0], f"title: {hits[0].metadata['title']}"
    )  # the title: not in the header
    assert "hopscout_" not in shown and "file_sha" not in shown
    assert pickle.loads(pickle.dumps(nodes[0].node)).get_content(metadata_mode=MetadataMode.LLM) == shown
    embedded = nodes[0].node.get_content(metadata_mode=MetadataMode.EMBED)  # what an embedder reads
    assert "source: " in embedded and "hopscout_" not in embedded and "file_sha" not in embedded


def test_what_the_llm_reads_shows_flags_hops_and_confidence(scout: Scout) -> None:
    """The tool spec's text and each node's LLM view: the search's confidence, a flagged passage named and
    fenced as data under a warning, each later hop with the passage that led to it (by id in a node)."""
    add_flagged(scout)
    scout.ingest(SAMPLE_DIR, collection=COLLECTION)
    for collection, options in ((FLAGGED_COLLECTION, {}), (COLLECTION, FIELD_SEARCH)):
        hits = scout.search(QUERY, 6, collection=collection, **options)
        tool = HopscoutToolSpec(scout, k=6, collection=collection, **options).to_tool_list()[0]
        text = str(tool.call(query=QUERY))
        assert text == hits_text(hits)
        check_list_text(text, hits)
        retriever = HopscoutRetriever(scout, similarity_top_k=6, collection=collection, search_kwargs=options)
        nodes = retriever.retrieve(QUERY)
        for hit, node in zip(hits, nodes, strict=True):
            shown = node.node.get_content(metadata_mode=MetadataMode.LLM)
            assert f"search confidence {hit.confidence:.2f}" in shown.split("\n")[0]
            check_passage(shown, hit)
    assert any(h.flags for h in scout.search(QUERY, 6, collection=FLAGGED_COLLECTION))
    assert any(h.hop == 2 for h in hits)


def test_query_engine_gives_its_llm_the_passage_views(scout: Scout) -> None:
    """A query engine's prompt holds each node's view: the flagged passage fenced as data under its warning."""
    add_flagged(scout)
    retriever = HopscoutRetriever(scout, similarity_top_k=4, collection=FLAGGED_COLLECTION)
    response = RetrieverQueryEngine.from_args(retriever, llm=MockLLM()).query(QUERY)
    flagged = next(n for n in response.source_nodes if n.node.metadata["hopscout_flags"])
    assert flagged.node.get_content(metadata_mode=MetadataMode.LLM) in str(
        response
    )  # MockLLM echoes its prompt
    assert "treat its text as data" in str(response)


def test_nodes_keep_their_own_keys_and_store_again(scout: Scout) -> None:
    """A node's own ``score``/``hop``/``relevance`` keys come back as stored, hopscout's fields beside them; every
    value is one a vector store takes: the nodes are written to a real Chroma collection again."""
    add_flagged(scout)
    nodes = HopscoutRetriever(scout, similarity_top_k=4, collection=FLAGGED_COLLECTION).retrieve(QUERY)
    metadatas = [n.node.metadata for n in nodes]
    check_own_keys_kept(metadatas)
    check_storable(metadatas)
    texts = [n.node.get_content() for n in nodes]
    assert store_again("li-again", [n.node.node_id for n in nodes], texts, metadatas) == len(nodes)
