"""Embedders: the bundled model offline, and an OpenAI-compatible endpoint over real HTTP."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from hopscout import EmbedderUnavailableError, OpenAIEmbedder, Scout, Settings
from hopscout.embedders import make_embedder


def test_bundled_model_loads_offline_and_normalises(embedder) -> None:
    vectors = embedder.embed_documents(["hello world", "another text"])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert embedder.tokenizer_path is not None and embedder.tokenizer_path.name == "tokenizer.json"


def test_prefixes_change_query_vectors(embedder) -> None:
    from hopscout import SentenceTransformerEmbedder

    prefixed = SentenceTransformerEmbedder(query_prefix="query: ")
    prefixed._model = embedder.model  # same weights, no second load
    plain, with_prefix = (
        embedder.embed_queries(["capital of France"]),
        prefixed.embed_queries(["capital of France"]),
    )
    assert not np.allclose(plain, with_prefix)
    assert np.allclose(embedder.embed_documents(["x"]), prefixed.embed_documents(["x"]))


@pytest.fixture(scope="module")
def embeddings_server(embedder) -> Iterator[str]:
    """A real OpenAI-compatible /v1/embeddings endpoint on loopback, backed by the bundled model."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            vectors = embedder.model.encode(texts, convert_to_numpy=True) * 3.0  # un-normalised on purpose
            data = [
                {"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)
            ]
            payload = json.dumps({"object": "list", "data": data[::-1], "model": body["model"]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_openai_endpoint_embedder_indexes_and_searches(embeddings_server: str, embedder, tmp_path) -> None:
    remote = make_embedder(Settings(embedder="openai:minilm", embeddings_url=embeddings_server, batch_size=2))
    assert isinstance(remote, OpenAIEmbedder) and remote.dim == 384
    local = embedder.embed_documents(["a b c", "Paris is in France", "x"])
    assert np.allclose(remote.embed_documents(["a b c", "Paris is in France", "x"]), local, atol=1e-4)
    scout = Scout(Settings(home=tmp_path), embedder=remote)
    scout.add(["Paris is the capital of France.", "Bananas are yellow."], collection="remote-emb")
    assert "Paris" in scout.search("French capital", k=1, mode="dense", collection="remote-emb")[0].text
    assert scout.collections()[0].embedder == f"openai:minilm@{embeddings_server}"


def test_dead_endpoint_is_a_clear_error() -> None:
    dead = OpenAIEmbedder("m", "http://127.0.0.1:9/v1", timeout=2)
    with pytest.raises(EmbedderUnavailableError, match="HOPSCOUT_EMBEDDINGS_URL"):
        dead.embed_queries(["hello"])
    with pytest.raises(EmbedderUnavailableError, match="HOPSCOUT_EMBEDDINGS_URL"):
        make_embedder(Settings(embedder="openai:x"))


def test_missing_local_model_is_a_clear_error(tmp_path) -> None:
    from hopscout import SentenceTransformerEmbedder

    with pytest.raises(EmbedderUnavailableError, match="Downloads are off"):
        SentenceTransformerEmbedder(str(tmp_path / "no-model")).embed_queries(["x"])
