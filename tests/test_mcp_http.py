"""The MCP server's HTTP doors (issue 25, finding 7): Host and Origin checked whatever the bind address, a
token required for router mode, long enough, and never read from the command line.

Servers here are real: uvicorn serving ``HopscoutMCPServer.http_app()`` on 127.0.0.x / ::1, or the
``hopscout-mcp`` command. A server configured for ``0.0.0.0`` is served on 127.0.0.1 (tests never listen beyond
loopback): the app, built from the settings, is what decides."""

from __future__ import annotations

import json
import os
import secrets
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_helpers import SCRIPT, HttpServer, http_client, server_env

from hopscout import InvalidArgumentError
from hopscout.bench.server import free_port
from hopscout.servers.bench import INITIALIZE
from hopscout.servers.mcp import HopscoutMCPServer, main
from hopscout.servers.settings import MIN_TOKEN_LENGTH, ServerSettings, url_host

TOKEN = "t" + secrets.token_urlsafe(32)  # never led by "-": argparse would read such a value as an option
UPSTREAM = str(Path(__file__).parent / "mcp_upstream.py")
FOREIGN_ORIGIN = "http://evil.example"
ACCEPT = {"Accept": "application/json, text/event-stream"}


@asynccontextmanager
async def serving(settings: ServerSettings, bind: str = "127.0.0.1") -> AsyncIterator[str]:
    """uvicorn serving the app built from ``settings`` on ``bind``:settings.port; yields the /mcp URL."""
    app = HopscoutMCPServer(settings).http_app()
    server = uvicorn.Server(
        uvicorn.Config(app, host=bind, port=settings.port, log_level="warning", lifespan="on")
    )
    async with anyio.create_task_group() as group:
        group.start_soon(server.serve)
        while not server.started:
            await anyio.sleep(0.05)
        try:
            yield f"http://{url_host(bind)}:{settings.port}/mcp"
        finally:
            server.should_exit = True


async def initialize(url: str, *, token: str | None = None, **headers: str) -> int:
    """The status of a raw ``initialize`` POST with these headers (``host=``, ``origin=``)."""
    sent = {**ACCEPT, **{k.capitalize(): v for k, v in headers.items()}}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(timeout=30) as client:
        return (await client.post(url, json=INITIALIZE, headers=sent)).status_code


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


# -- Host / Origin (DNS rebinding) -----------------------------------------------------------------------


async def test_every_address_refuses_foreign_host_and_origin_even_with_the_token() -> None:
    """Attack: a server bound to 0.0.0.0 with a token had the SDK's Host/Origin checks off, so a page on a
    foreign origin (or a rebound DNS name) that had the token got 200. Now: 403 / 421 with the token too."""
    port = free_port()
    settings = ServerSettings(
        transport="http", host="0.0.0.0", port=port, token=TOKEN, allowed_hosts="search.example.com"
    )
    async with serving(settings) as url:
        assert await initialize(url, origin=FOREIGN_ORIGIN) == 401
        assert await initialize(url, token=TOKEN, origin=FOREIGN_ORIGIN) == 403
        assert await initialize(url, token=TOKEN, host=f"evil.example:{port}") == 421
        assert await initialize(url, token=TOKEN, host=f"search.example.com:{port}") == 200
        assert await initialize(url, token=TOKEN, host="search.example.com") == 200
        assert await initialize(url, token=TOKEN) == 200  # 127.0.0.1:port: 0.0.0.0 listens on loopback too
        assert await initialize(url, token=TOKEN, origin=f"http://127.0.0.1:{port}") == 200


BINDS = [
    "127.0.0.2",
    pytest.param(
        "::1", marks=pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
    ),
]


