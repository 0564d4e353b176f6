"""A lexical search answered from the files alone: what ``hopscout search --mode lexical`` runs first, so that a
one-shot command spends milliseconds rather than the seconds that importing Chroma, pydantic and the store client
cost (the search itself reads one BM25 file and a few rows of Chroma's SQLite file).

It answers only when it can prove its hits are those the full search (``Scout.search(query, k,
mode="lexical", confidence=False)``: BM25, then the passage prior) returns, in the same order with the same
texts, scores, metadata and flags, and returns None otherwise, for the caller to run the full search:

- settings: the ``HOPSCOUT_*`` variables set are all among :data:`QUICK_SETTINGS`, each in a form pydantic reads
  as this module does (anything else set, an LLM or another embedder: None);
- store: embedded Chroma (no ``HOPSCOUT_CHROMA_URL``; a server is never read here), its SQLite file readable
  without writing, the collection in Chroma's default database, built with the bundled embedder, not a tool
  catalog nor named as one, its write log applied to its metadata segment (Chroma 1.x's tables, read with
  ``sqlite3``: another layout is an error, so None);
- currency: the test the full search's sync starts with (:mod:`hopscout.index`): the lexical copy (either
  backend; its files must exist, nothing is created) records the store collection's ``hopscout:version`` and
  holds as many documents; read again after the search, the store's version and count have not moved;
- each hit: its hostile-text flags are in the lexical copy (passages written before flags existed: None), and
  its text and metadata, read from Chroma's SQLite file, hash to the content hash both the store and the lexical
  copy recorded (:func:`hopscout.index.content_hash`), so a misread value or a write in between is caught.

A filter, more hops, augmentation or the confidence estimate need the full search: the caller does not ask
(the command line prints no estimate for a lexical search). The few settings defaults and formulas read here are
the full search's own, checked equal to them by ``tests/unit/test_quick_search_settings.py``."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import sys
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..chroma_sqlite import count_documents, log_applied, metadata_segment, read_documents, stored_value
from ..keys import FLAGS_KEY, HASH_KEY, KIND_TOOLS, META_EMBEDDER, META_KIND, META_VERSION, SEQ_KEY
from ..types import Hit
from .backends import DEFAULT_BACKEND, LEXICAL_BACKENDS, open_lexical, resolve_backend
from .index import LexicalIndex

BUNDLED_EMBEDDER_ID = "sentence-transformers/all-MiniLM-L6-v2"  # hopscout.embedders: the default's id
PRIOR_DEPTH = 20  # hopscout.retrieval.prior: rows per query the passage prior reads (at least 2k)
CHROMA_DIR, CHROMA_FILE = "chroma", "chroma.sqlite3"  # the embedded store under HOME (hopscout.store.chroma)
LEXICAL_DIR = ("lexical", "embedded")  # the lexical copies of the embedded store under HOME (hopscout.engine)
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")  # hopscout.store.base's collection names
_WHOLE = re.compile(r"[1-9][0-9]*")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


@dataclass(frozen=True)
class QuickSettings:
    """The settings a quick search reads, with :class:`~hopscout.settings.Settings`' defaults."""

    home: Path = Path("~/.hopscout")
    collection: str = "default"
    lexical_backend: str = DEFAULT_BACKEND
    candidates: int = 50
    max_k: int = 1000
    max_query_chars: int = 8000
    flagged_demotion: float = 0.25
    tools_collection: str = "tools"


def _path(raw: str) -> Any:
    return Path(raw).expanduser() if raw else None


def _name(raw: str) -> Any:
    return raw


def _backend(raw: str) -> Any:
    return raw if raw in (DEFAULT_BACKEND, *LEXICAL_BACKENDS) else None


def _mode(raw: str) -> Any:  # read by the full search only without --mode; checked as pydantic would
    return raw if raw in ("dense", "lexical", "hybrid") else None


def _chroma(raw: str) -> Any:  # the one store setting an embedded store allows
    return raw if raw == "chroma" else None


def _no_url(raw: str) -> Any:  # a blank URL is no URL (Settings strips it); any other: a server
    return "" if not raw.strip() else None


def _candidates(raw: str) -> Any:
    return int(raw) if _WHOLE.fullmatch(raw) and int(raw) <= 10_000 else None


def _demotion(raw: str) -> Any:
    return float(raw) if _DECIMAL.fullmatch(raw) and float(raw) <= 1.0 else None


