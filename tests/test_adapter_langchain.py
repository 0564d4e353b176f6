"""LangChain adapter: the langchain-tests standard suites, plus what they do not cover (filters, pass-through
options, tool errors as error ToolMessages, the tool selector and its collection, the chat-model bridge, the
missing-extra error)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
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
    check_storable,
    expected_metadata,
    fields_of,
    store_again,
)
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel, ParrotFakeChatModel
from langchain_core.messages import ToolMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import BaseTool, StructuredTool, tool
from langchain_tests.integration_tests import RetrieversIntegrationTests, ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from hopscout import InvalidArgumentError, Scout, Settings, ToolCatalog
from hopscout.adapters.langchain import (
    HopscoutRetriever,
    HopscoutToolSelector,
    LangChainLLM,
    create_find_tools_tool,
    create_search_tool,
)
from hopscout.agent_view import hits_text
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
    """One small embedded store for the whole module (the standard suites build many retrievers)."""
    with Scout(Settings(home=tmp_path_factory.mktemp("lc-home")), embedder=embedder) as s:
        s.add([text for text, _ in DOCS], metadatas=[meta for _, meta in DOCS])
        yield s


@pytest.fixture(scope="module")
def catalog(scout: Scout) -> Any:
    tools = pytest.importorskip("hopscout.tools")
    cat = tools.ToolCatalog(scout, collection="lc-catalog", llm=None)
    cat.register(_toolbox())
    return cat


def _toolbox() -> list[BaseTool]:
    @tool
    def get_weather(city: str) -> str:
        """Current weather and forecast (temperature, rain, wind) for a city."""
        return f"sunny in {city}"

    @tool
    def send_email(to: str, subject: str, body: str) -> str:
        """Send an email message to a recipient."""
        return "sent"

    @tool
    def create_calendar_event(title: str, start: str, end: str) -> str:
        """Create an event or meeting in the user's calendar."""
        return "created"

    @tool
    def read_file(path: str) -> str:
        """Read a text file from the local disk."""
        return ""

    @tool
    def calculator(expression: str) -> str:
        """Evaluate an arithmetic expression such as 2 * (3 + 4)."""
        return "14"

    @tool
    def convert_currency(amount: float, source: str, target: str) -> str:
        """Convert an amount of money between currencies (USD, EUR, JPY...) at today's exchange rate."""
        return "1"

    return [get_weather, send_email, create_calendar_event, read_file, calculator, convert_currency]


# -- standard suites --------------------------------------------------------------------------------------
class TestHopscoutRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _store(self, scout: Scout) -> None:
        self._scout = scout

    @property
    def retriever_constructor(self) -> type[HopscoutRetriever]:
        return HopscoutRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"scout": self._scout, "k": 2}

    @property
    def retriever_query_example(self) -> str:
        return "which planet is the hottest?"


class _SearchTool:
    @pytest.fixture(autouse=True)
    def _store(self, scout: Scout) -> None:
        self._tool = create_search_tool(scout, k=3)

    @property
    def tool_constructor(self) -> BaseTool:
        return self._tool

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": "why is my espresso sour?", "k": 2}


class _FindToolsTool:
    @pytest.fixture(autouse=True)
    def _store(self, catalog: Any) -> None:
        self._tool = create_find_tools_tool(catalog)

    @property
    def tool_constructor(self) -> BaseTool:
        return self._tool

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"request": "will it rain in Oslo tomorrow?", "k": 3}


class TestSearchToolUnit(_SearchTool, ToolsUnitTests):
    pass


class TestSearchToolIntegration(_SearchTool, ToolsIntegrationTests):
    pass


class TestFindToolsToolUnit(_FindToolsTool, ToolsUnitTests):
    pass


class TestFindToolsToolIntegration(_FindToolsTool, ToolsIntegrationTests):
    pass


