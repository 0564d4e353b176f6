"""LlamaIndex adapter through LlamaIndex's own interfaces: a query engine over the retriever (MockLLM), the
tool spec's ``to_tool_list()``, an agent's ``tool_retriever``, and the LLM bridge."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from faces import COLLECTION, FIELD_SEARCH, QUERY, check_every_field_is_set, expected_fields
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata, MockLLM
from llama_index.core.objects import ObjectRetriever
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import MetadataMode, NodeWithScore, TextNode
from llama_index.core.tools import BaseTool, FunctionTool

from hopscout import InvalidArgumentError, Scout, Settings
from hopscout.adapters.llamaindex import (
    HopscoutRetriever,
    HopscoutToolRetriever,
    HopscoutToolSpec,
    LlamaIndexLLM,
)
from hopscout.demo import SAMPLE_DIR
from hopscout.errors import LLMUnavailableError
from hopscout.llm import LLM

DOCS = [
    ("Venus is the hottest planet in the solar system, hotter than Mercury.", {"topic": "space"}),
    ("Mars is a cold desert planet with a thin carbon dioxide atmosphere.", {"topic": "space"}),
    ("Jupiter is the largest planet; its Great Red Spot is a giant storm.", {"topic": "space"}),
    ("Grind finer if your espresso tastes sour; coarser if it tastes bitter.", {"topic": "coffee"}),
    ("Pour-over coffee wants water just off the boil, around 94 degrees.", {"topic": "coffee"}),
    ("A sourdough starter needs daily feeding with flour and water.", {"topic": "baking"}),
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
    assert nodes[0].node.get_content() == hits[0].text and nodes[0].node.metadata == hits[0].to_metadata()
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
    assert str(output).startswith("[1] (score") and "94 degrees" in str(output).split("\n\n")[0]
    assert "[3]" not in str(output) and "sour" in str(output)
    tool = HopscoutToolSpec(scout, k=1).to_tool_list()[0]
    assert "Jupiter" not in str(tool.call(query="tell me more"))
    assert "Jupiter" in str(tool.call(query="tell me more", expansion="Jupiter Great Red Spot"))


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
    assert [n.node.metadata for n in nodes] == [expected_fields(h) for h in hits]
    check_every_field_is_set([n.node.metadata for n in nodes])
    shown = nodes[0].node.get_content(metadata_mode=MetadataMode.LLM)  # what a query engine gives its LLM
    assert "source:" in shown and "scores:" not in shown and "hop_score" not in shown