# The HOPSCOUT_* variables a quick search understands, each with its reader (None: a value it cannot vouch for)
QUICK_SETTINGS = {
    "home": _path,
    "collection": _name,
    "lexical_backend": _backend,
    "search_mode": _mode,
    "store": _chroma,
    "chroma_url": _no_url,
    "candidates": _candidates,
    "flagged_demotion": _demotion,
}
# Every field of :class:`~hopscout.settings.Settings`: a ``HOPSCOUT_*`` variable naming none of them is ignored
# there (``HOPSCOUT_TEST_CHROMA_URL``, a face's own variables), so it is here too
SETTINGS_FIELDS = frozenset(
    {
        "allow_downloads",
        "augment",
        "augmenter",
        "batch_size",
        "candidates",
        "chroma_token",
        "chroma_url",
        "chunk_overlap",
        "chunk_tokens",
        "collection",
        "device",
        "document_prefix",
        "embedder",
        "embeddings_api_key",
        "embeddings_url",
        "encoder",
        "flagged_demotion",
        "fusion_weight",
        "group_tools",
        "home",
        "hop_beam",
        "hop_fill",
        "hop_operator",
        "index_phrases",
        "lexical_backend",
        "llm_api_key",
        "llm_base_url",
        "llm_max_retries",
        "llm_max_tokens",
        "llm_model",
        "llm_timeout",
        "max_document_chars",
        "max_file_bytes",
        "max_k",
        "max_query_chars",
        "query_prefix",
        "search_mode",
        "server_share",
        "store",
        "sync_interval",
        "tools_collection",
    }
)
_IGNORED = ("search_mode", "store", "chroma_url")  # checked, not kept: they only say the quick search may run


def quick_settings(
    home: Path | None = None, environ: Mapping[str, str] | None = None
) -> QuickSettings | None:
    """The settings of a quick search from ``HOPSCOUT_*`` variables (case-insensitive, as pydantic reads them) and
    ``home``; None when a setting outside :data:`QUICK_SETTINGS` is set, or one holds a value read here another
    way than :class:`~hopscout.settings.Settings` would read it (or refuse it)."""
    values: dict[str, Any] = {}
    for key, raw in (os.environ if environ is None else environ).items():
        if not key.upper().startswith("HOPSCOUT_"):
            continue
        name = key[len("HOPSCOUT_") :].lower()
        if name not in SETTINGS_FIELDS:
            continue
        reader = QUICK_SETTINGS.get(name)
        if reader is None or name in values:
            return None
        value = reader(raw)
        if value is None:
            return None
        values[name] = value
    for name in _IGNORED:
        values.pop(name, None)
    if home is not None:
        values["home"] = home
    return QuickSettings(**{**values, "home": Path(values.get("home", QuickSettings.home)).expanduser()})


