"""The ONNX encoder (the default for the bundled model): the same vectors and id as the torch model, the torch
fallback when onnxruntime or the export is missing, a bad cache file, and a search that never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hopscout import EmbedderUnavailableError, Scout, SentenceTransformerEmbedder, Settings
from hopscout.embedders import OnnxEmbedder, bundled_model_path, make_embedder
from hopscout.encoders import load_onnx_encoder, read_sentence_model
from hopscout.encoders.onnx import cache_path

FIXTURES = Path(__file__).parent / "fixtures"


def _texts(name: str, field: str, limit: int) -> list[str]:
    with open(FIXTURES / "scifact_mini" / name, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh][:limit]
    return [(row.get("title", "") + "\n" + row[field]).strip() for row in rows]


DOCS = _texts("corpus.jsonl", "text", 30)
QUERIES = _texts("queries.jsonl", "text", 20)


@pytest.fixture(scope="module")
def onnx_embedder() -> OnnxEmbedder:
    """The bundled model through onnxruntime, from the user cache (exported there on first use)."""
    return OnnxEmbedder(fallback=False)


def test_onnx_vectors_match_the_torch_model(onnx_embedder: OnnxEmbedder, embedder) -> None:
    docs, queries = onnx_embedder.embed_documents(DOCS), onnx_embedder.embed_queries(QUERIES)
    assert onnx_embedder.backend == "onnx" and onnx_embedder.note is None
    assert docs.shape == (len(DOCS), 384) and docs.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    assert (docs * embedder.embed_documents(DOCS)).sum(1).min() >= 0.999
    assert (queries * embedder.embed_queries(QUERIES)).sum(1).min() >= 0.999
    one_by_one = np.vstack([onnx_embedder.embed_documents([t]) for t in DOCS[:5]])  # no padding effects
    assert (one_by_one * docs[:5]).sum(1).min() >= 0.9999
    assert embedder.backend == "torch"
    assert onnx_embedder.id == embedder.id and onnx_embedder.dim == embedder.dim == 384
    assert onnx_embedder.max_tokens == embedder.max_tokens == 256
    assert onnx_embedder.tokenizer_path == embedder.tokenizer_path


def test_the_bundled_model_runs_on_onnx_by_default() -> None:
    assert isinstance(make_embedder(Settings()), OnnxEmbedder)
    assert isinstance(make_embedder(Settings(encoder="torch")), SentenceTransformerEmbedder)
    other = make_embedder(Settings(embedder=str(bundled_model_path())))  # any other model: torch under auto
    assert isinstance(other, SentenceTransformerEmbedder)
    assert isinstance(
        make_embedder(Settings(embedder=str(bundled_model_path()), encoder="onnx")), OnnxEmbedder
    )


def test_a_collection_built_with_torch_is_searched_with_onnx(
    onnx_embedder: OnnxEmbedder, embedder, tmp_path: Path
) -> None:
    built = Scout(Settings(home=tmp_path), embedder=embedder)
    built.add(DOCS, collection="mixed")
    torch_hits = [built.search(q, k=3, mode="dense", collection="mixed") for q in QUERIES[:10]]
    read = Scout(Settings(home=tmp_path), embedder=onnx_embedder)
    onnx_hits = [read.search(q, k=3, mode="dense", collection="mixed") for q in QUERIES[:10]]
    assert [[h.id for h in hits] for hits in onnx_hits] == [[h.id for h in hits] for hits in torch_hits]
    assert read.collections()[0].embedder == embedder.id


def test_auto_falls_back_to_torch_without_onnxruntime(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, embedder
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if onnxruntime were not installed
    with pytest.raises(EmbedderUnavailableError, match="pip install onnxruntime"):
        OnnxEmbedder(cache_dir=tmp_path, fallback=False).embed_queries(["x"])
    auto = OnnxEmbedder(cache_dir=tmp_path)
    vectors = auto.embed_documents(DOCS[:4])
    assert auto.backend == "torch" and auto.note is not None and "onnxruntime" in auto.note
    assert (vectors * embedder.embed_documents(DOCS[:4])).sum(1).min() >= 0.9999


def test_a_bad_cache_file_falls_back_when_it_cannot_be_exported_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = read_sentence_model(bundled_model_path())
    bad = cache_path(model, tmp_path)
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not an onnx model")
    with pytest.raises(EmbedderUnavailableError, match="cannot load"):
        load_onnx_encoder(model, tmp_path, export=False)
    monkeypatch.setitem(sys.modules, "onnx", None)  # the exporter's package is missing: no re-export
    auto = OnnxEmbedder(cache_dir=tmp_path)
    assert auto.embed_queries(["hello"]).shape == (1, 384)
    assert auto.backend == "torch" and auto.note is not None and "pip install onnx" in auto.note


@pytest.mark.slow
def test_a_bad_cache_file_is_exported_again(tmp_path: Path, embedder) -> None:
    model = read_sentence_model(bundled_model_path())
    bad = cache_path(model, tmp_path)
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not an onnx model")
    repaired = OnnxEmbedder(cache_dir=tmp_path, fallback=False)
    assert (repaired.embed_queries(QUERIES[:3]) * embedder.embed_queries(QUERIES[:3])).sum(1).min() >= 0.999
    assert repaired.backend == "onnx" and bad.stat().st_size > 1_000_000


def test_listing_collections_loads_no_model(tmp_path: Path) -> None:
    scout = Scout(Settings(home=tmp_path))
    scout.collections()
    assert isinstance(scout.embedder, OnnxEmbedder) and scout.embedder.backend is None


_SEARCH_IN_A_SUBPROCESS = """
import json, sys
from hopscout import Scout, Settings
scout = Scout(Settings(home=sys.argv[1]))
hits = scout.search(sys.argv[2], k=3, mode=sys.argv[3], collection="notorch")
print(json.dumps({"ids": [h.id for h in hits], "torch": "torch" in sys.modules,
                  "transformers": "transformers" in sys.modules, "backend": scout.embedder.backend}))
