"""LangChain integration (langchain-core only): hopscout as a retriever, as tools, as a tool selector,
and a LangChain chat model as hopscout's LLM.

>>> retriever = HopscoutRetriever(scout=Scout(), k=4, where={"topic": "coffee"})
>>> retriever.invoke("why is my espresso sour?", k=2)          # per-call k, where/filter, mode, hops, ...

Documents keep their own metadata as stored; hopscout's fields sit beside it under the ``hopscout_`` prefix
(``hopscout_score``, ``hopscout_hop``, ``hopscout_flags``, ...: see :class:`HopscoutRetriever`)
and never overwrite a key of the document's own. Every value is a str, int, float or bool, so the documents can
be written to a LangChain vector store again. The search tool's text is the core's
(:func:`hopscout.agent_view.hits_text`), the same text the MCP server and the LlamaIndex tool spec return.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hopscout import (
    DEFAULT_AGENT_K,
    DEFAULT_RETRIEVER_K,
    Hit,
    HopscoutError,
    LLMUnavailableError,
    Scout,
    hits_text,
)

from ._common import (
    JSON_INSTRUCTION,
    ToolPicker,
    agent_help,
    check_options,
    missing_framework,
    model_id,
    reply_text,
    reserved_in,
    tool_results_text,
    with_expansion,
)

try:
    from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.language_models import BaseLanguageModel
    from langchain_core.messages import HumanMessage, SystemMessage
    from langchain_core.retrievers import BaseRetriever
    from langchain_core.tools import BaseTool, StructuredTool, ToolException
    from pydantic import AliasChoices, ConfigDict, Field, ValidationError, create_model, model_validator
except ImportError as exc:  # pragma: no cover - exercised by blanking the module in tests
    raise missing_framework(__name__, "langchain-core", "langchain") from exc

if TYPE_CHECKING:
    from hopscout import Profile, ToolCatalog, ToolResults

__all__ = [
    "HopscoutRetriever",
    "HopscoutToolSelector",
    "LangChainLLM",
    "create_find_tools_tool",
    "create_search_tool",
]

_FIELDS = ("k", "where", "collection", "mode")
# HopscoutToolSelector's own catalog, apart from the scout's "tools" (the MCP server's find_tools serves that one)
_TOOLS_COLLECTION = "langchain_tools"


def _document(hit: Hit) -> Document:
    """The hit's text as page content; its own metadata plus hopscout's ``hopscout_`` fields (:meth:`Hit.to_metadata`)."""
    return Document(page_content=hit.text, id=hit.id, metadata=hit.to_metadata())


async def _in_executor(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args, **kwargs))


class HopscoutRetriever(BaseRetriever):
    """A LangChain retriever over a :class:`hopscout.Scout` collection.

    Documents carry the hit's id and, in metadata, the document's own metadata (``source`` among it, when
    ingested from a file) plus hopscout's fields under the ``hopscout_`` prefix: ``hopscout_score``,
    ``hopscout_score_dense`` / ``_lexical`` / ``_fused``, ``hopscout_hop``, ``hopscout_parent``,
    ``hopscout_confidence``, ``hopscout_relevance``, ``hopscout_flags`` (comma-separated), ``hopscout_note``;
    str, int, float and bool values only (a vector store takes them back as they are).
    Every option can also be given per call: ``retriever.invoke(query, k=2, filter={...}, mode="lexical")``.
    ``search_kwargs`` passes any other :meth:`Scout.search` option through (checked against its signature,
    e.g. ``fusion_weight``, and ``hops`` / ``augment`` where the core has them)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True)

    scout: Scout
    k: int = DEFAULT_RETRIEVER_K
    where: dict[str, Any] | None = Field(default=None, validation_alias=AliasChoices("where", "filter"))
    collection: str | None = None
    mode: str | None = None
    search_kwargs: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> HopscoutRetriever:
        reserved_in(self.search_kwargs, _FIELDS)
        check_options(self.search_kwargs)
        return self

    def _options(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        if "filter" in kwargs:
            if "where" in kwargs:
                raise ValueError("pass where= or filter= (the same thing), not both")
            kwargs["where"] = kwargs.pop("filter")
        fields = {"k": self.k, "where": self.where, "collection": self.collection, "mode": self.mode}
        return check_options({**self.search_kwargs, **fields, **kwargs})

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        return [_document(hit) for hit in self.scout.search(query, **self._options(kwargs))]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        hits = await _in_executor(self.scout.search, query, **self._options(kwargs))
        return [_document(hit) for hit in hits]


def _invalid_arguments(error: ValidationError) -> str:
    """What the model reads when its arguments break the tool's schema (k out of range, a missing query)."""
    problems = "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}"
        + ("" if e["type"] == "missing" else f" (got {e.get('input')!r})")
        for e in error.errors()
    )
    return f"Invalid arguments: {problems}. Fix them and call the tool again."


