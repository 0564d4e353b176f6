"""Documents read straight from embedded Chroma's SQLite file (Chroma 1.x's tables, with ``sqlite3``): a
document's text and metadata by id, and a collection's count, as Chroma's own ``get`` and ``count`` return them.

Why: Chroma's first read of a collection in a process loads the collection's whole HNSW graph, even to return one
text (seconds at 1M vectors), and every ``get`` costs a few ms of validation around its SQL. The texts and
metadata live in the collection's metadata segment, which Chroma writes with each write. A reader here returns
None whenever the file holds what it does not know (another layout, an array value, another ``chroma:`` key, a
document without text) or the log is not applied to the metadata segment yet: the caller asks Chroma then.
Callers run these inside one read transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

DOCUMENT_KEY = "chroma:document"  # where the metadata segment keeps a document's text


def stored_value(values: Sequence[Any]) -> Any:
    """One stored metadata value from Chroma's four typed columns (``bool_value`` holds 0/1); ValueError unless
    exactly one is set."""
    text, whole, real, flag = values
    present = [v for v in values if v is not None]
    if len(present) != 1:
        raise ValueError("a metadata value with no type or several")
    if flag is not None:
        return bool(flag)
    return text if text is not None else whole if whole is not None else real


def metadata_segment(db: sqlite3.Connection, collection_id: str) -> str | None:
    """The id of the collection's metadata segment (its documents and their metadata); None unless one."""
    rows = db.execute(
        "SELECT id FROM segments WHERE collection = ? AND scope = 'METADATA'", (collection_id,)
    ).fetchall()
    return str(rows[0][0]) if len(rows) == 1 else None


def log_applied(db: sqlite3.Connection, collection_id: str, segment_id: str) -> bool:
    """Whether every write in Chroma's log for the collection is in its metadata segment."""
    applied = db.execute("SELECT seq_id FROM max_seq_id WHERE segment_id = ?", (segment_id,)).fetchone()
    logged = db.execute(
        "SELECT max(seq_id) FROM embeddings_queue WHERE topic LIKE ?", (f"%/{collection_id}",)
    ).fetchone()[0]
    return logged is None or (applied is not None and isinstance(applied[0], int) and applied[0] >= logged)


def count_documents(db: sqlite3.Connection, segment_id: str) -> int:
    """Documents in the metadata segment."""
    return int(
        db.execute("SELECT count(*) FROM embeddings WHERE segment_id = ?", (segment_id,)).fetchone()[0]
    )


def read_key_values(
    db: sqlite3.Connection, segment_id: str, keys: Sequence[str]
) -> list[tuple[str, dict[str, Any]]]:
    """Every document's id with the values it holds of metadata ``keys``, in one scan (an id and a content hash
    per document: what a full comparison of a lexical copy with the store needs)."""
    marks = ",".join("?" * len(keys))
    rows: dict[str, dict[str, Any]] = {}
    for doc_id, key, *values in db.execute(
        "SELECT e.embedding_id, m.key, m.string_value, m.int_value, m.float_value, m.bool_value "
        f"FROM embeddings e LEFT JOIN embedding_metadata m ON m.id = e.id AND m.key IN ({marks}) "
        "WHERE e.segment_id = ?",
        (*keys, segment_id),
    ):
        held = rows.setdefault(doc_id, {})
        if key is not None:
            held[key] = stored_value(values)
    return list(rows.items())


def read_documents(
    db: sqlite3.Connection, segment_id: str, ids: Sequence[str]
) -> dict[str, tuple[str, dict[str, Any]]] | None:
    """``id → (text, metadata)`` of those of ``ids`` that exist; None when a document holds what this reader does
    not know (an array value, another ``chroma:`` key, no text)."""
    if not ids:
        return {}
    rowids: dict[int, str] = {}
    for start in range(0, len(ids), 500):  # under SQLite's limit on bound parameters
        chunk = list(ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        rowids.update(
            db.execute(
                f"SELECT id, embedding_id FROM embeddings WHERE segment_id = ? AND embedding_id IN ({marks})",
                (segment_id, *chunk),
            ).fetchall()
        )
    if not rowids:
        return {}
    texts: dict[str, str] = {}
    metas: dict[str, dict[str, Any]] = {doc_id: {} for doc_id in rowids.values()}
    keys = list(rowids)
    for start in range(0, len(keys), 500):
        rows = keys[start : start + 500]
        marks = ",".join("?" * len(rows))
        arrays = db.execute(
            f"SELECT count(*) FROM embedding_metadata_array WHERE id IN ({marks})", rows
        ).fetchone()[0]
        if arrays:
            return None
        for rowid, key, *values in db.execute(
            "SELECT id, key, string_value, int_value, float_value, bool_value FROM embedding_metadata "
            f"WHERE id IN ({marks}) ORDER BY id, key",
            rows,
        ):
            doc_id = rowids[rowid]
            if key == DOCUMENT_KEY:
                texts[doc_id] = values[0]
            elif key.startswith("chroma:"):
                return None
            else:
                metas[doc_id][key] = stored_value(values)
    if set(texts) != set(metas) or any(not isinstance(t, str) for t in texts.values()):
        return None
    return {doc_id: (texts[doc_id], metas[doc_id]) for doc_id in metas}