"""


@pytest.mark.parametrize("mode", ["hybrid", "lexical"])
def test_search_never_imports_torch(mode: str, onnx_embedder: OnnxEmbedder, embedder, tmp_path: Path) -> None:
    onnx_embedder.embed_queries(["export first, if this machine has no cached export yet"])
    Scout(Settings(home=tmp_path), embedder=embedder).add(DOCS, collection="notorch")
    done = subprocess.run(
        [sys.executable, "-c", _SEARCH_IN_A_SUBPROCESS, str(tmp_path), QUERIES[0], mode],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout)
    assert report["torch"] is False and report["transformers"] is False
    assert len(report["ids"]) == 3


def test_batches_keep_to_the_token_budget_and_the_order_of_the_texts(onnx_embedder: OnnxEmbedder) -> None:
    encoder = onnx_embedder.encoder
    texts = [t for pair in zip(DOCS, QUERIES) for t in pair]  # long and short, interleaved
    shapes: list[tuple[int, int]] = []
    run = encoder._run

    def recording(encodings: list) -> np.ndarray:
        shapes.append((len(encodings), max(len(e.ids) for e in encodings)))
        return run(encodings)

    encoder._run = recording
    try:
        batched = encoder.encode(texts)
    finally:
        del encoder._run
    assert len(shapes) < len(texts)  # short texts share batches
    assert all(rows == 1 or rows * width <= encoder.batch_tokens for rows, width in shapes)
    singly = np.vstack([encoder.encode([t]) for t in texts])
    cosine = (batched * singly).sum(1) / np.linalg.norm(batched, axis=1) / np.linalg.norm(singly, axis=1)
    assert cosine.min() >= 0.9999  # every row is its own text's, wherever it was batched