# -- retriever ------------------------------------------------------------------------------------------
def test_retriever_is_a_langchain_retriever_and_returns_the_core_ranking(scout: Scout) -> None:
    retriever = HopscoutRetriever(scout=scout, k=3)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("why is my espresso sour?")
    hits = scout.search("why is my espresso sour?", 3)
    assert [d.id for d in docs] == [h.id for h in hits]
    assert docs[0].page_content == hits[0].text
    assert docs[0].metadata["topic"] == "coffee"
    assert docs[0].metadata["hopscout_score"] == pytest.approx(hits[0].score)
    assert {k for k in docs[0].metadata if k.startswith("hopscout_score_")} <= {
        "hopscout_score_fused",
        "hopscout_score_dense",
        "hopscout_score_lexical",
    }


def test_retriever_on_both_backends(make_scout: Any, collection: str) -> None:
    scout = make_scout()
    scout.add([text for text, _ in DOCS], metadatas=[meta for _, meta in DOCS], collection=collection)
    retriever = HopscoutRetriever(scout=scout, collection=collection, k=2, filter={"topic": "space"})
    docs = retriever.invoke("the largest planet")
    assert len(docs) == 2 and all(d.metadata["topic"] == "space" for d in docs)
    assert "Jupiter" in docs[0].page_content


def test_per_call_options_override_the_constructor(scout: Scout) -> None:
    retriever = HopscoutRetriever(scout=scout, k=4, where={"topic": "space"})
    assert {d.metadata["topic"] for d in retriever.invoke("coffee")} == {"space"}
    docs = retriever.invoke("coffee", k=1, filter={"topic": "coffee"}, mode="lexical")
    assert len(docs) == 1 and docs[0].metadata["topic"] == "coffee"
    assert {k for k in docs[0].metadata if k.startswith("hopscout_score_")} == {"hopscout_score_lexical"}
    docs = retriever.invoke("planet", where={"$and": [{"topic": "space"}, {"year": {"$gte": 2021}}]})
    assert {d.metadata["year"] for d in docs} == {2021, 2022}
    with pytest.raises(ValueError, match="not both"):
        retriever.invoke("x", where={"topic": "space"}, filter={"topic": "space"})


def test_search_kwargs_follow_the_core_signature(scout: Scout) -> None:
    lexical_only = HopscoutRetriever(scout=scout, k=3, search_kwargs={"fusion_weight": 1.0})
    assert [d.id for d in lexical_only.invoke("sour espresso")] == [
        h.id for h in scout.search("sour espresso", 3, fusion_weight=1.0)
    ]
    with pytest.raises(ValueError, match="accepts: .*fusion_weight"):
        HopscoutRetriever(scout=scout, search_kwargs={"no_such_option": 2})
    with pytest.raises(InvalidArgumentError, match="no option 'no_such_option'"):
        HopscoutRetriever(scout=scout).invoke("planet", no_such_option=2)
    with pytest.raises(ValueError, match="adapter's own argument"):
        HopscoutRetriever(scout=scout, search_kwargs={"k": 2})


async def test_async_matches_sync(scout: Scout) -> None:
    retriever = HopscoutRetriever(scout=scout, k=3)
    sync = retriever.invoke("hot planet", k=2)
    result = await retriever.ainvoke("hot planet", k=2)
    assert [d.id for d in result] == [d.id for d in sync] and len(result) == 2
    batch = await retriever.abatch(["hot planet", "bread starter"])
    assert "Venus" in batch[0][0].page_content and "sourdough" in batch[1][0].page_content


