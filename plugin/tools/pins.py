"""Tool definitions pinned at first sight, and the tools held for a human's review (rug pulls, orders, hidden text).

Each tool a catalog registers with quarantine on (``ToolCatalog(quarantine=True)``: the router) is pinned by the
hash of the raw definition its server sent (:func:`definition_digest`: name, title, description, inputSchema,
outputSchema, annotations as canonical JSON, as mcp-scan pins them). :func:`decide` rules on each listing:

- a trusted server's tool is pinned as it comes; a changed definition is re-pinned and logged;
- an untrusted server's tool is **held** (neither indexed nor callable) when it gives the agent orders
  (``instructions``), holds invisible or bidirectional characters (``hidden_chars``), or differs from the
  definition pinned before (``changed``: a rug pull), until a human approves it (:meth:`PinStore.review`,
  ``hopscout router review``), which pins the definition held. A rejected one stays held until its server
  sends another definition (which is held again, for a new review).

Approval is for humans only: an MCP client sees the held tools (a read-only resource) but has no way to approve
one, since an agent that could would approve what attacks it.

:class:`PinStore` keeps the pins in one SQLite file (default ``HOME/tool_pins.sqlite3``), keyed by catalog
collection and tool key: every change is one transaction that reads and writes under SQLite's write lock, so
routers, the CLI and evals in other processes never lose each other's writes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import HopscoutError, InvalidArgumentError
from ..suspicion import HIDDEN_CHARS, INSTRUCTIONS
from ..untrusted import hidden, shown

_log = logging.getLogger("hopscout.tools")

PIN_FILE = "tool_pins.sqlite3"
# The fields of an MCP tool definition that are pinned: what an agent reads of a tool, and what it sends to it.
PINNED_FIELDS = ("name", "title", "description", "inputSchema", "outputSchema", "annotations")
# Why a tool is held: the flags of its text that hold an untrusted server's tool (the others only demote it:
# hopscout.tools.guard), and a definition that differs from the one pinned.
HOLDING_FLAGS = (INSTRUCTIONS, HIDDEN_CHARS)
CHANGED = "changed"
HELD, REJECTED = "held", "rejected"
_LAYOUT = 1  # the table's layout version (PRAGMA user_version)
_WHITESPACE = frozenset("\n\r\t")  # controls that a description may hold in plain sight


class NotHeldError(HopscoutError, LookupError):
    """A review named a tool that is not held for review."""


@dataclass(frozen=True)
class Pin:
    """What the store knows of one tool: the definition pinned (its digest and raw definition; None before any
    was pinned), whether a human approved that one, and the definition held for review, if any, with why."""

    key: str
    digest: str | None = None
    definition: dict[str, Any] | None = None
    approved: bool = False
    pending: str | None = None  # digest of the definition held for review
    pending_definition: dict[str, Any] | None = None
    reasons: tuple[str, ...] = ()
    rejected: bool = False  # a human rejected the held definition: it stays held
    updated: float = 0.0

    @property
    def held(self) -> bool:
        """Whether the tool is held (not offered, not callable) until reviewed."""
        return self.pending is not None

    @property
    def status(self) -> str:
        """``"held"`` (awaiting review) or ``"rejected"``; ``"pinned"`` when nothing is held."""
        return (REJECTED if self.rejected else HELD) if self.held else "pinned"

    def to_dict(self) -> dict[str, Any]:
        """The pin as a reviewer reads it: key, status, why, and both definitions."""
        return {
            "key": self.key,
            "status": self.status,
            "reasons": list(self.reasons),
            "held": self.pending_definition,
            "pinned": self.definition,
            "approved": self.approved,
            "updated": self.updated,
        }


def raw_definition(tool: Any) -> dict[str, Any] | None:
    """The pinned fields (:data:`PINNED_FIELDS`) of an MCP tool as its server sent it (a dict, or an SDK ``Tool``
    object); None for other shapes, which are pinned by what the catalog reads of them."""
    if not isinstance(tool, Mapping):
        dump = getattr(tool, "model_dump", None)
        if not callable(dump):
            return None
        try:
            tool = dump(by_alias=True, mode="json", exclude_none=True)
        except TypeError:  # a model_dump of another signature: not an MCP tool
            return None
        if not isinstance(tool, Mapping):
            return None
    if not isinstance(tool.get("name"), str):
        return None
    return {field: tool[field] for field in PINNED_FIELDS if tool.get(field) is not None}


def definition_digest(definition: Mapping[str, Any]) -> str:
    """SHA-256 of ``definition`` as canonical JSON (sorted keys, no spaces, UTF-8): equal exactly when the
    definitions are."""
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def has_hidden_chars(value: Any) -> bool:
    """Whether any string in ``value`` (keys too, at any depth) holds an invisible, control or bidirectional
    character (:func:`hopscout.untrusted.hidden`) other than a newline or tab."""
    if isinstance(value, str):
        return any(hidden(c) for c in value if c not in _WHITESPACE)
    if isinstance(value, Mapping):
        return any(has_hidden_chars(k) or has_hidden_chars(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(has_hidden_chars(v) for v in value)
    return False


def decide(
    pin: Pin | None,
    key: str,
    definition: dict[str, Any],
    *,
    trusted: bool,
    flags: Iterable[str] = (),
    now: float | None = None,
) -> Pin:
    """The pin of ``key`` once its server listed ``definition`` (with the holding ``flags`` it reads as): held
    or pinned as the module docstring says. Pure: the caller stores what it returns."""
    now = time.time() if now is None else now
    digest = definition_digest(definition)
    pin = pin or Pin(key)
    if trusted:
        if pin.digest is not None and pin.digest != digest:
            _log.warning("tool %s of a trusted server changed its definition: re-pinned", shown(key))
        if pin.digest == digest and not pin.held:
            return pin
        approved = pin.approved and pin.digest == digest
        return Pin(key, digest, definition, approved=approved, updated=now)
    reasons = tuple(f for f in HOLDING_FLAGS if f in set(flags))
    if pin.digest == digest:
        if not reasons or pin.approved:  # the definition pinned, clean or approved as it is
            return pin if not pin.held else replace(pin, pending=None, pending_definition=None, reasons=())
    elif pin.digest is not None:
        reasons = (CHANGED, *reasons)
    if not reasons:  # first sight, clean
        return Pin(key, digest, definition, updated=now)
    if pin.pending == digest:  # held already (or rejected): as it was
        return pin
    if not pin.held:
        _log.warning("tool %s held for review: %s", shown(key), ", ".join(reasons))
    return replace(
        pin, pending=digest, pending_definition=definition, reasons=reasons, rejected=False, updated=now
    )


def review(pin: Pin, approve: bool, now: float | None = None) -> Pin:
    """``pin`` after a human's review of its held definition: approved (pinned as approved, no longer held)
    or rejected (still held, marked rejected). Raises NotHeldError when nothing is held."""
    if not pin.held:
        raise NotHeldError(f"tool {pin.key!r} is not held for review (its definition is pinned as it is)")
    now = time.time() if now is None else now
    if approve:
        return Pin(pin.key, pin.pending, pin.pending_definition, approved=True, updated=now)
    return replace(pin, rejected=True, updated=now)


class PinStore:
    """The pins of every catalog under one home, in the SQLite file ``path`` (created on first write).

    >>> store = PinStore.under(settings.home)
    >>> store.held("tools")                       # key → Pin, each held for review
    >>> store.review("tools", "notes/save_note", approve=True)
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self._local = (
            threading.local()
        )  # one connection per thread: opening one costs milliseconds, a read µs

    @classmethod
    def under(cls, home: str | Path) -> PinStore:
        """The store of the home ``home`` (``HOPSCOUT_HOME``): ``home/tool_pins.sqlite3``."""
        return cls(Path(home).expanduser() / PIN_FILE)

    def __repr__(self) -> str:
        return f"PinStore({str(self.path)!r})"

    # -- reading ------------------------------------------------------------------------------------
    def pins(self, collection: str, keys: Iterable[str] | None = None) -> dict[str, Pin]:
        """The pins of catalog ``collection`` (only ``keys``, when given), by key."""
        if not self.path.exists():
            return {}
        return self._read(self._connect(), collection, None if keys is None else list(keys))

    def held(self, collection: str) -> dict[str, Pin]:
        """The tools of ``collection`` held for review (awaiting it, or rejected), by key."""
        if not self.path.exists():
            return {}
        rows = self._connect().execute(
            "SELECT * FROM pins WHERE collection = ? AND pending IS NOT NULL ORDER BY key", (collection,)
        )
        return {row["key"]: _pin(row) for row in rows.fetchall()}

    # -- writing ------------------------------------------------------------------------------------
    def update(
        self, collection: str, keys: Iterable[str], change: Callable[[dict[str, Pin]], Mapping[str, Pin]]
    ) -> dict[str, Pin]:
        """Read the pins of ``keys``, let ``change`` (given them, by key: the known ones) return the pins to
        write, and write them, all in one transaction under the store's write lock; returns what was written."""
        keys = list(keys)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")  # the write lock first: no other writer between our read and our write
        try:
            new = dict(change(self._read(db, collection, keys)))
            db.executemany(
                "INSERT OR REPLACE INTO pins VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_row(collection, pin) for pin in new.values()],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return new

    def review(self, collection: str, key: str, approve: bool) -> Pin:
        """Approve (pin the held definition) or reject (keep it held) the tool ``key`` of ``collection``;
        raises NotHeldError, naming the held tools, when ``key`` is not held. For humans only (module
        docstring): never offer this to an agent."""
        if not isinstance(approve, bool):
            raise InvalidArgumentError(f"approve must be True or False, got {approve!r}")

        def change(known: dict[str, Pin]) -> dict[str, Pin]:
            pin = known.get(key)
            if pin is None or not pin.held:
                waiting = ", ".join(sorted(self.held(collection))) or "none"
                raise NotHeldError(
                    f"tool {key!r} of catalog {collection!r} is not held for review (held: {waiting})"
                )
            return {key: review(pin, approve)}

        return self.update(collection, [key], change)[key]

    def _connect(self) -> sqlite3.Connection:
        """This thread's connection (transactions explicit: autocommit otherwise, so each read sees every
        commit made before it, in any process)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None:
            return db
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
        db.row_factory = sqlite3.Row
        # WAL: readers (a router's find_tools) never wait for a writer; NORMAL: a commit survives a crash of the
        # process (a power cut may cost the last review, to do again)
        with contextlib.suppress(
            sqlite3.OperationalError
        ):  # "locked": another connection is switching it now
            db.execute("PRAGMA journal_mode = WAL")  # persistent: set once for the file
        db.execute("PRAGMA synchronous = NORMAL")
        if db.execute("PRAGMA user_version").fetchone()[0] != _LAYOUT:
            db.execute(
                "CREATE TABLE IF NOT EXISTS pins (collection TEXT NOT NULL, key TEXT NOT NULL, digest TEXT, "
                "definition TEXT, approved INTEGER NOT NULL, pending TEXT, pending_definition TEXT, "
                "reasons TEXT NOT NULL, rejected INTEGER NOT NULL, updated REAL NOT NULL, "
                "PRIMARY KEY (collection, key))"
            )
            db.execute(f"PRAGMA user_version = {_LAYOUT}")
        self._local.db = db
        return db

    @staticmethod
    def _read(db: sqlite3.Connection, collection: str, keys: list[str] | None) -> dict[str, Pin]:
        if keys is None:
            rows = db.execute("SELECT * FROM pins WHERE collection = ?", (collection,)).fetchall()
        else:
            rows = []
            for at in range(0, len(keys), 500):  # SQLite's limit on bound parameters
                part = keys[at : at + 500]
                marks = ",".join("?" * len(part))
                rows += db.execute(
                    f"SELECT * FROM pins WHERE collection = ? AND key IN ({marks})", (collection, *part)
                ).fetchall()
        return {row["key"]: _pin(row) for row in rows}


def _row(collection: str, pin: Pin) -> tuple[Any, ...]:
    return (
        collection,
        pin.key,
        pin.digest,
        None if pin.definition is None else json.dumps(pin.definition, ensure_ascii=False),
        int(pin.approved),
        pin.pending,
        None if pin.pending_definition is None else json.dumps(pin.pending_definition, ensure_ascii=False),
        json.dumps(list(pin.reasons)),
        int(pin.rejected),
        pin.updated,
    )


def _pin(row: sqlite3.Row) -> Pin:
    return Pin(
        key=row["key"],
        digest=row["digest"],
        definition=None if row["definition"] is None else json.loads(row["definition"]),
        approved=bool(row["approved"]),
        pending=row["pending"],
        pending_definition=None
        if row["pending_definition"] is None
        else json.loads(row["pending_definition"]),
        reasons=tuple(json.loads(row["reasons"])),
        rejected=bool(row["rejected"]),
        updated=float(row["updated"]),
    )
