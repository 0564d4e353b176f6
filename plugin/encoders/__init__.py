"""Fast encoders for sentence-transformers models: the model exported once to ONNX (a local file cache, nothing
downloads) and run by onnxruntime with the ``tokenizers`` library, so a search never imports torch.

:class:`OnnxEncoder` is the runtime (onnxruntime + tokenizers only); :func:`load_onnx_encoder` finds the cached
export of a model folder or makes it (:mod:`.export`, the one place that imports torch)."""

from __future__ import annotations

from .model import SentenceModel, read_sentence_model
from .onnx import OnnxEncoder, default_cache_dir, load_onnx_encoder

__all__ = ["OnnxEncoder", "SentenceModel", "default_cache_dir", "load_onnx_encoder", "read_sentence_model"]
