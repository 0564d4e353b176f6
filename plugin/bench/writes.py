"""Filling the bench collection with synthetic chunks and precomputed vectors (no encoding)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import Engine
from ..keys import FLAGS_KEY
from ..suspicion import text_flags
from .corpus import synthetic_chunks

COLLECTION = "bench"
STEP = 2000  # chunks per store write: under Chroma's largest batch, embedded or server


def write_chunks(engine: Engine, spec: dict[str, Any], start: int, stop: int) -> float:
    """Write chunks ``start .. stop`` with precomputed vectors; seconds taken."""
    texts = json.loads(Path(spec["texts_file"]).read_text())
    vectors = np.load(spec["vectors_file"])
    index = engine.index(COLLECTION, create=True)
    began = time.perf_counter()
    for first in range(start, stop, STEP):
        ids, chunk_texts, vec = synthetic_chunks(texts, vectors, first, min(STEP, stop - first), seed=7)
        metadatas = [
            {"n": int(i[1:]), FLAGS_KEY: ",".join(text_flags(t))} for i, t in zip(ids, chunk_texts)
        ]  # as Scout.add writes them
        index.upsert(ids, chunk_texts, vec, metadatas)
    return time.perf_counter() - began