# -- tools ----------------------------------------------------------------------------------------------
def test_search_tool_content_and_artifact(scout: Scout) -> None:
    search = create_search_tool(scout, k=2, where={"topic": "coffee"})
    assert isinstance(search, StructuredTool) and search.response_format == "content_and_artifact"
    assert search.args["k"]["default"] == 2 and set(search.args) == {"query", "k", "expansion"}
    message = search.invoke(
        {"name": "search", "args": {"query": "water temperature"}, "id": "1", "type": "tool_call"}
    )
    assert "94 degrees" in message.content.split("\n\n")[1]  # after the search's confidence
    assert all(isinstance(d, Document) and d.metadata["topic"] == "coffee" for d in message.artifact)
    assert len(message.artifact) == 2
    # the model's own expansion is searched too and fused with the query's results
    tool = create_search_tool(scout, k=1)
    assert "Jupiter" not in tool.invoke({"query": "tell me more"})
    assert "Jupiter" in tool.invoke({"query": "tell me more", "expansion": "Jupiter Great Red Spot"})
    built_with_prf = create_search_tool(
        scout, k=1, augment="auto", augmenter="rocchio"
    )  # the model's text wins
    assert "Jupiter" in built_with_prf.invoke(
        {"query": "tell me more", "expansion": "Jupiter Great Red Spot"}
    )


def test_find_tools_tool_names_the_tools(catalog: Any) -> None:
    find = create_find_tools_tool(catalog, k=2)
    message = find.invoke(
        {
            "name": "find_tools",
            "args": {"request": "will it rain in Oslo tomorrow?"},
            "id": "1",
            "type": "tool_call",
        }
    )
    assert message.content.splitlines()[0].startswith("get_weather:")
    assert message.artifact.keys[0] == "get_weather" and len(message.artifact.hits) == 2


def _call(tool: BaseTool, **args: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": "1", "name": tool.name, "args": args}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"query": ""}, "search failed: a query is empty"),
        ({"query": "   "}, "search failed: a query is empty"),
        (
            {"query": "hot planet", "k": 0},
            "Invalid arguments: k: Input should be greater than or equal to 1 (got 0)",
        ),
        (
            {"query": "hot planet", "k": 51},
            "Invalid arguments: k: Input should be less than or equal to 50 (got 51)",
        ),
        ({"k": 2}, "Invalid arguments: query: Field required"),
    ],
)
async def test_search_tool_errors_come_back_as_error_tool_messages(
    scout: Scout, args: dict[str, Any], message: str
) -> None:
    search = create_search_tool(scout, k=2)
    for reply in (search.invoke(_call(search, **args)), await search.ainvoke(_call(search, **args))):
        assert isinstance(reply, ToolMessage) and reply.status == "error" and reply.tool_call_id == "1"
        assert reply.content.startswith(message) and reply.artifact is None


def test_unknown_collection_comes_back_as_an_error_tool_message(scout: Scout) -> None:
    search = create_search_tool(scout, collection="no-such-collection")
    reply = search.invoke(_call(search, query="hot planet"))
    assert reply.status == "error" and "No collection 'no-such-collection'" in reply.content
    assert search.invoke({"query": "hot planet"}).startswith(
        "search failed: No collection"
    )  # plain invoke too


def test_find_tools_tool_errors_come_back_as_error_tool_messages(catalog: Any) -> None:
    find = create_find_tools_tool(catalog)
    reply = find.invoke(_call(find, request=" "))
    assert reply.status == "error" and reply.content.startswith("find_tools failed: request is empty")
    reply = find.invoke(_call(find, request="send an email", k=0))
    assert reply.status == "error" and "k: Input should be greater than or equal to 1" in reply.content
    assert find.invoke(_call(find, request="send an email", k=1)).status == "success"


def test_search_tool_does_not_answer_how_many_requests(scout: Scout) -> None:
    """A catalog indexes each tool's parameter texts: the search tool's ``k`` must not read like a question."""
    pytest.importorskip("hopscout.tools")
    search = create_search_tool(scout, name="search_notes", description="Search the team's notes.")
    selector = HopscoutToolSelector([*_toolbox(), search], scout=scout, collection="lc-how-many", k=2)
    assert selector.select("how many yen is 250 dollars?")[0].name == "convert_currency"
    assert selector.select("how many emails did Ann send?")[0].name == "send_email"