@pytest.mark.parametrize("bind", BINDS)
async def test_other_loopback_spellings_get_the_checks(bind: str) -> None:
    """Attack: bound to 127.0.0.2 or [::1] without a token, the SDK left its checks off (it only knows
    127.0.0.1, localhost and ::1 spelled so), and a foreign Origin got 200. Now: 403 / 421."""
    port = free_port()
    settings = ServerSettings(transport="http", host=url_host(bind), port=port)
    async with serving(settings, bind) as url:
        assert await initialize(url, origin=FOREIGN_ORIGIN) == 403
        assert await initialize(url, host=f"evil.example:{port}") == 421
        assert await initialize(url, host=f"attacker.example:{port}", origin=FOREIGN_ORIGIN) == 421
        assert await initialize(url) == 200
        assert await initialize(url, origin=f"http://{url_host(bind)}:{port}") == 200
        assert await initialize(url, host=f"localhost:{port}", origin=f"http://localhost:{port}") == 200


async def test_configured_origin_is_let_in_and_others_are_not() -> None:
    port = free_port()
    settings = ServerSettings(
        transport="http", port=port, allowed_origins="https://app.example.com, http://localhost:*"
    )
    async with serving(settings) as url:
        assert await initialize(url, origin="https://app.example.com") == 200
        assert await initialize(url, origin="http://localhost:3000") == 200
        assert await initialize(url, origin="https://app.example.com.evil.example") == 403
        assert await initialize(url, origin="http://127.0.0.1:3000") == 403  # only the server's own port


