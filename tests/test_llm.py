"""LLMClient against a real llama.cpp server (SmolLM2-135M) and, for failure modes no real model shows on
demand, a tiny real HTTP server (500s, slow answers, garbage, servers rejecting JSON mode). No httpx mocks."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import pytest

from hopscout import LLM, LLMClient, LLMUnavailableError, Settings
from hopscout.errors import InvalidArgumentError


class _Handler(BaseHTTPRequestHandler):
    """Behaviour picked by the first path segment: /ok, /fail, /flaky, /slow, /garbage, /nojson."""

    seen: ClassVar[list[tuple[str, dict[str, Any]]]] = []
    hits: ClassVar[dict[str, int]] = {}

    def log_message(self, *args: Any) -> None:  # keep pytest output clean
        pass

    def _reply(self, status: int, payload: Any) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        mode = self.path.strip("/").split("/")[0]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append((mode, body))
        self.hits[mode] = self.hits.get(mode, 0) + 1
        ok = {"choices": [{"message": {"role": "assistant", "content": "hello"}}]}
        if mode == "fail":
            self._reply(500, {"error": "boom"})
        elif mode == "flaky":
            self._reply(503, {"error": "busy"}) if self.hits[mode] == 1 else self._reply(200, ok)
        elif mode == "slow":
            time.sleep(1.5)
            self._reply(200, ok)
        elif mode == "garbage":
            self._reply(200, b"<html>not json</html>")
        elif mode == "nojson" and "response_format" in body:
            self._reply(400, {"error": "response_format not supported"})
        else:
            self._reply(200, ok)


@pytest.fixture(scope="module")
def fake_base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


# -- failure modes over real HTTP -------------------------------------------------------------------
def test_sends_max_tokens_model_and_key(fake_base: str) -> None:
    client = LLMClient(f"{fake_base}/ok/v1", "m1", api_key="k", max_tokens=7)
    assert client.complete("hi") == "hello"
    assert client.complete("hi", max_tokens=3, json_mode=True) == "hello"
    (_, first), (_, second) = _Handler.seen[-2:]
    assert first["max_tokens"] == 7 and first["model"] == "m1" and "response_format" not in first
    assert second["max_tokens"] == 3 and second["response_format"] == {"type": "json_object"}
    assert client.calls == 2
    assert isinstance(client, LLM)


def test_retries_5xx_then_gives_up(fake_base: str) -> None:
    assert LLMClient(f"{fake_base}/flaky/v1", max_retries=1).complete("hi") == "hello"
    client = LLMClient(f"{fake_base}/fail/v1", max_retries=2)
    with pytest.raises(LLMUnavailableError, match="HTTP 500"):
        client.complete("hi")
    assert client.calls == 3  # one call + two retries, bounded
    start = time.perf_counter()
    with pytest.raises(LLMUnavailableError):
        client.complete("hi")  # cooldown: a failed endpoint answers at once
    assert time.perf_counter() - start < 0.05 and client.calls == 3


def test_slow_endpoint_times_out_fast(fake_base: str) -> None:
    client = LLMClient(f"{fake_base}/slow/v1", timeout=0.3, max_retries=3)
    start = time.perf_counter()
    with pytest.raises(LLMUnavailableError, match="timed out after 0.3s"):
        client.complete("hi")
    assert time.perf_counter() - start < 1.0 and client.calls == 1  # a read timeout is not retried


def test_garbage_and_json_mode_fallback(fake_base: str) -> None:
    with pytest.raises(LLMUnavailableError, match="not a chat completion"):
        LLMClient(f"{fake_base}/garbage/v1", max_retries=0).complete("hi")
    client = LLMClient(f"{fake_base}/nojson/v1")
    assert client.complete("hi", json_mode=True) == "hello"  # 400 on response_format → retried without it
    assert client.complete("hi", json_mode=True) == "hello"
    assert "response_format" not in _Handler.seen[-1][1] and client.calls == 3


def test_dead_port_and_bad_arguments() -> None:
    with pytest.raises(LLMUnavailableError, match="unreachable"):
        LLMClient("http://127.0.0.1:9/v1", max_retries=1).complete("hi")
    for bad in ({"timeout": 0}, {"max_retries": -1}, {"max_tokens": 0}, {"timeout": "x"}):
        with pytest.raises(InvalidArgumentError):
            LLMClient("http://127.0.0.1:9/v1", **bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="http"):
        LLMClient("127.0.0.1:9")
    with pytest.raises(InvalidArgumentError):
        LLMClient("http://127.0.0.1:9/v1").complete("  ")
    assert LLMClient.from_settings(Settings(home="/tmp/unused")) is None
    client = LLMClient.from_settings(
        Settings(home="/tmp/unused", llm_base_url="http://h:1/v1/", llm_timeout=3, llm_max_tokens=9)
    )
    assert (
        client is not None
        and client.base_url == "http://h:1/v1"
        and client.timeout == 3
        and client.max_tokens == 9
    )


# -- the real local model ---------------------------------------------------------------------------
def test_real_completion_cap_and_json(llm_url: str) -> None:
    client = LLMClient(llm_url, timeout=60)
    text = client.complete("Name three planets.", max_tokens=24)
    assert isinstance(text, str) and text.strip()
    capped = client.complete("Count from one to one hundred in words.", max_tokens=5)
    assert 0 < len(capped.split()) <= 5  # every word costs at least one token
    raw = httpx.post(
        f"{llm_url}/chat/completions",
        json={
            "model": "x",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": "Count from one to one hundred in words."}],
        },
        timeout=60,
    ).json()
    assert raw["usage"]["completion_tokens"] <= 5
    reply = client.complete(
        'List two fruits. Answer only JSON: {"items": ["..."]}', max_tokens=40, json_mode=True
    )
    assert isinstance(json.loads(reply), dict)


def test_real_server_timeout_is_fast(llm_url: str) -> None:
    client = LLMClient(llm_url, timeout=0.05, max_retries=2)
    start = time.perf_counter()
    with pytest.raises(LLMUnavailableError, match="timed out"):
        client.complete("Write a long story about a dragon.", max_tokens=16)
    assert time.perf_counter() - start < 1.0
