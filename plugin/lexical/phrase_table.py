"""The key-phrase file of one collection: per passage (by id and content hash), its key phrases and their
vectors (float16), and the collection's size when they were chosen. One SQLite file beside the collection's BM25
index; :mod:`hopscout.hop.phrases` decides what goes in it."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

_BATCH = 500  # ids per SQLite IN (...)


class KeyPhrases(NamedTuple):
    """A passage's key phrases, best first, and their vectors (one row each)."""

    phrases: list[str]
    vectors: np.ndarray


class PhraseTable:
    """``id → (content hash, phrases, float16 vectors)`` for one collection, in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.executescript(
            "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS phrases (id TEXT PRIMARY KEY, hash TEXT NOT NULL, "
            "phrases TEXT NOT NULL, vectors BLOB NOT NULL, dim INTEGER, total INTEGER NOT NULL DEFAULT 0)"
        )
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(phrases)")}
        if "total" not in columns:  # a file from before phrases recorded the collection's size
            self._db.execute("ALTER TABLE phrases ADD COLUMN total INTEGER NOT NULL DEFAULT 0")
        self._lock = threading.Lock()

    def get(self, hashes: Mapping[str, str], min_total: int = 0) -> dict[str, KeyPhrases]:
        """Stored phrases and vectors of the ids whose stored hash matches ``hashes[id]`` and that were chosen in
        a collection of at least ``min_total`` passages."""
        out = {}
        ids = list(hashes)
        for start in range(0, len(ids), _BATCH):
            chunk = ids[start : start + _BATCH]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._db.execute(
                    f"SELECT id, hash, phrases, vectors, dim, total FROM phrases WHERE id IN ({marks})", chunk
                ).fetchall()
            for doc_id, digest, phrases, blob, dim, total in rows:
                if digest == hashes[doc_id] and total >= min_total:
                    vectors = np.frombuffer(blob, dtype=np.float16).astype(np.float32).reshape(-1, dim or 1)
                    out[doc_id] = KeyPhrases(json.loads(phrases), vectors)
        return out

    def put(self, rows: Sequence[tuple[str, str, list[str], np.ndarray]], total: int) -> None:
        """Store ``(id, hash, phrases, vectors)`` rows chosen in a collection of ``total`` passages, replacing
        what the ids held."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO phrases (id, hash, phrases, vectors, dim, total) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (
                            i,
                            h,
                            json.dumps(p, ensure_ascii=False),
                            v.astype(np.float16).tobytes(),
                            v.shape[1],
                            total,
                        )
                        for i, h, p, v in rows
                    ],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def sizes(self) -> tuple[int, int]:
        """Bytes stored: phrase texts, vectors."""
        with self._lock:
            row = self._db.execute(
                "SELECT sum(length(phrases)), sum(length(vectors)) FROM phrases"
            ).fetchone()
        return int(row[0] or 0), int(row[1] or 0)

    def close(self) -> None:
        with self._lock:
            self._db.close()