# -- tool selector --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("will it rain in Oslo tomorrow?", "get_weather"),
        ("email the quarterly report to Ann", "send_email"),
        ("put a meeting with Bob on my calendar for Friday 3pm", "create_calendar_event"),
        ("how many yen is 250 dollars?", "convert_currency"),
    ],
)
def test_selector_returns_the_relevant_tool_objects(scout: Scout, request_text: str, expected: str) -> None:
    pytest.importorskip("hopscout.tools")
    tools = _toolbox()
    selector = HopscoutToolSelector(tools, scout=scout, collection="lc-selector", k=3)
    picked = selector.select(request_text)
    assert len(picked) == 3 and picked[0].name == expected
    assert all(any(p is t for t in tools) for p in picked)  # the caller's own tool objects


def test_selector_keeps_out_of_the_shared_tools_collection(embedder: Any, tmp_path: Path) -> None:
    pytest.importorskip("hopscout.tools")
    with Scout(Settings(home=tmp_path), embedder=embedder) as fresh:
        selector = HopscoutToolSelector(_toolbox(), scout=fresh, k=2)
        assert selector.catalog.collection == "langchain_tools" and len(selector.catalog) == 6
        shared = ToolCatalog(fresh)  # the MCP server's find_tools serves this one
        assert shared.collection == fresh.settings.tools_collection and len(shared) == 0
        assert fresh.settings.tools_collection not in {c.name for c in fresh.collections()}
        assert selector.select("how many yen is 250 dollars?")[0].name == "convert_currency"
        assert (
            HopscoutToolSelector(_toolbox(), scout=fresh, collection="my-tools").catalog.collection
            == "my-tools"
        )
        given = HopscoutToolSelector(_toolbox(), catalog=shared)
        assert given.catalog is shared and len(shared) == 6  # a catalog of your own is used as it is


async def test_selector_only_returns_its_own_tools(scout: Scout, catalog: Any) -> None:
    pytest.importorskip("hopscout.tools")

    @tool
    def weather_alerts(region: str) -> str:
        """Severe weather warnings (storms, floods) for a region."""
        return "none"

    selector = HopscoutToolSelector([weather_alerts], catalog=catalog, namespace="alerts")
    picked = await selector.aselect("will it rain in Oslo tomorrow?", k=5)  # the catalog also has get_weather
    assert [t.name for t in picked] == ["weather_alerts"]
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        HopscoutToolSelector([weather_alerts])
    with pytest.raises(InvalidArgumentError, match="unique"):
        HopscoutToolSelector([weather_alerts, weather_alerts], scout=scout)


# -- LLM bridge -----------------------------------------------------------------------------------------
def test_chat_model_bridge_satisfies_the_llm_protocol() -> None:
    llm = LangChainLLM(FakeListChatModel(responses=['["weather forecast"]']))
    assert isinstance(llm, LLM)
    assert llm.complete("Write search queries.", max_tokens=16, json_mode=True) == '["weather forecast"]'
    parrot = LangChainLLM(ParrotFakeChatModel())
    assert parrot.complete("echo me") == "echo me"


def test_chat_model_failures_become_llm_unavailable() -> None:
    class Broken(FakeListChatModel):
        def _call(self, *args: Any, **kwargs: Any) -> str:
            raise TimeoutError("model timed out")

    with pytest.raises(LLMUnavailableError, match="timed out"):
        LangChainLLM(Broken(responses=["x"])).complete("hi")
    with pytest.raises(LLMUnavailableError, match="no text"):
        LangChainLLM(FakeListChatModel(responses=[""])).complete("hi")


def test_catalog_generates_queries_through_a_langchain_model(scout: Scout) -> None:
    tools = pytest.importorskip("hopscout.tools")
    model = LangChainLLM(FakeListChatModel(responses=['["current weather forecast for a city"]'] * 4))
    catalog = tools.ToolCatalog(scout, collection="lc-generated", llm=model)
    catalog.register(_toolbox())
    results = catalog.find_tools("should I take an umbrella to Oslo?", k=2)
    assert results.keys[0] == "get_weather"
    assert results.generated and "current weather forecast for a city" in results.queries


