"""A persisted cache of LLM outputs (generated queries, synthetic tool requests, augmentations): one SQLite
file under ``settings.home``, keyed by what the output depends on (kind, model, prompt version, input).

SQLite ships with Python, is safe across threads and processes, and survives crashes without a torn file."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path


class LLMCache:
    """``get`` / ``put`` lists of strings by key parts."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        with self._lock, self._db:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS llm_cache (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )

    @staticmethod
    def key(*parts: str) -> str:
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

    def get(self, key: str) -> list[str] | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM llm_cache WHERE key = ?", (key,)).fetchone()
        return list(json.loads(row[0])) if row else None

    def put(self, key: str, value: list[str]) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO llm_cache (key, value) VALUES (?, ?)", (key, json.dumps(value))
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
