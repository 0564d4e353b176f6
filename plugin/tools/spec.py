"""Tool descriptions from every common shape, turned into one :class:`ToolSpec` and one searchable document.

Accepted without importing any framework: MCP tools (objects or dicts with ``name``, ``description``,
``inputSchema``), OpenAI function/tool JSON (``{"type": "function", "function": {...}}`` or a bare
``{"name", "description", "parameters"}``), LangChain tools (``.name``, ``.description``, ``.args`` or
``.tool_call_schema``), LlamaIndex tools (``.metadata.name``, ``.metadata.description``,
``.metadata.fn_schema``) and :class:`ToolSpec` itself."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgumentError

_NAME = re.compile(r"^[^\s/#][^\n\r\t#]{0,199}(?<!\s)$")
_NAMESPACE = re.compile(r"^[^\s/#]{1,100}$")
_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
MAX_DESCRIPTION_CHARS = 8000


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the catalog stores it: name, description, JSON-Schema of its input, and its server."""

    name: str
    description: str
    input_schema: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)
    namespace: str | None = None

    @property
    def key(self) -> str:
        """Unique key in a catalog: ``namespace/name``, or the name when there is no namespace."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema,
                "namespace": self.namespace}

    @property
    def content_hash(self) -> str:
        """Changes exactly when anything the catalog indexes or returns changes."""
        payload = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:20]


def split_name(name: str) -> str:
    """``getWeatherForecast`` / ``get_weather_forecast`` → ``get weather forecast``."""
    return " ".join(p.lower() for p in _PARTS.findall(name))


def tool_document(spec: ToolSpec) -> str:
    """The text indexed for a tool: split name, name, description, then each parameter and its description."""
    lines = [f"{split_name(spec.name)} ({spec.name})" if split_name(spec.name) != spec.name else spec.name]
    if spec.description.strip():
        lines.append(spec.description.strip())
    params = _parameters(spec.input_schema)
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
    """Any accepted tool shape → :class:`ToolSpec`; raises InvalidArgumentError naming the tool and the field."""
    where = f"tool #{position}" if position is not None else "tool"
    if isinstance(tool, ToolSpec):
        name, description, schema, ns = tool.name, tool.description, tool.input_schema, tool.namespace
    elif isinstance(tool, Mapping):
        name, description, schema, ns = _from_mapping(tool, where)
    else:
        name, description, schema, ns = _from_object(tool, where)
    ns = namespace if namespace is not None else ns
    label = f"{where} {name!r}" if isinstance(name, str) else where
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidArgumentError(
            f"{label}: field 'name' must be a one-line string of 1-200 characters without '#' or a leading '/' (got {name!r})"
        )
    if description is None:
        description = ""
    if not isinstance(description, str):
        raise InvalidArgumentError(f"{label}: field 'description' must be a string, got {type(description).__name__}")
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise InvalidArgumentError(f"{label}: field 'description' has {len(description)} characters "
                                   f"(limit {MAX_DESCRIPTION_CHARS}); shorten it")
    if schema is None:
        schema = {}
    if not isinstance(schema, Mapping):
        raise InvalidArgumentError(f"{label}: field 'input schema' must be a JSON object, got {type(schema).__name__}")
    props = schema.get("properties")
    if props is not None and not isinstance(props, Mapping):
        raise InvalidArgumentError(f"{label}: field 'input schema.properties' must be an object, got {type(props).__name__}")
    if ns is not None and (not isinstance(ns, str) or not _NAMESPACE.match(ns)):
        raise InvalidArgumentError(f"{label}: namespace must be a non-empty string without spaces, '/' or '#' (got {ns!r})")
    try:
        schema = json.loads(json.dumps(schema))
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"{label}: field 'input schema' is not JSON-serialisable: {exc}") from exc
    return ToolSpec(name, description, schema, ns)


def _from_mapping(tool: Mapping[str, Any], where: str) -> tuple[Any, Any, Any, Any]:
    if tool.get("type") == "function" and isinstance(tool.get("function"), Mapping):  # OpenAI tool
        tool = tool["function"]
    if "name" not in tool:
        raise InvalidArgumentError(f"{where}: field 'name' is missing (keys: {sorted(map(str, tool))[:8]})")
    schema = next((tool[k] for k in ("inputSchema", "input_schema", "parameters") if k in tool), None)
    return tool["name"], tool.get("description"), schema, tool.get("namespace")


def _from_object(tool: Any, where: str) -> tuple[Any, Any, Any, Any]:
    meta = getattr(tool, "metadata", None)
    if meta is not None and hasattr(meta, "name") and hasattr(meta, "description"):  # LlamaIndex ToolMetadata
        return meta.name, meta.description, _model_schema(getattr(meta, "fn_schema", None)), None
    if not hasattr(tool, "name"):
        raise InvalidArgumentError(f"{where}: a {type(tool).__name__} is not a tool (no 'name'); pass MCP, OpenAI, "
                                   "LangChain or LlamaIndex tools, ToolSpec or dicts")
    schema = getattr(tool, "inputSchema", None) or getattr(tool, "input_schema", None)  # MCP Tool objects
    if schema is None and hasattr(tool, "tool_call_schema"):  # LangChain: args without injected ones
        schema = _model_schema(tool.tool_call_schema)
    if schema is None and isinstance(getattr(tool, "args", None), Mapping):
        schema = {"type": "object", "properties": dict(tool.args)}
    return tool.name, getattr(tool, "description", None), _model_schema(schema), None


def _model_schema(schema: Any) -> Any:
    """A pydantic model class (or instance) → its JSON schema; anything else unchanged."""
    if schema is None or isinstance(schema, Mapping):
        return schema
    for attr in ("model_json_schema", "schema"):
        fn = getattr(schema, attr, None)
        if callable(fn):
            try:
                return fn()
            except (TypeError, ValueError, AttributeError):  # a schema we cannot render is indexed without parameters
                return {}
    return schema


__all__ = ["ToolSpec", "split_name", "to_spec", "tool_document"]
