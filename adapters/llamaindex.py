"""LlamaIndex integration (llama-index-core only): hopscout as a retriever, a tool spec, a tool retriever for
agents, and a LlamaIndex LLM as hopscout's LLM.

>>> retriever = HopscoutRetriever(Scout(), similarity_top_k=4)
>>> RetrieverQueryEngine.from_args(retriever, llm=llm).query("why is my espresso sour?")

Nodes keep their own metadata as stored; hopscout's fields sit beside it under the ``hopscout_`` prefix
(``hopscout_score``, ``hopscout_hop``, ``hopscout_flags``, ...: see :class:`HopscoutRetriever`) and never
overwrite a key of the node's own. What a query engine's LLM reads of a node (``MetadataMode.LLM``) and what the
tool spec's ``search`` returns are the core's text (:mod:`hopscout.agent_view`), the same the MCP server and the
LangChain search tool return: confidence, hop and parent, relevance, and a flagged passage fenced as data.
"""

import asyncio
import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

from hopscout import (
    DEFAULT_AGENT_K,
    DEFAULT_RETRIEVER_K,
    FIELD_PREFIX,
    Hit,
    InvalidArgumentError,
    LLMUnavailableError,
    Scout,
    hits_text,
    passage_text,
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
    from llama_index.core.base.llms.types import ChatMessage, MessageRole
    from llama_index.core.bridge.pydantic import PrivateAttr
    from llama_index.core.callbacks import CallbackManager
    from llama_index.core.llms import LLM as LlamaLLM
    from llama_index.core.objects import ObjectRetriever, SimpleToolNodeMapping
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle, TextNode
    from llama_index.core.tools import BaseTool
    from llama_index.core.tools.tool_spec.base import BaseToolSpec
    from llama_index.core.vector_stores.types import (
        FilterCondition,
        FilterOperator,
        MetadataFilter,
        MetadataFilters,
    )
except ImportError as exc:  # pragma: no cover - exercised by blanking the module in tests
    raise missing_framework(__name__, "llama-index-core", "llamaindex") from exc

if TYPE_CHECKING:
    from hopscout import Profile, ToolCatalog

__all__ = ["HopscoutRetriever", "HopscoutToolRetriever", "HopscoutToolSpec", "LlamaIndexLLM"]

# HopscoutToolRetriever's own catalog, apart from the scout's "tools" (the MCP server's find_tools serves that one)
_TOOLS_COLLECTION = "llamaindex_tools"

# LlamaIndex's filter operators that hopscout's Chroma-syntax filters can express
_OPERATORS = {
    FilterOperator.EQ: "$eq",
    FilterOperator.NE: "$ne",
    FilterOperator.GT: "$gt",
    FilterOperator.GTE: "$gte",
    FilterOperator.LT: "$lt",
    FilterOperator.LTE: "$lte",
    FilterOperator.IN: "$in",
    FilterOperator.NIN: "$nin",
}
_CONDITIONS = {FilterCondition.AND: "$and", FilterCondition.OR: "$or"}


# ingest bookkeeping: kept in node.metadata, left out of what the LLM and embedders are shown
_BOOKKEEPING = ("ingest_root", "file_sha", "n_chunks", "chunk", "start", "end", "kind")


class _PassageNode(TextNode):
    """A hit's ``TextNode``: what an LLM reads of it (``MetadataMode.LLM``) is the core's text of one passage
    (:func:`hopscout.agent_view.passage_text`: source, id, hop and parent, score, relevance, the search's
    confidence, flags and a flagged text fenced as data), with the node's visible metadata under its header.
    Every other mode, and the node once stored and read back (``class_name`` stays ``TextNode``), is a
    ``TextNode``'s."""

    _hit: Hit | None = PrivateAttr(default=None)

    def __init__(self, hit: Hit | None = None, **fields: Any) -> None:
        super().__init__(**fields)
        self._hit = hit

    def __setstate__(
        self, state: dict[str, Any]
    ) -> None:  # a pickled node (BaseComponent's re-runs __init__)
        super().__setstate__(state)
        self._hit = (state.get("__pydantic_private__") or {}).get("_hit")

    def get_content(self, metadata_mode: MetadataMode = MetadataMode.NONE) -> str:
        if metadata_mode != MetadataMode.LLM or self._hit is None:
            return super().get_content(metadata_mode)
        return passage_text(self._hit, self.get_metadata_str(metadata_mode).strip())


def _node(hit: Hit) -> NodeWithScore:
    """The hit as a scored node: its own metadata plus hopscout's ``hopscout_`` fields (:meth:`Hit.to_metadata`)."""
    meta = hit.to_metadata()
    ours = [key for key in meta if key.startswith(FIELD_PREFIX) and key not in hit.metadata]
    bookkeeping = [key for key in _BOOKKEEPING if key in meta]
    node = _PassageNode(
        hit,
        id_=hit.id,
        text=hit.text,
        metadata=meta,
        start_char_idx=hit.metadata.get("start"),
        end_char_idx=hit.metadata.get("end"),
        # the LLM's header shows the source, the heading and hopscout's fields; embedders read the source and
        # the heading, not the fields
        excluded_llm_metadata_keys=[
            *bookkeeping,
            *ours,
            *(key for key in ("source", "heading") if key in meta),
        ],
        excluded_embed_metadata_keys=[*bookkeeping, *ours],
    )
    return NodeWithScore(node=node, score=hit.score)


async def _in_executor(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args, **kwargs))


