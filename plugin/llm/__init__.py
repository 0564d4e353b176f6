"""The LLM hopscout may call: any object with ``complete(prompt)`` (:class:`LLM`), a client for OpenAI-compatible
endpoints (:class:`LLMClient`), and the disk cache every LLM path goes through (:class:`CachedLLM`)."""

from .cache import LLMCache
from .cached import CachedLLM, llm_id
from .client import LLM, LLMClient
from .replay import ReplayLLM

__all__ = ["LLM", "CachedLLM", "LLMCache", "LLMClient", "ReplayLLM", "llm_id"]
