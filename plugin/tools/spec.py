"""Tool descriptions from every common shape, turned into one :class:`ToolSpec` and one searchable document.

Accepted without importing any framework (each shape a :class:`ToolSource` in :data:`SOURCES`; adding one is a
reader function and one line there): MCP tools (objects or dicts with ``name``, ``description``,
``inputSchema``), OpenAI function/tool JSON (``{"type": "function", "function": {...}}`` or a bare
``{"name", "description", "parameters"}``), API catalogs (``api_name`` / ``api_description``, parameters as a
name → ``{type, description}`` mapping or an OpenAPI-style list; see :func:`input_schema`), LangChain tools (``.name``, ``.description``, ``.args`` or
``.tool_call_schema``), LlamaIndex tools (``.metadata.name``, ``.metadata.description``,
``.metadata.fn_schema``) and :class:`ToolSpec` itself. A tool's MCP ``annotations`` (``readOnlyHint``,
``destructiveHint``, ``idempotentHint``, ``openWorldHint``, ``title``), when it has them, are kept as published.

Names are checked by the core's rule for untrusted names (:func:`hopscout.untrusted.tool_name_problem`: no ``/``
or ``#``, no control, invisible or bidirectional characters, stable under Unicode NFKC, at most 128 characters),
namespaces by the same rule without whitespace: a tool registered without a namespace cannot take the key of a
server's tool (``github/create_issue``). A tool that fails a check raises :class:`~hopscout.errors.InvalidToolError`
(``ToolCatalog.register`` skips it and says why)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..agent_text import read_text
from ..errors import InvalidArgumentError, InvalidToolError
from ..untrusted import namespace_problem, shown, tool_name_problem

_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
MAX_DESCRIPTION_CHARS = 8000
# MCP tool annotations (hints a server gives about a tool): their wire names, and the Python names SDKs use.
HINTS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")
_ANNOTATION_ALIASES = {
    "read_only_hint": "readOnlyHint",
    "destructive_hint": "destructiveHint",
    "idempotent_hint": "idempotentHint",
    "open_world_hint": "openWorldHint",
}


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the catalog stores it: name, description, JSON-Schema of its input, its server, and the MCP
    annotations its server gave it (``{"readOnlyHint": true, ...}``; None when it gave none)."""

    name: str
    description: str
    input_schema: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)
    namespace: str | None = None
    annotations: dict[str, Any] | None = field(default=None, hash=False, compare=True)

    @property
    def key(self) -> str:
        """Unique key in a catalog: ``namespace/name``, or the name when there is no namespace."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def read_only(self) -> bool:
        """Whether its server marks it read-only (``readOnlyHint: true``); unmarked tools are not."""
        return bool(self.annotations and self.annotations.get("readOnlyHint") is True)

    def to_dict(self) -> dict[str, Any]:
        spec = {
            "name": self.name,
            "description": self.description,
            "input_schema": self.input_schema,
            "namespace": self.namespace,
        }
        if self.annotations:  # absent, not null: a tool without annotations keeps the hash it had before them
            spec["annotations"] = self.annotations
        return spec

    @property
    def content_hash(self) -> str:
        """Changes exactly when anything the catalog indexes or returns changes."""
        payload = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:20]


def split_name(name: str) -> str:
    """``getWeatherForecast`` / ``get_weather_forecast`` → ``get weather forecast``."""
    # names are kept split (a catalog read again splits every name again: 50,000 tools, 0.4 s); longer texts
    # (requests read as names) are split each time, so that the cache holds names and stays small
    return _split_name(name) if len(name) <= CACHED_NAME_CHARS else _split(name)


CACHED_NAME_CHARS = 257  # a tool key at most (server and tool names, 128 characters each, and "/"): cached


@lru_cache(maxsize=1 << 17)
def _split_name(name: str) -> str:
    return _split(name)


def _split(name: str) -> str:
    return " ".join(p.lower() for p in _PARTS.findall(name))


# The version of what tool_document writes: a catalog re-indexes tools indexed under another version.
# Version 3 writes the text as an agent is shown it (hopscout.agent_text: NFKC, no invisible characters,
# look-alike letters folded), so that search and the agent read the same words.
DOCUMENT_VERSION = "3"


def tool_document(spec: ToolSpec) -> str:
    """The text indexed for a tool: its name in words (``getFilmDetails`` → ``get film details``; BM25 splits the
    name itself), its description, then each parameter and its description. Version 1 wrote the name twice
    (``get film details (getFilmDetails)``), which cost dense search 3.4 points of nDCG@10 on MetaTool, whose
    names are brands ("now (Now)"), and changed Seal-Tools by at most 0.4. Every text is written as an agent
    is shown it (:func:`hopscout.agent_text.read_text`)."""
    lines = [split_name(spec.name) or spec.name]
    description = read_text(spec.description).clean.strip()
    if description:
        lines.append(description)
    params = [
        (read_text(pname).clean, read_text(pdesc).clean) for pname, pdesc in _parameters(spec.input_schema)
    ]
    if params:
        lines.append("Parameters:")
        for pname, pdesc in params:
            split = split_name(pname)
            label = f"{pname} ({split})" if split and split != pname else pname
            lines.append(f"- {label}: {pdesc}" if pdesc else f"- {label}")
    return "\n".join(lines)


def _parameters(schema: Mapping[str, Any]) -> list[tuple[str, str]]:
    props = schema.get("properties") if isinstance(schema, Mapping) else None
    if not isinstance(props, Mapping):
        return []
    out = []
    for pname, prop in props.items():
        desc = (prop.get("description") or prop.get("title") or "") if isinstance(prop, Mapping) else ""
        out.append((str(pname), " ".join(str(desc).split())))
    return out


def to_spec(tool: Any, namespace: str | None = None, *, position: int | None = None) -> ToolSpec:
    """Any accepted tool shape (:data:`SOURCES`) → :class:`ToolSpec`; raises InvalidToolError (an
    InvalidArgumentError) naming the tool and the field."""
    where = f"tool #{position}" if position is not None else "tool"
    source = next((s for s in SOURCES if s.matches(tool)), None)
    if source is None:
        reason = (
            f"a {type(tool).__name__} is not a tool (no 'name'); pass MCP, OpenAI, LangChain or LlamaIndex "
            "tools, ToolSpec or dicts"
        )
        raise InvalidToolError(f"{where}: {reason}", reason=reason)
    try:
        name, description, schema, ns = source.read(tool, where)
    except InvalidToolError:
        raise
    except InvalidArgumentError as exc:  # a reader's own check (e.g. no name at all)
        message = str(exc)
        raise InvalidToolError(message, reason=message.removeprefix(f"{where}: ")) from exc
    ns = namespace if namespace is not None else ns
    label = f"{where} {shown(name)}" if isinstance(name, str) else where

    def invalid(reason: str) -> InvalidToolError:
        return InvalidToolError(
            f"{label}: {reason}", name=name if isinstance(name, str) else None, reason=reason
        )

    if not isinstance(name, str):
        raise invalid(f"field 'name' must be a string, got {type(name).__name__}")
    problem = tool_name_problem(name)
    if problem:
        raise invalid(f"field 'name' cannot be a tool's name: {problem}")
    if description is None:
        description = ""
    if not isinstance(description, str):
        raise invalid(f"field 'description' must be a string, got {type(description).__name__}")
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise invalid(
            f"field 'description' has {len(description)} characters (limit {MAX_DESCRIPTION_CHARS}); shorten it"
        )
    if schema is None:
        schema = {}
    if not isinstance(schema, Mapping):
        raise invalid(f"field 'input schema' must be a JSON object, got {type(schema).__name__}")
    props = schema.get("properties")
    if props is not None and not isinstance(props, Mapping):
        raise invalid(f"field 'input schema.properties' must be an object, got {type(props).__name__}")
    problem = None if ns is None else namespace_problem(ns)
    if problem:
        raise invalid(f"namespace {shown(ns)} cannot name a server: {problem}")
    try:
        schema = json.loads(json.dumps(schema))
    except (TypeError, ValueError) as exc:
        raise invalid(f"field 'input schema' is not JSON-serialisable: {exc}") from exc
    try:
        annotations = _annotations(tool)
    except InvalidArgumentError as exc:
        raise invalid(str(exc)) from exc
    return ToolSpec(name, description, schema, ns, annotations)


def _annotations(tool: Any) -> dict[str, Any] | None:
    """A tool's MCP annotations in their wire form (``readOnlyHint``, ...), from an MCP ``Tool`` (its
    ``ToolAnnotations``), a tool dict's ``"annotations"`` or a :class:`ToolSpec`; None when it has none.
    Raises InvalidArgumentError saying what is wrong (:func:`to_spec` names the tool)."""
    found = tool.get("annotations") if isinstance(tool, Mapping) else getattr(tool, "annotations", None)
    if found is None:
        return None
    if not isinstance(found, Mapping) and callable(getattr(found, "model_dump", None)):  # pydantic (MCP SDK)
        found = found.model_dump(by_alias=True, exclude_none=True, mode="json")
    if not isinstance(found, Mapping) and not isinstance(tool, Mapping):
        return None  # a framework object's own attribute of that name, not MCP annotations
    if not isinstance(found, Mapping):
        raise InvalidArgumentError(
            f"field 'annotations' must be an object like {{\"readOnlyHint\": true}}, "
            f"got {type(found).__name__}"
        )
    out = {_ANNOTATION_ALIASES.get(str(k), str(k)): v for k, v in found.items() if v is not None}
    for hint in HINTS:
        if hint in out and not isinstance(out[hint], bool):
            raise InvalidArgumentError(f"annotation {hint!r} must be true or false, got {shown(out[hint])}")
    if "title" in out and not isinstance(out["title"], str):
        raise InvalidArgumentError(f"annotation 'title' must be a string, got {shown(out['title'])}")
    try:
        return json.loads(json.dumps(out)) or None
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"field 'annotations' is not JSON-serialisable: {exc}") from exc


# -- the shapes tools come in: each recognised by ``matches`` and read into (name, description, schema, namespace) --
Fields = tuple[Any, Any, Any, Any]


@dataclass(frozen=True)
class ToolSource:
    """One shape of tool description: how to recognise it and read its fields (checked by :func:`to_spec`)."""

    name: str
    matches: Callable[[Any], bool]
    read: Callable[[Any, str], Fields]


def _read_spec(tool: ToolSpec, where: str) -> Fields:
    return tool.name, tool.description, tool.input_schema, tool.namespace


def _read_openai(tool: Mapping[str, Any], where: str) -> Fields:
    return _read_mapping(tool["function"], where)


def _read_mapping(tool: Mapping[str, Any], where: str) -> Fields:
    name = next((tool[k] for k in _NAME_KEYS if k in tool), None)
    if name is None:
        raise InvalidArgumentError(f"{where}: field 'name' is missing (keys: {sorted(map(str, tool))[:8]})")
    description = next((tool[k] for k in _DESCRIPTION_KEYS if tool.get(k)), tool.get("description"))
    schema = next((tool[k] for k in ("inputSchema", "input_schema", "parameters") if k in tool), None)
    return name, description, input_schema(schema, tool.get("required")), tool.get("namespace")


# Where the fields live in the JSON shapes tools are published in: MCP / OpenAI (``name``, ``description``),
# Seal-Tools and API catalogs (``api_name``, ``api_description``), OpenAPI operations (``operationId``,
# ``summary``).
_NAME_KEYS = ("name", "api_name", "operationId")
_DESCRIPTION_KEYS = ("description", "api_description", "summary")
_PY_TYPES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "list": "array",
    "dict": "object",
}


def input_schema(parameters: Any, required: Any = None) -> Any:
    """A tool's parameters as JSON Schema, from the shapes catalogs use: JSON Schema itself (MCP, OpenAI), a
    mapping of name → ``{type, description}`` (Seal-Tools; ``required`` beside it), or an OpenAPI-style list
    of ``{name, description, schema | type, required}``. Anything else is returned as it is (``to_spec``
    then says what is wrong with it)."""
    if isinstance(parameters, list) and all(
        isinstance(p, Mapping) and isinstance(p.get("name"), str) for p in parameters
    ):
        props = {
            p["name"]: _property(p.get("schema") or {"type": p.get("type")}, p.get("description"))
            for p in parameters
        }
        needed = [p["name"] for p in parameters if p.get("required") is True]
        return {"type": "object", "properties": props, **({"required": needed} if needed else {})}
    if (
        not isinstance(parameters, Mapping)
        or "properties" in parameters
        or parameters.get("type") == "object"
    ):
        return parameters
    if parameters and all(isinstance(v, Mapping) for v in parameters.values()):  # name → {type, description}
        props = {str(k): _property(v, v.get("description")) for k, v in parameters.items()}
        needed = [str(r) for r in required] if isinstance(required, list) else []
        return {"type": "object", "properties": props, **({"required": needed} if needed else {})}
    return parameters


def _property(schema: Mapping[str, Any], description: Any) -> dict[str, Any]:
    prop = {k: v for k, v in schema.items() if v is not None and k != "description"}
    if isinstance(prop.get("type"), str):
        prop["type"] = _PY_TYPES.get(prop["type"], prop["type"])
    if description:
        prop["description"] = str(description)
    return prop


def _read_llamaindex(tool: Any, where: str) -> Fields:
    meta = tool.metadata
    return meta.name, meta.description, _model_schema(getattr(meta, "fn_schema", None)), None


def _read_object(tool: Any, where: str) -> Fields:
    schema = getattr(tool, "inputSchema", None) or getattr(tool, "input_schema", None)  # MCP Tool objects
    if schema is None and hasattr(tool, "tool_call_schema"):  # LangChain: args without injected ones
        schema = _model_schema(tool.tool_call_schema)
    if schema is None and isinstance(
        getattr(tool, "args", None), Mapping
    ):  # LangChain tools without a schema
        schema = {"type": "object", "properties": dict(tool.args)}
    return tool.name, getattr(tool, "description", None), _model_schema(schema), None


def _is_llamaindex(tool: Any) -> bool:
    meta = getattr(tool, "metadata", None)
    return meta is not None and hasattr(meta, "name") and hasattr(meta, "description")


SOURCES: tuple[ToolSource, ...] = (
    ToolSource("hopscout", lambda t: isinstance(t, ToolSpec), _read_spec),
    ToolSource(
        "openai",
        lambda t: (
            isinstance(t, Mapping) and t.get("type") == "function" and isinstance(t.get("function"), Mapping)
        ),
        _read_openai,
    ),
    ToolSource(
        "json", lambda t: isinstance(t, Mapping), _read_mapping
    ),  # MCP tools/list JSON, bare functions
    ToolSource("llamaindex", _is_llamaindex, _read_llamaindex),
    ToolSource("object", lambda t: hasattr(t, "name"), _read_object),  # MCP Tool objects, LangChain tools
)


def _model_schema(schema: Any) -> Any:
    """A pydantic model class (or instance) → its JSON schema; anything else unchanged."""
    if schema is None or isinstance(schema, Mapping):
        return schema
    for attr in ("model_json_schema", "schema"):
        fn = getattr(schema, attr, None)
        if callable(fn):
            try:
                return fn()
            except (
                TypeError,
                ValueError,
                AttributeError,
            ):  # a schema we cannot render is indexed without parameters
                return {}
    return schema


__all__ = ["SOURCES", "ToolSource", "ToolSpec", "split_name", "to_spec", "tool_document"]
