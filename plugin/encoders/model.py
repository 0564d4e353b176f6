"""What a sentence-transformers model folder says about itself: its modules, pooling, normalisation and input
length, read from its JSON files without loading the model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EmbedderUnavailableError

_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_NORMALIZE = "sentence_transformers.models.Normalize"


@dataclass(frozen=True)
class SentenceModel:
    """A local sentence-transformers folder whose pipeline the ONNX encoder reproduces: a transformer, mean
    pooling, optionally Normalize."""

    path: Path
    dim: int
    max_seq_length: int
    normalize: bool

    @property
    def tokenizer_path(self) -> Path:
        """The folder's ``tokenizer.json``."""
        return self.path / "tokenizer.json"


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EmbedderUnavailableError(f"cannot read {path}: {exc}") from exc


def read_sentence_model(path: str | Path) -> SentenceModel:
    """Check that ``path`` is a model the ONNX encoder can run exactly (Transformer → mean Pooling →
    [Normalize], a ``tokenizer.json``); :class:`~hopscout.errors.EmbedderUnavailableError` says why not."""
    folder = Path(path)
    if not (folder / "modules.json").is_file():
        raise EmbedderUnavailableError(
            f"{folder} is not a local sentence-transformers folder (no modules.json)"
        )
    kinds = [m.get("type", "") for m in _json(folder / "modules.json")]
    if kinds[:2] != [_TRANSFORMER, _POOLING] or kinds[2:] not in ([], [_NORMALIZE]):
        raise EmbedderUnavailableError(
            f"the ONNX encoder runs Transformer → Pooling → [Normalize] models; {folder} has {kinds}"
        )
    pooling_dir = next(m["path"] for m in _json(folder / "modules.json") if m.get("type") == _POOLING)
    pooling = _json(folder / pooling_dir / "config.json")
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v]
    if modes != ["pooling_mode_mean_tokens"]:
        raise EmbedderUnavailableError(f"the ONNX encoder does mean pooling only; {folder} uses {modes}")
    if not (folder / "tokenizer.json").is_file():
        raise EmbedderUnavailableError(f"{folder} has no tokenizer.json (the ONNX encoder's tokenizer)")
    bert = folder / "sentence_bert_config.json"
    config = _json(bert) if bert.is_file() else {}
    max_len = config.get("max_seq_length") or _json(folder / "config.json").get(
        "max_position_embeddings", 512
    )
    return SentenceModel(folder, int(pooling["word_embedding_dimension"]), int(max_len), len(kinds) == 3)