async def test_a_legitimate_client_connects_and_lists_tools() -> None:
    """The real SDK client, with the server's own Origin and the token, over the checks."""
    port = free_port()
    settings = ServerSettings(transport="http", port=port, token=TOKEN)
    async with serving(settings) as url:
        headers = {"Authorization": f"Bearer {TOKEN}", "Origin": f"http://127.0.0.1:{port}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"search", "find_tools", "list_collections"} <= names


def test_allowed_hosts_and_origins_follow_the_bind_address() -> None:
    loopback = ServerSettings(transport="http", port=9000)
    assert loopback.allowed_host_headers() == ["127.0.0.1:9000", "localhost:9000", "[::1]:9000"]
    assert loopback.allowed_origin_headers() == [
        "http://127.0.0.1:9000",
        "http://localhost:9000",
        "http://[::1]:9000",
    ]
    lan = ServerSettings(
        transport="http", host="192.168.1.20", port=9000, token=TOKEN, allowed_hosts="::2,a:*"
    )
    assert lan.allowed_host_headers() == ["192.168.1.20:9000", "[::2]", "[::2]:9000", "a:*"]
    assert lan.allowed_origin_headers() == ["http://192.168.1.20:9000"]
    assert ServerSettings(transport="http", host="[::1]").host == "::1"
    assert ServerSettings(transport="http", port=0).allowed_host_headers()[0] == "127.0.0.1:*"
    # on the scheme's default port a client's Host header carries no port
    assert "localhost" in ServerSettings(transport="http", port=80).allowed_host_headers()
    assert "localhost" not in loopback.allowed_host_headers()


def test_http_app_needs_http_settings() -> None:
    with pytest.raises(InvalidArgumentError, match="transport='http'"):
        HopscoutMCPServer(ServerSettings()).http_app()


# -- refusing to start (the CLI: exit 2 and one `error:` line) --------------------------------------------


@contextmanager
def occupied_port() -> Iterator[int]:
    """A port already taken: a server that wrongly started anyway fails to bind (exit 1) instead of hanging."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *flags: str, **env: str
) -> str:
    """Run ``main()`` with only these HOPSCOUT_* variables; assert it refuses to start; its error line."""
    for key in [k for k in os.environ if k.startswith("HOPSCOUT_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(f"HOPSCOUT_{key.upper()}", value)
    with occupied_port() as port, pytest.raises(SystemExit) as stopped:
        main(["--transport", "http", "--port", str(port), *flags])
    out, err = capsys.readouterr()
    assert stopped.value.code == 2, err
    assert out == "" and err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    return err


@pytest.fixture
def upstreams(tmp_path: Path) -> Path:
    path = tmp_path / "servers.json"
    path.write_text(
        json.dumps({"mcpServers": {"weather": {"command": sys.executable, "args": [UPSTREAM, "weather"]}}})
    )
    return path


def test_router_over_http_without_a_token_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], upstreams: Path
) -> None:
    """Attack: router mode on loopback served call_tool with no token, so any local process or web page
    could run the upstream tools. Now the server does not start."""
    err = refused(monkeypatch, capsys, "--upstream", str(upstreams))
    assert "router mode" in err and "HOPSCOUT_TOKEN" in err and "--token-file" in err


def test_a_short_token_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(monkeypatch, capsys, token="x" * (MIN_TOKEN_LENGTH - 1))
    assert f"at least {MIN_TOKEN_LENGTH}" in err and "secrets.token_urlsafe(32)" in err
    assert "printable ASCII" in refused(monkeypatch, capsys, token="a" * MIN_TOKEN_LENGTH + " b")


def test_token_on_the_command_line_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Attack: `--token` put the secret in the process list. Now refused (even a good one), and the error
    does not repeat it."""
    err = refused(monkeypatch, capsys, "--token", TOKEN)
    assert "--token is refused" in err and "HOPSCOUT_TOKEN" in err and "--token-file" in err
    assert TOKEN not in err
    assert "--token is refused" in refused(monkeypatch, capsys, f"--token={TOKEN}", token=TOKEN)


def test_every_address_needs_its_public_names(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused(monkeypatch, capsys, "--host", "0.0.0.0", token=TOKEN)
    assert "HOPSCOUT_ALLOWED_HOSTS" in err
    assert "HOPSCOUT_TOKEN" in refused(
        monkeypatch, capsys, "--host", "0.0.0.0", "--allowed-host", "a.example"
    )
    assert "not a Host header value" in refused(monkeypatch, capsys, "--allowed-host", "http://a.example/")
    assert "not an origin" in refused(monkeypatch, capsys, allowed_origins="app.example.com")


def test_bad_token_files_are_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "missing"
    assert "cannot read the token file" in refused(monkeypatch, capsys, "--token-file", str(missing))
    empty = tmp_path / "empty"
    empty.write_text("\n")
    empty.chmod(0o600)
    assert "is empty" in refused(monkeypatch, capsys, token_file=str(empty))
    short = tmp_path / "short"
    short.write_text("abc\n")
    short.chmod(0o600)
    assert "HOPSCOUT_TOKEN_FILE) is 3 characters" in refused(monkeypatch, capsys, token_file=str(short))
    good = tmp_path / "good"
    good.write_text(TOKEN)
    good.chmod(0o600)
    assert "not both" in refused(monkeypatch, capsys, "--token-file", str(good), token=TOKEN)
    if os.name == "posix":
        good.chmod(0o644)
        assert "chmod 600" in refused(monkeypatch, capsys, token_file=str(good))


def test_stdio_ignores_the_http_settings() -> None:
    settings = ServerSettings(token="short", token_file=Path("/nonexistent"), upstream=Path("servers.json"))
    assert settings.transport == "stdio" and settings.bearer_token is None


# -- starting with a token: the command, a token file, router mode ----------------------------------------


async def test_router_over_http_with_a_token_file(tmp_path: Path, upstreams: Path) -> None:
    """The legitimate path: router mode with --token-file; a client with the token lists find_tools and
    call_tool and runs an upstream tool; without it, 401."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    port = free_port()
    server = HttpServer(
        [SCRIPT, "--transport", "http", "--port", str(port), "--upstream", str(upstreams)],
        server_env(tmp_path / "home", token_file=str(token_file)),
        port,
        tmp_path / "server.log",
    )
    try:
        assert await initialize(server.url) == 401
        assert await initialize(server.url, token="x" * MIN_TOKEN_LENGTH) == 401
        async with http_client(server.url, TOKEN) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert {"find_tools", "call_tool"} <= names
            result: Any = await client.call_tool(
                "call_tool",
                {"name": "weather/convert_temperature", "arguments": {"value": 100, "to_unit": "F"}},
            )
            assert not result.is_error, result.content
            assert "212" in json.dumps(result.structured_content or result.content[0].text)
    finally:
        server.stop()
