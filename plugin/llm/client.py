"""The LLM hopscout may call: any object with ``complete(prompt)``, and a client for OpenAI-compatible endpoints.

:class:`LLMClient` speaks ``/v1/chat/completions`` over httpx (Ollama, vLLM, llama.cpp, OpenAI). Every call
sends ``max_tokens``, is bounded by a timeout, and retries a bounded number of times with backoff on errors that
may pass (refused connection, 429, 5xx). A read timeout is not retried: a slow endpoint stays slow. Every
failure raises :class:`LLMUnavailableError`; features that use an LLM catch it and fall back to their
LLM-free path."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import httpx

from ..errors import InvalidArgumentError, LLMUnavailableError

if TYPE_CHECKING:
    from ..settings import Settings

_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@runtime_checkable
class LLM(Protocol):
    """Anything that completes a prompt (adapters wrap LangChain / LlamaIndex chat models in this)."""

    def complete(self, prompt: str, *, max_tokens: int | None = None, json_mode: bool = False) -> str: ...


class LLMClient:
    """OpenAI-compatible chat completions over httpx, with timeouts, bounded retries and a token cap.

    >>> llm = LLMClient("http://127.0.0.1:11434/v1", "llama3.2", timeout=5)
    >>> llm.complete("Name one planet.", max_tokens=8)

    ``calls`` counts HTTP requests made (retries included), for evaluations. After a failure the client answers
    at once with the same error for ``cooldown`` seconds, so a dead endpoint costs one timeout, not one per call."""

    def __init__(
        self,
        base_url: str,
        model: str = "default",
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        max_retries: int = 1,
        max_tokens: int = 128,
        temperature: float = 0.0,
        cooldown: float = 30.0,
    ) -> None:
        if not isinstance(base_url, str) or not base_url.strip().startswith(("http://", "https://")):
            raise InvalidArgumentError(f"LLM base_url must be an http(s) URL ending in /v1, got {base_url!r}")
        for name, value, low in (("timeout", timeout, 0.0), ("cooldown", cooldown, -1e-9)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= low:
                raise InvalidArgumentError(f"LLM {name} must be a positive number of seconds, got {value!r}")
        for name, value, low in (("max_retries", max_retries, 0), ("max_tokens", max_tokens, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidArgumentError(f"LLM {name} must be an integer >= {low}, got {value!r}")
        self.base_url = base_url.strip().rstrip("/")
        self.model = model
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.cooldown = float(cooldown)
        self.calls = 0
        self._lock = threading.Lock()
        self._failed: tuple[float, LLMUnavailableError] | None = None
        self._json_supported = True
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 5.0)), headers=headers
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMClient | None:
        """A client for ``HOPSCOUT_LLM_*`` settings, or None when no endpoint is configured."""
        if not settings.llm_base_url:
            return None
        return cls(
            settings.llm_base_url,
            settings.llm_model,
            api_key=settings.llm_api_key,
            timeout=settings.llm_timeout,
            max_retries=settings.llm_max_retries,
            max_tokens=settings.llm_max_tokens,
        )

    def __repr__(self) -> str:
        return f"LLMClient({self.base_url!r}, model={self.model!r}, timeout={self.timeout})"

    def close(self) -> None:
        self._http.close()

    def complete(self, prompt: str, *, max_tokens: int | None = None, json_mode: bool = False) -> str:
        """The model's reply to one user message. Raises :class:`LLMUnavailableError` on any failure."""
        if not isinstance(prompt, str) or not prompt.strip():
            raise InvalidArgumentError("prompt must be a non-empty string")
        cap = self.max_tokens if max_tokens is None else max_tokens
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise InvalidArgumentError(f"max_tokens must be a positive integer, got {cap!r}")
        failed = self._failed
        if failed is not None and time.monotonic() - failed[0] < self.cooldown:
            raise failed[1]
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": cap,
            "temperature": self.temperature,
        }
        if json_mode and self._json_supported:
            body["response_format"] = {"type": "json_object"}
        try:
            text = self._post(body)
        except LLMUnavailableError as exc:
            self._failed = (time.monotonic(), exc)
            raise
        self._failed = None
        return text

    def _post(self, body: dict[str, Any]) -> str:
        url = f"{self.base_url}/chat/completions"
        attempt = 0
        while True:
            with self._lock:
                self.calls += 1
            try:
                response = self._http.post(url, json=body)
            except httpx.TimeoutException as exc:
                raise LLMUnavailableError(
                    f"LLM endpoint {self.base_url} timed out after {self.timeout:g}s ({type(exc).__name__})"
                ) from exc
            except httpx.HTTPError as exc:
                if attempt < self.max_retries:
                    attempt += 1
                    time.sleep(0.25 * 2 ** (attempt - 1))
                    continue
                raise LLMUnavailableError(f"LLM endpoint {self.base_url} is unreachable: {exc}") from exc
            if response.status_code in (400, 422) and "response_format" in body:
                self._json_supported = False  # the server rejects JSON mode: ask for plain text from now on
                body = {k: v for k, v in body.items() if k != "response_format"}
                continue
            if response.status_code in _RETRY_STATUS and attempt < self.max_retries:
                attempt += 1
                time.sleep(0.25 * 2 ** (attempt - 1))
                continue
            if response.status_code != 200:
                raise LLMUnavailableError(
                    f"LLM endpoint {self.base_url} answered HTTP {response.status_code}: {response.text[:200]}"
                )
            return _content(response, self.base_url)


def _content(response: httpx.Response, base_url: str) -> str:
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise LLMUnavailableError(
            f"LLM endpoint {base_url} sent a response that is not a chat completion: {response.text[:200]}"
        ) from exc
    if not isinstance(content, str):
        raise LLMUnavailableError(f"LLM endpoint {base_url} sent no text content")
    return content
