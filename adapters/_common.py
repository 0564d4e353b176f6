"""Framework-free helpers the adapters share: search options checked against :class:`hopscout.SearchOptions`,
and hits as metadata (the text a model reads of them is the core's: :mod:`hopscout.agent_view`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hopscout import InvalidArgumentError, LLMUnavailableError, SearchOptions, ToolCatalog

JSON_INSTRUCTION = "Reply with one JSON value and nothing else: no prose, no code fences."


def missing_framework(module: str, package: str, extra: str) -> ImportError:
    """The error an adapter raises when its framework is not installed."""
    return ImportError(f'{module} needs {package}, which is not installed: pip install "hopscout[{extra}]"')


def model_id(model: Any, name: Any) -> str:
    """``ChatOpenAI/gpt-4o-mini``: names a framework model in messages and in the core's LLM cache keys."""
    kind = type(model).__name__
    return f"{kind}/{name}" if isinstance(name, str) and name else kind


def reply_text(text: Any, model: str) -> str:
    """A framework model's reply as the non-empty string hopscout's LLM protocol returns."""
    if not isinstance(text, str) or not text.strip():
        raise LLMUnavailableError(f"{model} returned no text")
    return text


def agent_help(option: str) -> str:
    """How agent-facing tools describe a search option (:meth:`hopscout.SearchOptions.agent_options`: one text
    for every face)."""
    return next(f.metadata["agent"] for f in SearchOptions.agent_options() if f.name == option)


def check_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` unchanged, or :class:`InvalidArgumentError` naming the unknown ones and the valid ones
    (:class:`hopscout.SearchOptions`' fields, so new options pass through)."""
    known = SearchOptions.names()
    unknown = sorted(set(options) - known)
    if unknown:
        raise InvalidArgumentError(
            f"Scout.search has no option {', '.join(map(repr, unknown))}; it accepts: {', '.join(sorted(known))}"
        )
    return dict(options)


def with_expansion(options: Mapping[str, Any], expansion: str | None) -> dict[str, Any]:
    """One tool call's search options: the model's own ``expansion`` text, when it sent some, is searched with
    the ``expansion`` augmenter, whatever augmentation the tool was built with."""
    if not expansion or not expansion.strip():
        return dict(options)
    return {**options, "augment": "always", "augmenter": "expansion", "expansion": expansion}


def reserved_in(search_kwargs: Mapping[str, Any], fields: Iterable[str]) -> None:
    """Refuse ``search_kwargs`` that repeat an option the adapter has its own field for."""
    clash = sorted(set(search_kwargs) & set(fields))
    if clash:
        raise InvalidArgumentError(
            f"pass {', '.join(clash)} as the adapter's own argument, not in search_kwargs"
        )


# hopscout's fields in a framework's document or node metadata: each under this prefix, apart from the document's
# own keys (which always win: a document's own ``hopscout_…`` key is never overwritten).
def tool_results_text(results: Any) -> str:
    """A catalog's :class:`~hopscout.tools.ToolResults` as one line per tool, best first."""
    lines = [
        f"{hit.spec.key}: {' '.join((hit.spec.description or '').split())[:300]} (score {hit.score:.2f})"
        for hit in results.hits
    ]
    text = "\n".join(lines) if lines else "No matching tools."
    return f"{text}\n({results.note})" if getattr(results, "note", None) else text


class ToolPicker:
    """Framework tools registered in a :class:`~hopscout.tools.ToolCatalog`, picked back by request.

    A new catalog (``scout=``) lives in ``collection``, else in the framework's own ``default_collection``,
    never in the scout's shared ``tools`` collection (which the MCP server's ``find_tools`` serves: the same
    tools registered there again would come back twice). Only the tools given here are ever returned, even
    when the catalog's collection holds others."""

    def __init__(
        self,
        tools: Iterable[Any],
        name_of: Any,
        *,
        scout: Any = None,
        catalog: Any = None,
        namespace: str | None = None,
        collection: str | None = None,
        llm: Any = None,
        default_collection: str,
    ) -> None:
        if (scout is None) == (catalog is None):
            raise InvalidArgumentError("pass scout= (a Scout) or catalog= (a ToolCatalog), exactly one")
        if catalog is not None and (collection is not None or llm is not None):
            raise InvalidArgumentError(
                "collection= and llm= configure a new catalog: set them on your ToolCatalog"
            )
        self.catalog = (
            catalog
            if catalog is not None
            else ToolCatalog(scout, collection=collection or default_collection, llm=llm)
        )
        self.tools = list(tools)
        self.namespace = namespace
        self._by_name: dict[str, Any] = {}
        for tool in self.tools:
            name = name_of(tool)
            if name in self._by_name:
                raise InvalidArgumentError(f"two tools are named {name!r}: tool names must be unique")
            self._by_name[name] = tool
        self.report = self.catalog.register(self.tools, namespace)
        # hits that are not ours (other namespaces, tools from earlier runs) are skipped: fetch that many more
        self._others = sum(
            1
            for spec in self.catalog.tools()
            if spec.name not in self._by_name or (spec.namespace or None) != (namespace or None)
            if namespace is None or spec.namespace == namespace
        )

    def pick(self, request: str, k: int, **options: Any) -> tuple[list[tuple[Any, Any]], Any]:
        """The best ``k`` of this picker's tools for ``request`` as ``(ToolHit, tool)``, and the full results."""
        if self.namespace is not None:
            options.setdefault("namespaces", [self.namespace])
        fetch = min(k + self._others, self.catalog.scout.settings.max_k)
        results = self.catalog.find_tools(request, k=fetch, **options)
        picked = [
            (hit, self._by_name[hit.spec.name])
            for hit in results.hits
            if (hit.spec.namespace or None) == (self.namespace or None) and hit.spec.name in self._by_name
        ]
        return picked[:k], results
