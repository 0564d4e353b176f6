"""An LLM whose replies are remembered on disk, so a prompt asked again (a re-registered tool, a repeated
query, a re-run eval) costs no second call. Every LLM path in hopscout (tool queries, tool expansion, query
augmentation) goes through one :class:`CachedLLM`."""

from __future__ import annotations

from ..errors import NoRecordedReplyError
from .cache import LLMCache
from .client import LLM


def llm_id(llm: LLM) -> str:
    """Names a model for cache keys: its class, endpoint and model name."""
    return f"{type(llm).__name__}:{getattr(llm, 'base_url', '')}:{getattr(llm, 'model', '')}"


class CachedLLM:
    """``complete`` of ``llm``, cached by (kind, prompt version, model, prompt); ``max_tokens`` caps every call."""

    def __init__(self, llm: LLM, cache: LLMCache, *, max_tokens: int | None = None) -> None:
        self.llm = llm
        self.cache = cache
        self.max_tokens = max_tokens
        self.id = llm_id(llm)

    def cached(self, kind: str, version: str, prompt: str) -> str | None:
        """The remembered reply to ``prompt``, or None (no call is made)."""
        hit = self.cache.get(self.cache.key(kind, version, self.id, prompt))
        return hit[0] if hit is not None else None

    def complete(
        self,
        kind: str,
        version: str,
        prompt: str,
        *,
        subject: str | None = None,
        max_tokens: int | None = None,
        json_mode: bool = False,
    ) -> str:
        """The reply to ``prompt`` (from the cache when this model answered it before). ``kind`` names the task
        and ``subject`` what the prompt is about (the request, the tool, the query): a model that replays
        recorded outputs (:class:`~hopscout.llm.replay.ReplayLLM`) answers from those two. Raises
        :class:`~hopscout.errors.LLMUnavailableError` when the model fails; failures are not cached."""
        replay = getattr(self.llm, "replay", None)
        if callable(replay) and subject is not None:
            text = replay(kind, subject)
            if text is None:
                raise NoRecordedReplyError(f"no recorded {kind} reply for {subject[:80]!r}")
            return str(text)
        key = self.cache.key(kind, version, self.id, prompt)
        hit = self.cache.get(key)
        if hit is not None:
            return hit[0]
        caps = [c for c in (max_tokens, self.max_tokens) if c is not None]
        text = self.llm.complete(prompt, max_tokens=min(caps) if caps else None, json_mode=json_mode)
        self.cache.put(key, [text])
        return text