def _chroma_filter(filters: MetadataFilters | MetadataFilter) -> dict[str, Any] | None:
    """LlamaIndex ``MetadataFilters`` as the Chroma-syntax ``where`` hopscout takes (None: no filter)."""
    if isinstance(filters, MetadataFilter):
        op = _OPERATORS.get(filters.operator)
        if op is None:
            raise InvalidArgumentError(
                f"hopscout cannot filter with FilterOperator.{filters.operator.name} (on {filters.key!r}); "
                f"it supports {', '.join(o.name for o in _OPERATORS)}"
            )
        return {filters.key: {op: filters.value}}
    condition = filters.condition or FilterCondition.AND
    if condition not in _CONDITIONS:
        raise InvalidArgumentError(
            f"hopscout cannot combine filters with FilterCondition.{condition.name}; it supports "
            f"{', '.join(c.name for c in _CONDITIONS)} (negate the operators instead: NE, NIN)"
        )
    parts = [part for part in map(_chroma_filter, filters.filters) if part]
    if len(parts) <= 1:
        return parts[0] if parts else None
    return {_CONDITIONS[condition]: parts}


def _where(where: Any, filters: Any) -> dict[str, Any] | None:
    """One filter from ``where=`` or ``filters=``: a Chroma-syntax dict or LlamaIndex ``MetadataFilters``."""
    if where is not None and filters is not None:
        raise InvalidArgumentError("pass where= or filters= (a filter either way), not both")
    value = where if where is not None else filters
    if isinstance(value, (MetadataFilters, MetadataFilter)):
        return _chroma_filter(value)
    if value is not None and not isinstance(value, dict):
        raise InvalidArgumentError(
            f"a filter is LlamaIndex MetadataFilters or a Chroma-syntax dict, got {type(value).__name__}"
        )
    return value


class HopscoutRetriever(BaseRetriever):
    """A LlamaIndex retriever over a :class:`hopscout.Scout` collection: ``NodeWithScore`` of ``TextNode``s
    carrying the hit's id, text and metadata.

    A node's metadata is the document's own (``source`` among it, when ingested from a file) plus hopscout's
    fields under the ``hopscout_`` prefix: ``hopscout_score``, ``hopscout_score_dense`` / ``_lexical`` /
    ``_fused``, ``hopscout_hop``, ``hopscout_parent``, ``hopscout_confidence``, ``hopscout_relevance``,
    ``hopscout_flags`` (comma-separated), ``hopscout_note``; flat str, int, float and bool values (what vector
    stores take back). What an LLM reads of a node (``get_content(MetadataMode.LLM)``) is
    :func:`hopscout.agent_view.passage_text`: a header with the source, id, hop and parent, score, relevance,
    the search's confidence and the flags, the node's own visible metadata, then its text (fenced as data
    under a warning when flagged).

    ``filters`` takes LlamaIndex ``MetadataFilters`` (as ``VectorIndexRetriever`` does: EQ, NE, GT, GTE, LT, LTE,
    IN, NIN, combined with AND / OR, nested); ``where`` a Chroma-syntax dict (``{"year": {"$gte": 2020}}``);
    either takes either. ``search_kwargs`` passes any other :meth:`Scout.search` option through (checked
    against its signature: ``fusion_weight``, and ``hops`` / ``augment`` where the core has them)."""

    def __init__(
        self,
        scout: Scout,
        *,
        similarity_top_k: int = DEFAULT_RETRIEVER_K,
        filters: MetadataFilters | dict[str, Any] | None = None,
        where: dict[str, Any] | MetadataFilters | None = None,
        collection: str | None = None,
        mode: str | None = None,
        search_kwargs: dict[str, Any] | None = None,
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
    ) -> None:
        search_kwargs = dict(search_kwargs or {})
        reserved_in(search_kwargs, ("k", "where", "collection", "mode"))
        self.scout = scout
        self.similarity_top_k = similarity_top_k
        self.search_options = check_options(
            {**search_kwargs, "where": _where(where, filters), "collection": collection, "mode": mode}
        )
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self.scout.search(query_bundle.query_str, self.similarity_top_k, **self.search_options)
        return [_node(hit) for hit in hits]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await _in_executor(self._retrieve, query_bundle)