# -- packaging ------------------------------------------------------------------------------------------
def test_public_names() -> None:
    import hopscout.adapters.langchain as module

    assert sorted(module.__all__) == [
        "HopscoutRetriever",
        "HopscoutToolSelector",
        "LangChainLLM",
        "create_find_tools_tool",
        "create_search_tool",
    ]


def test_missing_langchain_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in sys.modules if n == "langchain_core" or n.startswith("langchain_core.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "langchain_core", None)
    monkeypatch.delitem(sys.modules, "hopscout.adapters.langchain")
    with pytest.raises(ImportError, match=r'pip install "hopscout\[langchain\]"'):
        import hopscout.adapters.langchain  # noqa: F401


def test_adapters_package_imports_no_framework() -> None:
    code = (
        "import sys, hopscout.adapters; "
        "print([m for m in sys.modules if m.startswith(('langchain', 'llama_index'))])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parent
    )
    assert out.stdout.strip() == "[]"


def test_core_search_options_pass_through_unchanged(scout: Scout) -> None:
    options = {"hops": 2, "hop_operator": "mix"}
    expected = [h.id for h in scout.search("hottest planet", 3, **options)]
    assert [
        d.id for d in HopscoutRetriever(scout=scout, k=3, search_kwargs=options).invoke("hottest planet")
    ] == expected
    assert [d.id for d in HopscoutRetriever(scout=scout, k=3).invoke("hottest planet", **options)] == expected


def test_documents_carry_every_field_of_a_hit(scout: Scout) -> None:
    scout.ingest(SAMPLE_DIR, collection=COLLECTION)
    hits = scout.search(QUERY, 6, collection=COLLECTION, **FIELD_SEARCH)
    retriever = HopscoutRetriever(scout=scout, k=6, collection=COLLECTION, search_kwargs=FIELD_SEARCH)
    docs = retriever.invoke(QUERY)
    assert [(d.id, d.page_content) for d in docs] == [(h.id, h.text) for h in hits]
    assert [d.metadata for d in docs] == [expected_metadata(h) for h in hits]
    check_every_field_is_set([fields_of(d.id or "", d.metadata) for d in docs])
    check_storable([d.metadata for d in docs])


def test_search_tool_text_shows_flags_hops_and_confidence(scout: Scout) -> None:
    """What the model reads (the tool message's content, not its artifact): the search's confidence, a flagged
    passage named and fenced as data under a warning, each later hop with the passage that led to it."""
    add_flagged(scout)
    scout.ingest(SAMPLE_DIR, collection=COLLECTION)
    flagged = create_search_tool(scout, k=4, collection=FLAGGED_COLLECTION)
    message = flagged.invoke({"name": "search", "args": {"query": QUERY}, "id": "1", "type": "tool_call"})
    hits = scout.search(QUERY, 4, collection=FLAGGED_COLLECTION)
    assert any(h.flags for h in hits) and message.content == hits_text(hits)
    check_list_text(message.content, hits)
    hops = create_search_tool(scout, k=6, collection=COLLECTION, **FIELD_SEARCH)
    hits = scout.search(QUERY, 6, collection=COLLECTION, **FIELD_SEARCH)
    text = hops.invoke({"query": QUERY})
    assert any(h.hop == 2 for h in hits) and text == hits_text(hits)
    check_list_text(text, hits)


def test_documents_keep_their_own_keys_and_store_again(scout: Scout) -> None:
    """A document's own ``score``/``hop``/``relevance`` keys come back as stored, hopscout's fields beside them;
    every value is one a vector store takes: the documents are written to a real Chroma collection again."""
    add_flagged(scout)
    docs = HopscoutRetriever(scout=scout, k=4, collection=FLAGGED_COLLECTION).invoke(QUERY)
    metadatas = [d.metadata for d in docs]
    check_own_keys_kept(metadatas)
    check_storable(metadatas)
    assert any(m["hopscout_flags"] == "instructions" for m in metadatas)
    assert store_again(
        "lc-again", [d.id or "" for d in docs], [d.page_content for d in docs], metadatas
    ) == len(docs)
