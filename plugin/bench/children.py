"""Running :mod:`.worker` jobs in child processes and reading their results."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from typing import Any

from ..errors import HopscoutError


class BenchChildError(HopscoutError):
    """A bench child process failed; the message carries the end of its stderr."""


def command(job: str, spec: dict[str, Any], module: str = "hopscout.bench.worker") -> list[str]:
    """The command line running one job of ``module`` (a bench module run as a script)."""
    return [sys.executable, "-m", module, job, json.dumps(spec)]


def run_child(job: str, spec: dict[str, Any], module: str = "hopscout.bench.worker") -> dict[str, Any]:
    """Run one job of ``module`` (a bench module run as a script) to its end; its JSON result."""
    done = subprocess.run(command(job, spec, module), check=False, capture_output=True, text=True)
    if done.returncode != 0 or not done.stdout.strip():
        raise BenchChildError(f"bench {job} failed (exit {done.returncode}): {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


class Replica:
    """A ``replica`` child kept running: :meth:`search` asks it for one timed search. Its stderr goes to a file
    (a pipe nobody reads could fill and block it); it is killed if it fails to start or to stop."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - open for the life of the child, closed in close()
        self.proc = subprocess.Popen(
            command("replica", spec),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self.last: dict[str, Any] = {}  # the latest search's reply (see :func:`.worker.replica`)
        try:
            self._read()  # {"ready": true}: imports and the store are loaded
        except BaseException:
            self.close()
            raise

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        try:
            reply: dict[str, Any] = json.loads(line)
            return reply
        except ValueError:
            self._stderr.seek(0)
            raise BenchChildError(f"bench replica said {line!r}: {self._stderr.read()[-3000:]}") from None

    def search(self) -> tuple[float, int]:
        """One timed search: (milliseconds, chunks in B's lexical replica after it)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("search\n")
        self.proc.stdin.flush()
        self.last = self._read()
        return float(self.last["ms"]), int(self.last["count"])

    def close(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
        except OSError:  # it has already gone
            pass
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._stderr.close()
