"""hopscout.store.embedded on hand-made files: the reopen follows the store's write sequence and nothing else, a
writer waits for another's lock and then says who holds it, and without file locks a second process is refused
in one line. The clients are stand-ins (the real Chroma across real processes: tests/test_shared_store.py)."""

from __future__ import annotations

import errno
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hopscout.errors import StoreUnavailableError
from hopscout.store import embedded
from hopscout.store.embedded import EmbeddedChroma


class Client:
    """A stand-in for a Chroma client: counts how often it was closed."""

    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def make_store(folder: Path) -> sqlite3.Connection:
    """A SQLite file with Chroma's log table, written by "another process" through the returned connection."""
    folder.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(folder / embedded.DATA_FILE, isolation_level=None)
    db.execute("CREATE TABLE embeddings_queue (seq_id INTEGER PRIMARY KEY, id TEXT)")
    db.execute("CREATE TABLE other (x INTEGER)")
    return db


def opened(folder: Path) -> tuple[EmbeddedChroma, list[Client]]:
    clients: list[Client] = []

    def opener() -> Client:
        clients.append(Client())
        return clients[-1]

    shared = EmbeddedChroma(folder, opener)
    assert shared.client is clients[0]
    return shared, clients


def test_the_client_is_reopened_when_another_process_wrote_vectors_and_only_then(tmp_path: Path) -> None:
    other = make_store(tmp_path)
    shared, clients = opened(tmp_path)
    assert not shared.refresh() and len(clients) == 1

    other.execute("INSERT INTO embeddings_queue (id) VALUES ('a')")  # another process's write
    assert shared.refresh() and len(clients) == 2 and clients[0].closed == 1
    assert shared.client is clients[1] and shared.reopens == 1
    assert not shared.refresh()

    other.execute(
        "INSERT INTO other VALUES (1)"
    )  # a commit that writes no vectors moves the file, not the log
    assert not shared.refresh() and len(clients) == 2

    with shared.writing():  # this process's own write: no reopen after it
        other.execute("INSERT INTO embeddings_queue (id) VALUES ('b')")
    assert not shared.refresh() and len(clients) == 2


def test_a_writer_catches_up_before_writing(tmp_path: Path) -> None:
    other = make_store(tmp_path)
    shared, clients = opened(tmp_path)
    other.execute("INSERT INTO embeddings_queue (id) VALUES ('a')")
    with shared.writing():
        assert shared.client is clients[1], "a stale client would save the graph without the other's vectors"


def test_a_reopen_waits_for_the_calls_in_flight(tmp_path: Path) -> None:
    other = make_store(tmp_path)
    shared, clients = opened(tmp_path)
    reopened = threading.Event()
    with shared.calls() as client:
        other.execute("INSERT INTO embeddings_queue (id) VALUES ('a')")

        def reopen() -> None:
            if shared.refresh():
                reopened.set()

        threading.Thread(target=reopen, daemon=True).start()
        time.sleep(0.2)
        assert not reopened.is_set() and client.closed == 0, "the client was closed under a call"
    assert reopened.wait(5) and clients[0].closed == 1


def test_a_writer_waits_for_another_then_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_store(tmp_path)
    monkeypatch.setattr(embedded, "LOCK_WAIT_S", 0.3)
    first, _ = opened(tmp_path)
    second, _ = opened(tmp_path)  # its own lock file handle: to flock, another process
    with first.writing():
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError) as refused, second.writing():
            pass
    assert time.monotonic() - started >= 0.3
    message = str(refused.value)
    assert "\n" not in message and "busy" in message and str(tmp_path) in message
    assert f"process {embedded.os.getpid()} " in message
    with second.writing():  # free again
        pass


def test_without_file_locks_one_process_works_and_a_second_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = make_store(tmp_path)

    def no_locks(fd: int, mode: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(embedded.fcntl, "flock", no_locks)
    shared, clients = opened(tmp_path)  # alone: it reads, writes and reopens as before
    with shared.writing():
        pass
    other.execute("INSERT INTO embeddings_queue (id) VALUES ('a')")
    assert shared.refresh() and len(clients) == 2

    sibling = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / embedded.OWNER_FILE).write_text(str(sibling.pid))  # another live process uses the store
        with pytest.raises(StoreUnavailableError) as refused, shared.writing():
            pass
    finally:
        sibling.kill()
        sibling.wait()
    message = str(refused.value)
    assert "\n" not in message and "cannot be shared between processes" in message
    assert f"no file locks (No locks available), and process {sibling.pid} is using it" in message
    assert "HOPSCOUT_CHROMA_URL" in message
    with shared.writing():  # that process is gone: the store is this one's again
        pass
