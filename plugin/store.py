"""Opening Chroma: embedded ``PersistentClient`` under HOME by default, ``HttpClient`` for a ``chroma run``
server. Telemetry is off, and hopscout always passes its own vectors, so Chroma's default embedding
function (which downloads a model) never runs."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .errors import InvalidArgumentError, StoreUnavailableError
from .settings import Settings

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")


def open_client(settings: Settings) -> Any:
    """A Chroma client for ``settings``: HttpClient if ``chroma_url`` is set, else PersistentClient."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise InvalidArgumentError(
                f"HOPSCOUT_CHROMA_URL={settings.chroma_url!r} is not an http(s) URL like http://127.0.0.1:8000"
            )
        headers = {"Authorization": f"Bearer {settings.chroma_token}"} if settings.chroma_token else None
        try:
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 80),
                ssl=url.scheme == "https",
                headers=headers,
                settings=chroma_settings,
            )
        except Exception as exc:
            raise StoreUnavailableError(
                f"Cannot reach the Chroma server at {settings.chroma_url}: {exc}. "
                "Start it with `chroma run --path DIR --port PORT`, or unset HOPSCOUT_CHROMA_URL for the embedded store."
            ) from exc
    path = settings.home / "chroma"
    try:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise StoreUnavailableError(f"Cannot open the embedded Chroma store at {path}: {exc}") from exc


def lexical_dir(settings: Settings) -> Path:
    """Where lexical indexes live: beside the embedded store, or per server URL in server mode."""
    if settings.chroma_url:
        tag = hashlib.sha256(settings.chroma_url.encode()).hexdigest()[:12]
        return settings.home / "lexical" / f"server-{tag}"
    return settings.home / "lexical" / "embedded"


def check_collection_name(name: Any) -> str:
    """Return ``name`` if Chroma accepts it, else raise InvalidArgumentError saying what is allowed."""
    if not isinstance(name, str) or not _NAME.match(name) or ".." in name:
        raise InvalidArgumentError(
            f"Invalid collection name {name!r}: use 3-512 characters from a-z A-Z 0-9 . _ -, "
            "starting and ending with a letter or digit."
        )
    return name
