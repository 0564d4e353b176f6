"""One embedded Chroma directory shared by several processes on one machine.

Chroma's ``PersistentClient`` keeps each collection's HNSW graph in memory and never reads what another process
added to it; worse, a writer whose graph is stale overwrites the shared graph files without those additions the
next time it saves them (every ~1000 vectors), and they drop out of dense search for good. So, per directory and
process, :class:`EmbeddedChroma`:

- serialises writes across processes with an exclusive ``flock`` on ``<dir>/hopscout-write.lock`` (the kernel
  frees it when a writer dies, kill -9 included), and brings its client up to date before writing;
- before each query, reads the store's write sequence — the SQLite file's change counter (one 100-byte read, no
  lock) — and, when another process wrote since the graph loaded, reads what it wrote from Chroma's log
  (:mod:`hopscout.store.chroma_log`) for the query to score beside the graph; only when the log cannot give it
  (a writer saved the graph files meanwhile, every ~1000 writes) does it reopen the client, which reloads the
  graph. A reopen happens under a shared lock, so never while a writer is saving the graph files, and waits for
  this process's calls in flight. Everything but the graph (texts, metadata, counts) Chroma reads fresh anyway;
  by id they are read from the SQLite file itself (:meth:`EmbeddedChroma.documents`), since Chroma's first read
  of a collection in a process loads its whole graph.

Where flock cannot work (no fcntl, a filesystem without locks) nothing keeps two processes apart: the first
records itself in ``<dir>/hopscout-owner.pid`` and works as before; a second one, while the first lives, is
refused in one line saying why. Every process that writes must go through this (hopscout does); a plain Chroma
client writing to the same directory takes no lock."""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ..chroma_sqlite import (
    count_documents,
    log_applied,
    metadata_segment,
    read_documents,
    read_key_values,
)
from ..errors import StoreUnavailableError
from .chroma_log import EMPTY, Tail, collections_mark, read_tail

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock
    fcntl = None  # type: ignore[assignment]

_T = TypeVar("_T")

LOCK_FILE = "hopscout-write.lock"
OWNER_FILE = "hopscout-owner.pid"  # without file locks: the one process that may use the directory
DATA_FILE = "chroma.sqlite3"
LOCK_WAIT_S = 60.0  # a writer holds the lock for one store write (a few batches): a minute means it is stuck
_POLL_S = 0.005  # a waiting writer tries the lock this often
# a writer leaves the lock free this long before taking it again, so that a waiting one (polling) gets its turn
_TURN_S = 0.01
_NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS)


def file_stamp(data_file: Path) -> Any:
    """The SQLite file's change counter (header bytes 24–27, bumped by every committed write in rollback-journal
    mode, whichever process makes it) with its inode, size and modification time; None in WAL mode (commits
    need not touch the main file) or when unreadable."""
    try:
        with open(data_file, "rb") as fh:
            header = fh.read(100)
            stat = os.fstat(fh.fileno())
    except OSError:
        return None
    if len(header) < 100 or header[18] != 1 or header[19] != 1:  # 2 = WAL
        return None
    return (header[24:28], stat.st_ino, stat.st_size, stat.st_mtime_ns)


