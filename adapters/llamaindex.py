"""LlamaIndex integration (llama-index-core only): hopscout as a retriever, a tool spec, a tool retriever for
agents, and a LlamaIndex LLM as hopscout's LLM.

>>> retriever = HopscoutRetriever(Scout(), similarity_top_k=4)
>>> RetrieverQueryEngine.from_args(retriever, llm=llm).query("why is my espresso sour?")
"""

import asyncio
import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional

from hopscout import HIT_FIELDS, Hit, LLMUnavailableError, Scout

from ._common import (
    JSON_INSTRUCTION,
    ToolPicker,
    check_options,
    hits_text,
    missing_framework,
    model_id,
    reply_text,
    reserved_in,
    tool_results_text,
    with_expansion,
)

try:
    from llama_index.core.base.llms.types import ChatMessage, MessageRole
    from llama_index.core.callbacks import CallbackManager
    from llama_index.core.llms import LLM as LlamaLLM
    from llama_index.core.objects import ObjectRetriever, SimpleToolNodeMapping
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
    from llama_index.core.tools import BaseTool
    from llama_index.core.tools.tool_spec.base import BaseToolSpec
except ImportError as exc:  # pragma: no cover - exercised by blanking the module in tests
    raise missing_framework(__name__, "llama-index-core", "llamaindex") from exc

if TYPE_CHECKING:
    from hopscout import ToolCatalog

__all__ = ["HopscoutRetriever", "HopscoutToolRetriever", "HopscoutToolSpec", "LlamaIndexLLM"]


# ingest bookkeeping and hopscout's retrieval fields: kept in node.metadata, left out of what the LLM and
# embedders are shown (the source file stays visible)
_BOOKKEEPING = (
    "ingest_root",
    "file_sha",
    "n_chunks",
    "chunk",
    "start",
    "end",
    "kind",
    *(name for name in HIT_FIELDS if name != "source"),
)


def _node(hit: Hit) -> NodeWithScore:
    """The hit as a scored ``TextNode``: its metadata plus hopscout's fields (:meth:`hopscout.Hit.to_metadata`)."""
    meta = hit.to_metadata()
    hidden = [key for key in _BOOKKEEPING if key in meta]
    node = TextNode(
        id_=hit.id,
        text=hit.text,
        metadata=meta,
        start_char_idx=meta.get("start"),
        end_char_idx=meta.get("end"),
        excluded_llm_metadata_keys=hidden,
        excluded_embed_metadata_keys=hidden,
    )
    return NodeWithScore(node=node, score=hit.score)


async def _in_executor(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args, **kwargs))


class HopscoutRetriever(BaseRetriever):
    """A LlamaIndex retriever over a :class:`hopscout.Scout` collection: ``NodeWithScore`` of ``TextNode``s
    carrying the hit's id, text and metadata.

    ``where`` is a Chroma-syntax metadata filter; ``search_kwargs`` passes any other :meth:`Scout.search`
    option through (checked against its signature: ``fusion_weight``, and ``hops`` / ``augment`` where the
    core has them)."""

    def __init__(
        self,
        scout: Scout,
        *,
        similarity_top_k: int = 4,
        where: dict[str, Any] | None = None,
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
            {**search_kwargs, "where": where, "collection": collection, "mode": mode}
        )
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        hits = self.scout.search(query_bundle.query_str, self.similarity_top_k, **self.search_options)
        return [_node(hit) for hit in hits]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await _in_executor(self._retrieve, query_bundle)


class HopscoutToolSpec(BaseToolSpec):
    """``search`` (and ``find_tools`` when given a catalog) as LlamaIndex tools: ``spec.to_tool_list()``.

    ``collection`` and ``search_kwargs`` (``where``, ``mode``, ...) are fixed here; the model sees the query,
    how many results it wants, and an optional ``expansion`` of its own (searched too, fused, no LLM call)."""

    spec_functions: list[Any] = [("search", "asearch"), ("find_tools", "afind_tools")]  # noqa: RUF012 - BaseToolSpec's

    def __init__(
        self,
        scout: Scout,
        *,
        catalog: Optional["ToolCatalog"] = None,
        collection: str | None = None,
        k: int = 5,
        **search_kwargs: Any,
    ) -> None:
        self.scout = scout
        self.catalog = catalog
        self.k = k
        self.search_options = check_options({**search_kwargs, "collection": collection})
        if catalog is None:
            self.spec_functions = [("search", "asearch")]

    def search(self, query: str, k: int | None = None, expansion: str | None = None) -> str:
        """Search the indexed documents (hybrid semantic + keyword) for passages relevant to a query.

        Args:
            query: What to look for: a question or keywords, in natural language.
            k: How many passages to return (optional).
            expansion: Optional: your own expansion of the query (related terms, the likely answer's wording or
                a short hypothetical passage), searched too and fused with the query's results.
        """
        return hits_text(
            self.scout.search(query, k or self.k, **with_expansion(self.search_options, expansion))
        )

    async def asearch(self, query: str, k: int | None = None, expansion: str | None = None) -> str:
        """Search the indexed documents (hybrid semantic + keyword) for passages relevant to a query.

        Args:
            query: What to look for: a question or keywords, in natural language.
            k: How many passages to return (optional).
            expansion: Optional: your own expansion of the query (related terms, the likely answer's wording or
                a short hypothetical passage), searched too and fused with the query's results.
        """
        return await _in_executor(self.search, query, k, expansion)

    def find_tools(self, request: str, k: int | None = None) -> str:
        """Find the tools that can do a task; returns their names and descriptions, best first.

        Args:
            request: The task you need a tool for, in plain words (e.g. 'email the report to Ann').
            k: How many tools to return (optional).
        """
        if self.catalog is None:
            raise ValueError(
                "find_tools needs a catalog: HopscoutToolSpec(scout, catalog=ToolCatalog(scout))"
            )
        return tool_results_text(self.catalog.find_tools(request, k=k or self.k))

    async def afind_tools(self, request: str, k: int | None = None) -> str:
        """Find the tools that can do a task; returns their names and descriptions, best first.

        Args:
            request: The task you need a tool for, in plain words (e.g. 'email the report to Ann').
            k: How many tools to return (optional).
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

    The tools are registered in a hopscout tool catalog (``scout=`` for a new one, or ``catalog=``);
    ``retrieve(request)`` / ``aretrieve`` return the same tool objects, best first."""

    def __init__(
        self,
        tools: Sequence[BaseTool],
        *,
        scout: Scout | None = None,
        catalog: Optional["ToolCatalog"] = None,
        k: int = 5,
        namespace: str | None = None,
        collection: str | None = None,
        llm: Any = None,
    ) -> None:
        picker = ToolPicker(
            tools,
            lambda tool: tool.metadata.name,
            scout=scout,
            catalog=catalog,
            namespace=namespace,
            collection=collection,
            llm=llm,
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
