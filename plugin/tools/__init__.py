"""Tool retrieval: :class:`ToolCatalog` registers tools (MCP, OpenAI, LangChain, LlamaIndex, JSON) and finds
the few that fit a request, with optional LLM-written queries and per-tool synthetic requests."""

from .catalog import ToolCatalog
from .profiles import Profile
from .results import RegisterReport, ToolHit, ToolResults
from .spec import ToolSpec, to_spec, tool_document

__all__ = [
    "Profile",
    "RegisterReport",
    "ToolCatalog",
    "ToolHit",
    "ToolResults",
    "ToolSpec",
    "to_spec",
    "tool_document",
]