def _agent_texts(fn: Any) -> Any:
    """Fill the docstring's ``{expansion}`` with the core's agent-facing text for that option (LlamaIndex reads
    a tool's parameter descriptions from its Google-style ``Args``: ``name (type): text``, one line each)."""
    fn.__doc__ = (fn.__doc__ or "").format(expansion=agent_help("expansion"))
    return fn


class HopscoutToolSpec(BaseToolSpec):
    """``search`` (and ``find_tools`` when given a catalog) as LlamaIndex tools: ``spec.to_tool_list()``.

    ``collection``, the filter (``filters=`` LlamaIndex ``MetadataFilters`` or ``where=`` a Chroma-syntax dict,
    as for :class:`HopscoutRetriever`) and ``search_kwargs`` (``mode``, ...) are fixed here; the model sees the
    query, how many results it wants, and an optional ``expansion`` of its own (searched too, fused, no LLM
    call), each described in the tool's schema. A call hopscout refuses (an empty query, ``k`` below 1, an
    unknown collection) raises hopscout's error; a LlamaIndex agent hands its message to the model as an error
    tool output (``ToolOutput.is_error``)."""

    spec_functions: list[Any] = [("search", "asearch"), ("find_tools", "afind_tools")]  # noqa: RUF012 - BaseToolSpec's

    def __init__(
        self,
        scout: Scout,
        *,
        catalog: Optional["ToolCatalog"] = None,
        collection: str | None = None,
        k: int = DEFAULT_AGENT_K,
        filters: MetadataFilters | dict[str, Any] | None = None,
        **search_kwargs: Any,
    ) -> None:
        self.scout = scout
        self.catalog = catalog
        self.k = k
        where = _where(search_kwargs.pop("where", None), filters)
        self.search_options = check_options({**search_kwargs, "where": where, "collection": collection})
        if catalog is None:
            self.spec_functions = [("search", "asearch")]

    @_agent_texts
    def search(self, query: str, k: int | None = None, expansion: str | None = None) -> str:
        """Search the indexed documents (hybrid semantic + keyword) for passages relevant to a query. Returns
        the search's confidence, then each passage with its source, id, hop, score, relevance and flags.

        Args:
            query (str): What to look for: a question or keywords, in natural language.
            k (int, optional): Number of passages to return, at least 1 (leave it out for the tool's default).
            expansion (str, optional): {expansion}
        """
        k = self.k if k is None else k
        return hits_text(self.scout.search(query, k, **with_expansion(self.search_options, expansion)))

    @_agent_texts
    async def asearch(self, query: str, k: int | None = None, expansion: str | None = None) -> str:
        """Search the indexed documents (hybrid semantic + keyword) for passages relevant to a query. Returns
        the search's confidence, then each passage with its source, id, hop, score, relevance and flags.

        Args:
            query (str): What to look for: a question or keywords, in natural language.
            k (int, optional): Number of passages to return, at least 1 (leave it out for the tool's default).
            expansion (str, optional): {expansion}
        """
        return await _in_executor(self.search, query, k, expansion)

    def find_tools(self, request: str, k: int | None = None) -> str:
        """Find the tools that can do a task; returns their names and descriptions, best first.

        Args:
            request (str): The task you need a tool for, in plain words (e.g. 'email the report to Ann').
            k (int, optional): Number of tools to return, at least 1 (leave it out for the tool's default).
        """
        if self.catalog is None:
            raise InvalidArgumentError(
                "find_tools needs a catalog: HopscoutToolSpec(scout, catalog=ToolCatalog(scout))"
            )
        return tool_results_text(self.catalog.find_tools(request, k=self.k if k is None else k))

    async def afind_tools(self, request: str, k: int | None = None) -> str:
        """Find the tools that can do a task; returns their names and descriptions, best first.

        Args:
            request (str): The task you need a tool for, in plain words (e.g. 'email the report to Ann').
            k (int, optional): Number of tools to return, at least 1 (leave it out for the tool's default).
        """
        return await _in_executor(self.find_tools, request, k)


