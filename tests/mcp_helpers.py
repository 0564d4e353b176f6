"""Start hopscout's MCP server (and test upstreams) as real processes and connect real clients to them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

HERE = Path(__file__).parent
SERVER = [sys.executable, "-m", "hopscout.servers.mcp"]
SCRIPT = str(Path(sys.executable).parent / "hopscout-mcp")


def server_env(home: Path, **settings: str) -> dict[str, str]:
    """The test process's environment (no HOPSCOUT_* of the developer's) plus this server's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPSCOUT_")}
    env.update(
        {
            "HOPSCOUT_HOME": str(home),
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            **{f"HOPSCOUT_{k.upper()}": v for k, v in settings.items()},
        }
    )
    return env


def stdio_params(home: Path, *flags: str, **settings: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=SERVER[0], args=[*SERVER[1:], *flags], env=server_env(home, **settings)
    )


@asynccontextmanager
async def stdio_client_logged(params: StdioServerParameters, log: Path) -> AsyncIterator[Client]:
    """The SDK client over stdio, with the server process's stderr (its log) written to ``log``."""
    with open(log, "w") as errlog:  # noqa: ASYNC230 - opened once, before the server starts
        async with Client(stdio_client(params, errlog=errlog)) as client:
            yield client


@asynccontextmanager
async def http_client(url: str, token: str | None = None, **kwargs: Any) -> AsyncIterator[Client]:
    """The SDK client over streamable HTTP, with a bearer token when given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300)) as http,
        Client(streamable_http_client(url, http_client=http), **kwargs) as client,
    ):
        yield client


class HttpServer:
    """``hopscout-mcp --transport http`` (or any command) in a subprocess, stopped by :meth:`stop`."""

    def __init__(self, cmd: list[str], env: dict[str, str], port: int, log: Path, path: str = "/mcp") -> None:
        self.url = f"http://127.0.0.1:{port}{path}"
        self.log = log
        self._log_file = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.url.rsplit("/", 1)[0] + "/", timeout=1)
                return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not start: {log.read_text()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_file.close()


def node_bin() -> str | None:
    """A Node ≥ 22.19 for the MCP Inspector: HOPSCOUT_TEST_NODE, else `node` on PATH if new enough."""
    for candidate in (os.environ.get("HOPSCOUT_TEST_NODE"), shutil.which("node")):
        if not candidate:
            continue
        try:
            version = subprocess.run(
                [candidate, "--version"], check=False, capture_output=True, text=True, timeout=10
            ).stdout
        except OSError:
            continue
        parts = tuple(int(p) for p in version.strip().lstrip("v").split(".")[:2] if p.isdigit())
        if parts >= (22, 19):
            return candidate
    return None


INSPECTOR = os.environ.get("HOPSCOUT_TEST_INSPECTOR", "@modelcontextprotocol/inspector@2.12.0")


def inspector(node: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Run ``npx @modelcontextprotocol/inspector --cli ARGS`` under ``node``; its stdout (JSON)."""
    run_env = dict(env or os.environ)
    run_env["PATH"] = f"{Path(node).parent}{os.pathsep}{run_env.get('PATH', '')}"
    npx = shutil.which("npx", path=run_env["PATH"]) or "npx"
    done = subprocess.run(
        [npx, "--yes", INSPECTOR, "--cli", *args],
        check=False,
        capture_output=True,
        text=True,
        env=run_env,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise AssertionError(
            f"inspector exited {done.returncode}: {done.stderr[-3000:]}\n{done.stdout[-2000:]}"
        )
    return done.stdout