def _tool(
    fn: Any,
    name: str,
    description: str,
    schema: str,
    field: str,
    about: str,
    k: int,
    k_about: str,
    **extra: Any,
) -> StructuredTool:
    """``fn(<field>, k, **extra) -> (content, artifact)`` as a sync + async ``content_and_artifact`` tool.

    hopscout's errors (an empty query, a missing collection, ...) and arguments outside the schema come back
    to the model as an error ``ToolMessage`` (``status="error"``) it can read and act on, not as an exception
    that ends the agent's run."""

    def run(**kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except HopscoutError as exc:
            raise ToolException(f"{name} failed: {exc}") from exc

    async def arun(**kwargs: Any) -> Any:
        return await _in_executor(run, **kwargs)

    args = create_model(
        schema,
        **{
            field: (str, Field(description=about)),
            "k": (int, Field(default=k, ge=1, le=50, description=k_about)),
            **extra,
        },
    )
    return StructuredTool.from_function(
        func=run,
        coroutine=arun,
        name=name,
        description=description,
        args_schema=args,
        response_format="content_and_artifact",
        handle_tool_error=True,
        handle_validation_error=_invalid_arguments,
    )


def create_search_tool(
    scout: Scout,
    *,
    k: int = DEFAULT_AGENT_K,
    collection: str | None = None,
    name: str = "search",
    description: str | None = None,
    **search_kwargs: Any,
) -> StructuredTool:
    """A ``StructuredTool`` that searches a hopscout collection.

    The model sees ``query``, ``k`` and an optional ``expansion`` (its own expansion of the query, fused
    without an LLM call); ``collection`` and ``search_kwargs`` (``where``, ``mode``, ...) are fixed here.
    Returns ``(text of the hits, list[Document])`` (``response_format="content_and_artifact"``): the text, which
    the model reads, is :func:`hopscout.agent_view.hits_text` (the search's confidence, each passage's source, id,
    hop and parent, score, relevance and flags, a flagged passage fenced as data under a warning); a failed call
    (empty query, ``k`` out of range, unknown collection) returns an error ``ToolMessage`` the model can read."""
    fixed = check_options({**search_kwargs, "collection": collection})

    def search(query: str, k: int = k, expansion: str | None = None) -> tuple[str, list[Document]]:
        hits = scout.search(query, k, **with_expansion(fixed, expansion))
        return hits_text(hits), [_document(hit) for hit in hits]

    return _tool(
        search,
        name,
        description
        or (
            "Search the indexed documents (hybrid semantic + keyword search) and return the most relevant "
            "passages with their sources. Use it to look up facts before answering."
        ),
        "SearchInput",
        "query",
        "What to look for: a question or keywords, in natural language.",
        k,
        "Number of passages to return.",  # not "How many ...": catalogs index this text, and requests ask so
        expansion=(str | None, Field(default=None, description=agent_help("expansion"))),
    )


def create_find_tools_tool(
    catalog: ToolCatalog,
    *,
    k: int = DEFAULT_AGENT_K,
    name: str = "find_tools",
    description: str | None = None,
) -> StructuredTool:
    """A ``StructuredTool`` that finds catalog tools for a task: ``(one line per tool, ToolResults)``; a failed call
    returns an error ``ToolMessage`` the model can read."""

    def find_tools(request: str, k: int = k) -> tuple[str, ToolResults]:
        results = catalog.find_tools(request, k=k)
        return tool_results_text(results), results

    return _tool(
        find_tools,
        name,
        description
        or (
            "Find the tools that can do a task. Describe the task; get back the best matching tools' names "
            "and descriptions, best first."
        ),
        "FindToolsInput",
        "request",
        "The task you need a tool for, in plain words ('email the report to Ann').",
        k,
        "Number of tools to return.",
    )


class HopscoutToolSelector:
    """Picks the tools relevant to a request out of many LangChain tools, for ``model.bind_tools(...)``.

    The tools are registered in a hopscout tool catalog: give ``scout=`` for a new one, in the collection
    ``"langchain_tools"`` (or ``collection=``), or ``catalog=`` for a :class:`~hopscout.ToolCatalog` of your own.
    The default is not the scout's ``tools`` collection, which the MCP server's ``find_tools`` serves: the
    selector's tools would show up there a second time. :meth:`select` returns the same tool objects, best
    first; ``select(request, queries=[...])`` passes the agent's own queries (one per capability the request
    needs) to :meth:`~hopscout.ToolCatalog.find_tools`. ``profile=`` (a :class:`hopscout.Profile`, e.g.
    ``Profile.from_file("servers.json", "triage")``) keeps only its tools, the tools counted as ``namespace``'s.

    >>> selector = HopscoutToolSelector(tools, scout=scout, k=5)
    >>> model.bind_tools(selector.select("what's the weather in Oslo tomorrow?"))
    """

    def __init__(
        self,
        tools: Sequence[BaseTool],
        *,
        scout: Scout | None = None,
        catalog: ToolCatalog | None = None,
        k: int = DEFAULT_AGENT_K,
        namespace: str | None = None,
        collection: str | None = None,
        llm: Any = None,
        profile: Profile | None = None,
    ) -> None:
        self.k = k
        if profile is not None:
            tools = profile.keep(tools, lambda tool: tool.name, namespace)
        self._picker = ToolPicker(
            tools,
            lambda tool: tool.name,
            scout=scout,
            catalog=catalog,
            namespace=namespace,
            collection=collection,
            llm=llm,
            default_collection=_TOOLS_COLLECTION,
        )
        self.catalog = self._picker.catalog
        self.report = self._picker.report  # what registering the tools changed in the catalog

    @property
    def tools(self) -> list[BaseTool]:
        return list(self._picker.tools)

    def select(self, request: str, k: int | None = None, **options: Any) -> list[BaseTool]:
        """The tools for ``request``, best first (``options`` go to ``ToolCatalog.find_tools``)."""
        return [tool for _, tool in self._picker.pick(request, k or self.k, **options)[0]]

    async def aselect(self, request: str, k: int | None = None, **options: Any) -> list[BaseTool]:
        return await _in_executor(self.select, request, k, **options)


class LangChainLLM:
    """A LangChain chat model (or LLM) as hopscout's LLM (:class:`hopscout.llm.LLM`).

    >>> catalog = ToolCatalog(scout, llm=LangChainLLM(ChatOllama(model="qwen3")))

    ``max_tokens`` is passed to the model's ``invoke`` (as ``bind(max_tokens=...)`` would); ``json_mode`` adds
    a system instruction to answer with JSON only. Any failure of the model raises
    :class:`~hopscout.errors.LLMUnavailableError`, so hopscout falls back to its LLM-free path."""

    def __init__(self, model: BaseLanguageModel) -> None:
        self.chat_model = model
        self.model = model_id(model, getattr(model, "model_name", None) or getattr(model, "model", None))

    def complete(self, prompt: str, *, max_tokens: int | None = None, json_mode: bool = False) -> str:
        messages = ([SystemMessage(JSON_INSTRUCTION)] if json_mode else []) + [HumanMessage(prompt)]
        kwargs: dict[str, Any] = {"max_tokens": max_tokens} if max_tokens is not None else {}
        try:
            reply = self.chat_model.invoke(messages, **kwargs)
        except Exception as exc:  # the core falls back to its LLM-free path on LLMUnavailableError
            raise LLMUnavailableError(f"LangChain model {self.model} failed: {exc}") from exc
        return reply_text(reply if isinstance(reply, str) else reply.text, self.model)