class _ToolNodes(BaseRetriever):
    """Catalog hits as nodes named after the tool (what ``SimpleToolNodeMapping`` maps back)."""

    def __init__(self, picker: ToolPicker, k: int) -> None:
        self.picker = picker
        self.k = k
        super().__init__()

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        picked, _ = self.picker.pick(query_bundle.query_str, self.k)
        return [
            NodeWithScore(
                node=TextNode(id_=hit.spec.key, text=hit.spec.description, metadata={"name": hit.spec.name}),
                score=hit.score,
            )
            for hit, _tool in picked
        ]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await _in_executor(self._retrieve, query_bundle)


class HopscoutToolRetriever(ObjectRetriever[BaseTool]):
    """The tools relevant to a request out of many LlamaIndex tools; give it to an agent as ``tool_retriever=``.

    >>> FunctionAgent(tool_retriever=HopscoutToolRetriever(tools, scout=scout, k=5), llm=llm)

    The tools are registered in a hopscout tool catalog: ``scout=`` for a new one, in the collection
    ``"llamaindex_tools"`` (or ``collection=``), or ``catalog=`` for a :class:`~hopscout.ToolCatalog` of your
    own. The default is not the scout's ``tools`` collection, which the MCP server's ``find_tools`` serves: the
    retriever's tools would show up there a second time. ``retrieve(request)`` / ``aretrieve`` return the same
    tool objects, best first. ``profile=`` (a :class:`hopscout.Profile`, e.g. ``Profile.from_file("servers.json",
    "triage")``) keeps only its tools, the tools counted as ``namespace``'s."""

    def __init__(
        self,
        tools: Sequence[BaseTool],
        *,
        scout: Scout | None = None,
        catalog: Optional["ToolCatalog"] = None,
        k: int = DEFAULT_AGENT_K,
        namespace: str | None = None,
        collection: str | None = None,
        llm: Any = None,
        profile: Optional["Profile"] = None,
    ) -> None:
        if profile is not None:
            tools = profile.keep(tools, lambda tool: tool.metadata.name or "", namespace)
        picker = ToolPicker(
            tools,
            lambda tool: tool.metadata.name,
            scout=scout,
            catalog=catalog,
            namespace=namespace,
            collection=collection,
            llm=llm,
            default_collection=_TOOLS_COLLECTION,
        )
        self.catalog = picker.catalog
        self.report = picker.report  # what registering the tools changed in the catalog
        super().__init__(_ToolNodes(picker, k), SimpleToolNodeMapping.from_objects(list(tools)))


class LlamaIndexLLM:
    """A LlamaIndex LLM as hopscout's LLM (:class:`hopscout.llm.LLM`).

    >>> catalog = ToolCatalog(scout, llm=LlamaIndexLLM(Ollama(model="qwen3")))

    The prompt goes as a user chat message (``json_mode`` adds a system message asking for JSON only);
    ``max_tokens`` is passed to ``chat``. Any failure raises :class:`~hopscout.errors.LLMUnavailableError`,
    so hopscout falls back to its LLM-free path."""

    def __init__(self, llm: LlamaLLM) -> None:
        self.llm = llm
        self.model = model_id(llm, getattr(getattr(llm, "metadata", None), "model_name", None))

    def complete(self, prompt: str, *, max_tokens: int | None = None, json_mode: bool = False) -> str:
        messages = [ChatMessage(role=MessageRole.USER, content=prompt)]
        if json_mode:
            messages.insert(0, ChatMessage(role=MessageRole.SYSTEM, content=JSON_INSTRUCTION))
        kwargs = {"max_tokens": max_tokens} if max_tokens is not None else {}
        try:
            reply = self.llm.chat(messages, **kwargs)
        except Exception as exc:  # the core falls back to its LLM-free path on LLMUnavailableError
            raise LLMUnavailableError(f"LlamaIndex LLM {self.model} failed: {exc}") from exc
        return reply_text(reply.message.content, self.model)
