"""The ONNX runtime path: a cached export of a sentence-transformers model run by onnxruntime, tokenised by the
``tokenizers`` library. Imports neither torch nor transformers (only :mod:`.export` does, once per model)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EmbedderUnavailableError
from .model import SentenceModel

BATCH_TOKENS = 384  # padded tokens per batch (see OnnxEncoder)
EXPORT_VERSION = 1  # bump when the exported graph changes: old cache entries are then ignored
_log = logging.getLogger("hopscout.encoders")


def default_cache_dir() -> Path:
    """Where exported models live: ``$XDG_CACHE_HOME/hopscout/onnx`` (``~/.cache/hopscout/onnx``), shared by
    every HOPSCOUT_HOME on this machine."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hopscout" / "onnx"


def cache_path(model: SentenceModel, cache_dir: Path) -> Path:
    """The ONNX file for ``model``: keyed by its weights file (size, mtime) and config, so a changed model
    exports again."""
    digest = hashlib.sha256(f"{EXPORT_VERSION}|{model.path.resolve()}".encode())
    for name in ("config.json", "modules.json", "sentence_bert_config.json"):
        path = model.path / name
        digest.update(path.read_bytes() if path.is_file() else b"-")
    for weights in sorted(model.path.glob("*.safetensors")) + sorted(model.path.glob("*.bin")):
        stat = weights.stat()
        digest.update(f"{weights.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return cache_dir / f"{model.path.name}-{digest.hexdigest()[:16]}" / "model.onnx"


class OnnxEncoder:
    """Texts → mean-pooled rows (not yet normalised) from an ONNX file. Texts are tokenised once, sorted by
    length and run in batches of at most ``batch_tokens`` padded tokens (and ``batch_size`` rows): on a CPU,
    small batches of like lengths beat big ones (measured on MiniLM, 2 cores: a 256–512-token budget ran
    passages 1.3× and short texts 1.5–1.7× faster than 32 rows). Thread-safe (onnxruntime sessions and
    ``tokenizers`` both are)."""

    def __init__(
        self,
        onnx_path: Path,
        model: SentenceModel,
        *,
        threads: int | None = None,
        batch_size: int = 32,
        batch_tokens: int = BATCH_TOKENS,
    ) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EmbedderUnavailableError(
                f"the ONNX encoder needs {exc.name}: pip install onnxruntime tokenizers"
            ) from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(2, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # No spin-waiting between ops: on a busy machine spinning threads steal the CPU the work needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for a bad file
            raise EmbedderUnavailableError(f"onnxruntime cannot load {onnx_path}: {exc}") from exc
        self.tokenizer = Tokenizer.from_file(str(model.tokenizer_path))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(model.max_seq_length)
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.model = model
        self.path = onnx_path
        self.batch_size = batch_size
        self.batch_tokens = batch_tokens

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One mean-pooled row per text, in the order given."""
        out = np.zeros((len(texts), self.model.dim), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        start = 0
        while start < len(order):
            stop = start + 1  # rows start..stop share a batch while their padded size fits the budget
            while (
                stop < len(order)
                and stop - start < self.batch_size
                and (stop - start + 1) * len(encodings[order[stop]].ids) <= self.batch_tokens
            ):
                stop += 1
            rows = order[start:stop]
            out[rows] = self._run([encodings[i] for i in rows])
            start = stop
        return out

    def _run(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = e.ids, e.attention_mask, e.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return np.asarray(self.session.run(None, {k: v for k, v in feeds.items() if k in self.inputs})[0])


def load_onnx_encoder(
    model: SentenceModel,
    cache_dir: Path | None = None,
    *,
    threads: int | None = None,
    batch_size: int = 32,
    export: bool = True,
) -> OnnxEncoder:
    """The encoder for ``model`` from its cached ONNX file; with ``export``, a missing or unreadable file is
    exported (again) first. :class:`~hopscout.errors.EmbedderUnavailableError` when that is not possible."""
    path = cache_path(model, cache_dir or default_cache_dir())
    if path.is_file():
        try:
            return OnnxEncoder(path, model, threads=threads, batch_size=batch_size)
        except EmbedderUnavailableError as exc:
            if not export:
                raise
            _log.warning("hopscout: the cached ONNX model is unreadable (%s); exporting it again", exc)
    elif not export:
        raise EmbedderUnavailableError(f"no exported ONNX model at {path}")
    try:
        import onnxruntime  # noqa: F401 - fail before the (slow) export when the runtime is missing
    except ImportError as exc:
        raise EmbedderUnavailableError("the ONNX encoder needs onnxruntime: pip install onnxruntime") from exc
    from .export import export_onnx

    _log.info("hopscout: exporting %s to ONNX once, into %s", model.path, path.parent)
    export_onnx(model, path)
    (path.parent / "export.json").write_text(
        json.dumps({"model": str(model.path), "export_version": EXPORT_VERSION}, indent=2)
    )
    return OnnxEncoder(path, model, threads=threads, batch_size=batch_size)