def content_hash(text: str, metadata: Mapping[str, Any]) -> str:
    """:func:`hopscout.index.content_hash`: the hash every write records with a document."""
    payload = json.dumps([text, dict(metadata)], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def demoted(score: float, demotion: float) -> float:
    """:func:`hopscout.retrieval.results.demoted`: the passage prior's demotion of a flagged passage's score."""
    return min(score * demotion, score * (2.0 - demotion))


class _Row:
    """One ranked row: its BM25 score, and its score after the passage prior."""

    __slots__ = ("bm25", "id", "score")

    def __init__(self, doc_id: str, score: float) -> None:
        self.id, self.bm25, self.score = doc_id, score, score


@dataclass(frozen=True)
class _StoreState:
    collection_id: str
    segment_id: str  # the collection's metadata segment (documents and their metadata)
    version: Any
    count: int


def quick_lexical_search(
    query: str,
    k: int,
    *,
    collection: str | None = None,
    home: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[Hit] | None:
    """The ``k`` best BM25 hits for ``query`` as the full lexical search (without confidence) returns them, read
    from the files alone; None when that cannot be proved (see the module's docstring): run the full search."""
    settings = quick_settings(home, environ)
    if settings is None or not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= settings.max_k:
        return None
    if not query.strip() or len(query) > settings.max_query_chars:
        return None
    name = collection or settings.collection
    if not _NAME.match(name) or ".." in name or name == settings.tools_collection:
        return None
    chroma_file = settings.home / CHROMA_DIR / CHROMA_FILE
    if not chroma_file.is_file():
        return None
    try:
        # read-only: nothing is created, changed or rolled back in the store's file
        uri = f"{chroma_file.resolve().as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=5.0)) as store:
            before = _store_state(store, name)
            if before is None:
                return None
            lexical = _open_existing(settings, before.collection_id)
            if lexical is None:
                return None
            try:
                hits = _search(store, lexical, before, settings, query, k)
            finally:
                lexical.close()
    except (sqlite3.Error, OSError, ValueError):
        return None  # a locked, missing or unexpected file: the full search says what is wrong, or succeeds
    return hits


def _store_state(db: sqlite3.Connection, name: str) -> _StoreState | None:
    """The collection's id, metadata segment, version and document count, in one read transaction; None when it
    is not in the default database, not a document collection of the bundled embedder, or its log is not applied
    to its metadata segment yet."""
    db.execute("BEGIN")
    try:
        row = db.execute(
            "SELECT c.id FROM collections c JOIN databases d ON d.id = c.database_id "
            "WHERE c.name = ? AND d.name = 'default_database' AND d.tenant_id = 'default_tenant'",
            (name,),
        ).fetchone()
        if row is None:
            return None
        collection_id = row[0]
        meta = {
            key: stored_value(values)
            for key, *values in db.execute(
                "SELECT key, str_value, int_value, float_value, bool_value FROM collection_metadata "
                "WHERE collection_id = ?",
                (collection_id,),
            )
        }
        if meta.get(META_EMBEDDER) != BUNDLED_EMBEDDER_ID or meta.get(META_KIND) == KIND_TOOLS:
            return None
        if meta.get(META_VERSION) is None:
            return None
        segment_id = metadata_segment(db, collection_id)
        if segment_id is None or not log_applied(db, collection_id, segment_id):
            return None
        return _StoreState(collection_id, segment_id, meta[META_VERSION], count_documents(db, segment_id))
    finally:
        db.execute("COMMIT")


def _open_existing(settings: QuickSettings, collection_id: str) -> LexicalIndex | None:
    """The collection's lexical copy in ``settings.lexical_backend``, if its files exist (opening a missing one
    would create it empty; the full search's sync fills it)."""
    stem = settings.home.joinpath(*LEXICAL_DIR) / collection_id
    if resolve_backend(stem, settings.lexical_backend) == "fts5":
        path = Path(f"{stem}.sqlite")
        # FTS5 alone, as a new process's first search runs it (the in-memory snapshot of a large collection is
        # built after that search, on a thread a one-shot command has no use for)
        return LexicalIndex(path, accel_min_docs=sys.maxsize) if path.is_file() else None
    if not (Path(f"{stem}.bm25.sqlite").is_file() and Path(f"{stem}.bm25.tantivy/meta.json").is_file()):
        return None
    try:
        return open_lexical(stem, "tantivy")
    except ImportError:  # tantivy not installed: the full search says how to install it
        return None


def _search(
    store: sqlite3.Connection,
    lexical: LexicalIndex,
    state: _StoreState,
    settings: QuickSettings,
    query: str,
    k: int,
) -> list[Hit] | None:
    """BM25 then the passage prior, as the full search runs them, with the currency and hash checks."""
    if lexical.version != state.version or lexical.count() != state.count:
        return None
    depth = max(k, settings.candidates)
    ranked = lexical.search_many([query], depth)[0]
    rows = [_Row(doc_id, score) for doc_id, score in dict(ranked).items()]
    prior_depth = max(2 * k, PRIOR_DEPTH)
    stored = lexical.values(FLAGS_KEY, [row.id for row in rows[:prior_depth]])
    flags: dict[str, tuple[str, ...]] = {}
    for doc_id, indexed in stored.items():
        if indexed.value is None:
            return None  # written before flags existed: the full search reads them from the text
        flags[doc_id] = tuple(f for f in indexed.value.split(",") if f)
    lifted = False
    for row in rows[:prior_depth]:
        if flags.get(row.id) and settings.flagged_demotion < 1.0:
            row.score = demoted(row.score, settings.flagged_demotion)
            lifted = True
    if lifted:
        rows[:prior_depth] = sorted(rows[:prior_depth], key=lambda row: -row.score)
    top = rows[:k]
    docs = _documents(store, state, [row.id for row in top])
    if docs is None:
        return None
    hashes = lexical.hashes_of([row.id for row in top])
    if lexical.version != state.version:
        return None  # written while we read
    hits = []
    for row in top:
        doc_id = row.id
        found = docs.get(doc_id)
        if found is None:
            return None
        text, meta = found
        digest = meta.get(HASH_KEY)
        hashed = {key: value for key, value in meta.items() if key not in (HASH_KEY, SEQ_KEY)}
        if digest is None or hashes.get(doc_id) != digest or content_hash(text, hashed) != digest:
            return None
        hits.append(
            Hit(
                id=doc_id,
                text=text,
                score=float(row.score),
                metadata={key: value for key, value in meta.items() if not key.startswith("hs_")},
                scores={"lexical": row.bm25},
                flags=flags.get(doc_id, ()),
            )
        )
    return hits


def _documents(
    db: sqlite3.Connection, state: _StoreState, ids: Sequence[str]
) -> dict[str, tuple[str, dict[str, Any]]] | None:
    """``id → (text, metadata)`` of ``ids`` from Chroma's metadata segment, read in one transaction that also
    finds the collection's version and count unchanged; None when they moved, or a document holds what this
    reader does not know (an array value, another ``chroma:`` key, no text)."""
    if not ids:
        return {}
    db.execute("BEGIN")
    try:
        version = db.execute(
            "SELECT str_value FROM collection_metadata WHERE collection_id = ? AND key = ?",
            (state.collection_id, META_VERSION),
        ).fetchone()
        count = count_documents(db, state.segment_id)
        if version is None or version[0] != state.version or count != state.count:
            return None
        return read_documents(db, state.segment_id, ids)
    finally:
        db.execute("COMMIT")
