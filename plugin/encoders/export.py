"""Export a sentence-transformers model to ONNX, once: the transformer and its mean pooling as one graph
(``input_ids``, ``attention_mask``, ``token_type_ids`` → ``sentence_embedding``, batch and sequence dynamic),
then onnxruntime's BERT fusions (attention, GELU, layer norms) when they apply. The only module here that
imports torch; it needs the ``onnx`` package (torch's exporter writes through it)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from ..errors import EmbedderUnavailableError
from .model import SentenceModel

OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "sentence_embedding"


def export_onnx(model: SentenceModel, target: Path) -> Path:
    """Write ``model`` as an ONNX file at ``target`` (atomically: a reader never sees half a file)."""
    try:
        import onnx  # noqa: F401 - torch.onnx.export writes through it
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise EmbedderUnavailableError(
            f"exporting the model to ONNX needs {exc.name}: pip install onnx torch transformers"
        ) from exc
    hf_logging.disable_progress_bar()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    target.parent.mkdir(parents=True, exist_ok=True)
    raw = target.with_name(f".{target.name}.{os.getpid()}.raw")
    fused = target.with_name(f".{target.name}.{os.getpid()}.fused")
    try:
        transformer = AutoModel.from_pretrained(str(model.path), attn_implementation="eager").eval()

        class Pooled(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                tokens = self.inner(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
                # as sentence-transformers' mean Pooling
                return (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

        dummy = torch.ones(2, 8, dtype=torch.long)
        axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS} | {OUTPUT: {0: "batch"}}
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Pooled(transformer),
                (dummy, torch.ones_like(dummy), torch.zeros_like(dummy)),
                str(raw),
                dynamo=False,
                input_names=list(INPUTS),
                output_names=[OUTPUT],
                dynamic_axes=axes,
                opset_version=OPSET,
                do_constant_folding=True,
            )
        final = _fuse(raw, fused, transformer.config) or raw
        os.replace(final, target)
    except EmbedderUnavailableError:
        raise
    except Exception as exc:  # torch's exporter fails in many ways; each one means "no ONNX file"
        raise EmbedderUnavailableError(f"exporting {model.path} to ONNX failed: {exc}") from exc
    finally:
        raw.unlink(missing_ok=True)
        fused.unlink(missing_ok=True)
    return target


def _fuse(source: Path, target: Path, config: Any) -> Path | None:
    """onnxruntime's offline BERT fusions (hardware-independent); None when they do not apply."""
    try:
        from onnxruntime.transformers.optimizer import optimize_model

        optimized = optimize_model(
            str(source),
            model_type="bert",
            num_heads=int(config.num_attention_heads),
            hidden_size=int(config.hidden_size),
            opt_level=1,
        )
        if not optimized.get_fused_operator_statistics().get("Attention"):
            return None
        optimized.save_model_to_file(str(target))
        return target
    except Exception:  # noqa: BLE001 - the unfused graph computes the same vectors
        return None
