"""Shared fixtures: the bundled embedder (loaded once), a real Chroma server, and Scouts on both backends.

Server-mode tests use HOPSCOUT_TEST_CHROMA_URL when set (CI starts `chroma run` itself); otherwise the
session starts its own `chroma run` on a free loopback port.

Tests are marked by what they need (:func:`pytest_collection_modifyitems`), so a selection such as
``-m "not server and not llm and not node"`` skips the slow dependencies. Nothing here loads a model or starts a
process at import time or in an autouse fixture: ``tests/unit`` only triggers this module's import."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hopscout import Scout, Settings
from hopscout.bench.server import chroma_server, free_port
from hopscout.embedders import SentenceTransformerEmbedder

FIXTURES = Path(__file__).parent / "fixtures"
UNIT = Path(__file__).parent / "unit"
SERVER_MODULES = frozenset({"test_bench.py"})  # `hopscout bench` starts its own `chroma run`
HEAVY_FIXTURES = frozenset(
    {"embedder", "make_scout", "backend", "chroma_url", "llm_url"}
)  # not in tests/unit

for _name in [n for n in os.environ if n.startswith("HOPSCOUT_") and not n.startswith("HOPSCOUT_TEST_")]:
    del os.environ[_name]  # a developer's own settings must not leak into the tests


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The bundled all-MiniLM-L6-v2, shared by every test (loaded on first use)."""
    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real Chroma server (`chroma run`)."""
    url = os.environ.get("HOPSCOUT_TEST_CHROMA_URL")
    if url:
        yield url
        return
    with chroma_server(tmp_path_factory.mktemp("chroma-server")) as started:
        yield started


@pytest.fixture(params=["embedded", "server"])
def backend(request: pytest.FixtureRequest) -> str:
    """Every contract test runs on the embedded store and on a Chroma server."""
    return str(request.param)


ScoutFactory = Callable[..., Scout]


@pytest.fixture
def make_scout(
    backend: str, tmp_path: Path, embedder: SentenceTransformerEmbedder, request: pytest.FixtureRequest
) -> Iterator[ScoutFactory]:
    """Build Scouts on this test's backend; ``home`` separates processes' lexical indexes."""
    made: list[Scout] = []

    def factory(home: Path | None = None, **settings: object) -> Scout:
        values: dict[str, object] = {"home": home or tmp_path / "home", **settings}
        if backend == "server":
            values["chroma_url"] = request.getfixturevalue("chroma_url")
        scout = Scout(Settings(**values), embedder=embedder)  # type: ignore[arg-type]
        made.append(scout)
        return scout

    yield factory
    for scout in made:
        scout.close()


@pytest.fixture
def collection() -> str:
    """A fresh collection name (the server is shared by the whole session)."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def llm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (with /v1) of a real OpenAI-compatible LLM server: llama.cpp + SmolLM2-135M, offline.

    Uses HOPSCOUT_TEST_LLM_URL when set (CI starts the server itself); otherwise starts `start-llm-server`
    on a free loopback port with its own pidfile, and stops it after the session."""
    url = os.environ.get("HOPSCOUT_TEST_LLM_URL")
    if url:
        yield url.rstrip("/")
        return
    repo = Path(__file__).resolve().parent.parent
    script = shutil.which("start-llm-server") or str(repo.parent / "shared" / "llm" / "start-llm-server")
    if not Path(script).exists():
        pytest.skip("no LLM server: set HOPSCOUT_TEST_LLM_URL or install start-llm-server (../shared/llm)")
    folder = tmp_path_factory.mktemp("llm-server")
    env = {
        **os.environ,
        "LLM_PORT": str(free_port()),
        "LLM_PIDFILE": str(folder / "server.pid"),
        "LLM_LOG": str(folder / "server.log"),
        "LLM_THREADS": os.environ.get("LLM_THREADS", "1"),
    }
    done = subprocess.run([script], check=False, env=env, capture_output=True, text=True, timeout=900)
    found = [
        line.split("=", 1)[1] for line in done.stdout.splitlines() if line.startswith("OPENAI_BASE_URL=")
    ]
    if done.returncode != 0 or not found:
        raise RuntimeError(f"start-llm-server failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    yield found[0].rstrip("/")
    pid = int((folder / "server.pid").read_text().strip())
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        pass


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test by what it needs, so ``-m`` selects a tier:

    - ``unit``: under ``tests/unit`` (pure modules on hand-made values: no model, Chroma, server or network);
    - ``integration``: every other test (the bundled model, embedded Chroma, subprocesses);
    - ``server``: a Chroma server: uses the ``chroma_url`` fixture, runs with ``backend="server"``, or is in
      :data:`SERVER_MODULES`;
    - ``llm``: the LLM server (the ``llm_url`` fixture);
    - ``node``: the MCP Inspector CLI under Node (the ``node`` fixture of ``test_mcp.py``).

    ``slow`` stays a hand-written mark. Fixtures count whether used directly or through another fixture; a test
    in ``tests/unit`` that uses one of :data:`HEAVY_FIXTURES` is a usage error (it belongs outside the tier)."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if item.path.is_relative_to(UNIT):
            heavy = sorted(used & HEAVY_FIXTURES)
            if heavy:
                raise pytest.UsageError(
                    f"{item.nodeid} is in tests/unit but uses {', '.join(heavy)}: move it out of the fast tier"
                )
            item.add_marker(pytest.mark.unit)
            continue
        item.add_marker(pytest.mark.integration)
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "chroma_url" in used or params.get("backend") == "server" or item.path.name in SERVER_MODULES:
            item.add_marker(pytest.mark.server)
        if "llm_url" in used:
            item.add_marker(pytest.mark.llm)
        if "node" in used:
            item.add_marker(pytest.mark.node)