class _Gate:
    """Many calls at once, or one reopen: a reopen holds new calls back and waits for those in flight."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._calls = 0
        self._closed = False

    @contextmanager
    def call(self) -> Iterator[None]:
        with self._cond:
            while self._closed:
                self._cond.wait()
            self._calls += 1
        try:
            yield
        finally:
            with self._cond:
                self._calls -= 1
                if not self._calls:
                    self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            while self._closed:
                self._cond.wait()
            self._closed = True
            while self._calls:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._closed = False
                self._cond.notify_all()


class EmbeddedChroma:
    """The Chroma client of one directory in this process, kept in step with what other processes write.
    Thread-safe. Get one with :func:`acquire` (one per directory per process, as Chroma itself shares one)."""

    def __init__(self, path: Path, opener: Callable[[], Any]) -> None:
        self.path = Path(path)
        self.data_file = self.path / DATA_FILE
        self.generation = 0  # one up per (re)open: collection handles of an older one are fetched again
        self.reopens = 0  # reopens because another process wrote (tests and benchmarks read it)
        self._opener = opener
        self._client: Any = None
        self._gate = _Gate()
        self._lock = threading.RLock()  # guards the lock file's flock state, the client swap and _seen
        self._lock_fd: int | None = None
        self._depth = 0  # nested writing() of the thread holding _lock
        self._released = 0.0  # when this process last let go of the write lock
        self._seq_db: sqlite3.Connection | None = None
        # (file stamp, log position, collections mark) this client's graphs reflect (see _position)
        self._seen: tuple[Any, int | None, str | None] = (None, None, None)
        self._no_locks: str | None = None  # why this directory has no file locks, once found out
        self._refreshing = False  # a reader's reopen is under way (set holding _lock)
        # per collection id: the log rows its graph lacks (see tail()), with the file stamp they were read at
        self._tails: dict[str, tuple[Any, Tail]] = {}
        self._tail_key: tuple[int, int | None] = (0, None)  # (generation, graph position) the tails are for
        self._file_db: sqlite3.Connection | None = None  # read-only, for tail() and documents()
        # per collection id: its metadata segment, and the file stamp at which its log was found applied
        self._segments: dict[str, tuple[Any, str]] = {}
        self._file_lock = threading.Lock()  # guards the five above

    # -- the client --------------------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        """The current client (opened on first use)."""
        if self._client is None:
            with self._lock, self._shared():
                if self._client is None:
                    self._seen = self._position()
                    self._client = self._opener()
                    self.generation += 1
        return self._client

    @contextmanager
    def calls(self) -> Iterator[Any]:
        """The current client, which no reopen replaces until the block ends."""
        self.client  # noqa: B018 - opened first: opening takes the lock file, never inside a call
        with self._gate.call():
            if self._client is None:
                raise StoreUnavailableError(f"The embedded store at {self.path} was closed.")
            yield self._client

    def refresh(self, wait: bool = False) -> bool:
        """Reopen the client if another process wrote since it last looked; True when it did. Costs one read of
        the SQLite header when nothing was written. Waits for another thread's reopen; for this process's own
        writer (which brings the client up to date before it writes) only with ``wait``, for a query that cannot
        go on with the graph it has."""
        if self._client is None or (
            self._seen[0] is not None and file_stamp(self.data_file) == self._seen[0]
        ):
            return False
        if not self._lock.acquire(blocking=False):
            if not (self._refreshing or wait):
                return False
            self._lock.acquire()  # another reader's reopen: wait, and do not query the old client
        try:
            if self._depth:  # this thread is writing and already brought the client up to date
                return False
            self._refreshing = True
            try:
                with self._shared():
                    return self._catch_up()
            finally:
                self._refreshing = False
        finally:
            self._lock.release()

    def tail(self, collection_id: str) -> Tail | None:
        """The writes other processes made to ``collection_id`` that this client's graph lacks, for a query to
        score beside it (empty when nothing was written since the graph loaded); None when Chroma's log cannot
        give them all, and the caller should :meth:`refresh`. Costs one read of the SQLite header when nothing
        was written, else one indexed read of the log rows since the last call."""
        (loaded, base, mark), now = self._seen, file_stamp(self.data_file)
        if self._client is None or (loaded is not None and now == loaded):
            return EMPTY
        if base is None or base < 0:
            return None
        with self._file_lock:
            key = (self.generation, base)
            if key != self._tail_key:  # a reopen or this process's own write: the graph moved
                self._tails, self._tail_key = {}, key
            read_at, held = self._tails.get(collection_id, (None, Tail(base=base, read_to=base)))
            if now is not None and now == read_at:
                return held
            db = self._reader()
            tail = read_tail(db, collection_id, held, mark) if db is not None else None
            if tail is None:
                self._tails.pop(collection_id, None)
            else:
                self._tails[collection_id] = (now, tail)
            return tail

    def documents(
        self, collection_id: str, ids: Sequence[str]
    ) -> dict[str, tuple[str, dict[str, Any]]] | None:
        """``id → (text, metadata)`` of those of ``ids`` that exist, read from the SQLite file without Chroma
        (see :mod:`hopscout.chroma_sqlite`: Chroma's first read in a process loads the whole graph); None when
        the file cannot give them, and the caller asks Chroma."""
        return self._read_file(collection_id, lambda db, segment: read_documents(db, segment, ids))

    def key_values(self, collection_id: str, keys: Sequence[str]) -> list[tuple[str, dict[str, Any]]] | None:
        """Every document's id with its values of metadata ``keys``, in one read of the SQLite file; None when
        it cannot be read so."""
        return self._read_file(collection_id, lambda db, segment: read_key_values(db, segment, keys))

    def count(self, collection_id: str) -> int | None:
        """The collection's document count from the SQLite file; None when it cannot be read so."""
        return self._read_file(collection_id, count_documents)

    def _read_file(self, collection_id: str, read: Callable[[sqlite3.Connection, str], _T]) -> _T | None:
        with self._file_lock:
            db = self._reader()
            if db is None:
                return None
            stamp = file_stamp(self.data_file)  # before the read: a write after it changes the next one
            try:
                db.execute("BEGIN")
                try:
                    checked_at, segment = self._segments.get(collection_id, (None, ""))
                    if stamp is None or stamp != checked_at:  # nothing written since the last check: skip it
                        found = metadata_segment(db, collection_id)
                        if found is None or not log_applied(db, collection_id, found):
                            return None
                        segment = found
                        self._segments[collection_id] = (stamp, segment)
                    return read(db, segment)
                finally:
                    db.execute("COMMIT")
            except (sqlite3.Error, ValueError):
                return None

    def _reader(self) -> sqlite3.Connection | None:
        """The read-only connection to the SQLite file (call holding _file_lock)."""
        if self._file_db is None and self.data_file.exists():
            try:
                self._file_db = _read_only(self.data_file)
            except sqlite3.Error:
                return None
        return self._file_db

    def busy(self) -> bool:
        """True while another process holds the write lock (a write in flight), tried without waiting on a file
        descriptor of its own (a probe on the one this process locks with would convert its lock). False where
        there are no file locks, and while this process writes."""
        if fcntl is None or self._no_locks is not None or self._depth:
            return False
        try:
            fd = os.open(self.path / LOCK_FILE, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        finally:
            os.close(fd)  # closing the descriptor frees the probe's lock
        return False

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the directory's write lock (re-entrant): no other process writes meanwhile, and the client has
        every write made before. Raises StoreUnavailableError when the lock cannot be had."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self.client  # noqa: B018 - opened before the exclusive lock: opening takes a shared one
            time.sleep(max(0.0, self._released + _TURN_S - time.monotonic()))
            self._flock_exclusive()
            self._depth = 1
            try:
                self._catch_up()
                yield
                # this process's own writes need no reopen (one that failed may)
                self._seen = self._position()
            finally:
                self._depth = 0
                self._unlock()
                self._released = time.monotonic()

    def close(self) -> None:
        """Close the client and the files this process holds open."""
        with self._lock:
            with self._gate.exclusive():
                client, self._client = self._client, None
                if client is not None:
                    _close_client(client)
            if self._seq_db is not None:
                self._seq_db.close()
                self._seq_db = None
            with self._file_lock:
                if self._file_db is not None:
                    self._file_db.close()
                    self._file_db = None
                self._tails, self._segments = {}, {}
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    # -- the write sequence ------------------------------------------------------------------------------
    def _position(self) -> tuple[Any, int | None, str | None]:
        """(file stamp, Chroma's log position, the collections' mark: :func:`collections_mark`, since a drop
        lets the log reuse positions); call holding a lock, so that no writer moves them between."""
        stamp = file_stamp(self.data_file)
        if not self.data_file.exists():
            return stamp, None, None
        try:
            if self._seq_db is None:
                self._seq_db = _read_only(self.data_file)
            self._seq_db.execute("BEGIN")
            try:
                row = self._seq_db.execute("SELECT max(seq_id) FROM embeddings_queue").fetchone()
                mark = collections_mark(self._seq_db)
            finally:
                self._seq_db.execute("COMMIT")
        except sqlite3.Error:  # no queue yet (a store being created), or not readable: reopen to be safe
            return stamp, -1, None
        return stamp, int(row[0]) if row and row[0] is not None else 0, mark

    def _catch_up(self) -> bool:
        """Reopen when the log moved past what the client reflects; call holding a lock."""
        seen = self._position()
        moved = self._client is not None and seen[1:] != self._seen[1:]
        if moved:
            with self._gate.exclusive():
                old, self._client = self._client, None
                _close_client(old)
                self._client = self._opener()
                self.generation += 1
                self.reopens += 1
        self._seen = seen
        return moved

    # -- the lock file -----------------------------------------------------------------------------------
    def _fd(self) -> int:
        if fcntl is None:
            raise _LocksUnsupported("this platform has no flock")
        if self._lock_fd is None:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
                self._lock_fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise StoreUnavailableError(self._unshareable(f"cannot open its lock file: {exc}")) from exc
        return self._lock_fd

    def _take(self, mode: int) -> bool:
        """Take the lock file in ``mode`` (shared or exclusive); False where there are no file locks, and then
        only if no other live process uses the directory (see :meth:`_claim_alone`)."""
        if self._no_locks is None:
            try:
                self._flock(self._fd(), mode)
                return True
            except _LocksUnsupported as exc:
                self._no_locks = str(exc)
        self._claim_alone()
        return False

    @contextmanager
    def _shared(self) -> Iterator[None]:
        """A shared lock on the directory (no writer at work), for a reopen; held with _lock."""
        if self._depth:  # the exclusive lock is ours: converting it would let writers in
            yield
            return
        held = self._take(fcntl.LOCK_SH if fcntl is not None else 0)
        try:
            yield
        finally:
            if held:
                self._unlock()

    def _flock_exclusive(self) -> None:
        if self._take(fcntl.LOCK_EX if fcntl is not None else 0):
            fd = self._fd()
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)  # named in another waiter's message

    def _unlock(self) -> None:
        if self._lock_fd is not None and self._no_locks is None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _flock(self, fd: int, mode: int) -> None:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreUnavailableError(self._held_too_long(fd)) from None
                time.sleep(_POLL_S)
            except OSError as exc:
                if exc.errno in _NO_LOCKS:
                    raise _LocksUnsupported(f"its filesystem has no file locks ({exc.strerror})") from exc
                raise

    def _claim_alone(self) -> None:
        """Without file locks nothing keeps two processes' graphs apart: record this process as the directory's
        user, or refuse in one line when another live one is."""
        owner = self.path / OWNER_FILE
        try:
            held = int(owner.read_text().strip() or 0)
        except (OSError, ValueError):
            held = 0
        if held == os.getpid():
            return
        if held and _alive(held):
            raise StoreUnavailableError(
                self._unshareable(f"{self._no_locks}, and process {held} is using it")
            )
        try:
            owner.write_text(str(os.getpid()))
        except OSError as exc:
            raise StoreUnavailableError(self._unshareable(f"{self._no_locks}, and {owner}: {exc}")) from exc

    def _held_too_long(self, fd: int) -> str:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        return (
            f"The embedded store at {self.path} is busy: process {holder} has held its write lock for over "
            f"{LOCK_WAIT_S:.0f} s; wait for it to finish, or stop it."
        )

    def _unshareable(self, why: str) -> str:
        return (
            f"The embedded store at {self.path} cannot be shared between processes: {why}. Use it from one "
            "process at a time, or serve it with `chroma run` and set HOPSCOUT_CHROMA_URL."
        )


class _LocksUnsupported(Exception):
    """Where flock cannot work (no fcntl, a filesystem without locks): the reason."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _read_only(data_file: Path) -> sqlite3.Connection:
    """A read-only connection to Chroma's SQLite file, usable from any thread (callers hold a lock), with
    transactions begun by hand."""
    return sqlite3.connect(
        f"{data_file.as_uri()}?mode=ro", uri=True, check_same_thread=False, timeout=30, isolation_level=None
    )


def _close_client(client: Any) -> None:
    close = getattr(client, "close", None)
    if callable(close):
        close()


_OPEN: dict[Path, tuple[EmbeddedChroma, int]] = {}
_OPEN_LOCK = threading.Lock()


def acquire(path: Path, opener: Callable[[], Any]) -> EmbeddedChroma:
    """The process's :class:`EmbeddedChroma` for ``path`` (made on first use; :func:`release` it when done)."""
    key = Path(path).resolve()
    with _OPEN_LOCK:
        shared, users = _OPEN.get(key, (None, 0))
        if shared is None:
            shared = EmbeddedChroma(key, opener)
        _OPEN[key] = (shared, users + 1)
        return shared


def release(shared: EmbeddedChroma) -> None:
    """One user fewer; the last one closes it."""
    with _OPEN_LOCK:
        found, users = _OPEN.get(shared.path, (None, 0))
        if found is not shared:
            return
        if users > 1:
            _OPEN[shared.path] = (shared, users - 1)
            return
        del _OPEN[shared.path]
    shared.close()
