"""One writer per run: an exclusive ``flock`` on ``<run>/.lock`` held while the run is open.

The kernel drops the lock when its process dies (SIGKILL included), so a stale lock is taken
over by the next writer without any clean-up; the file records who holds it, for the message
a second writer gets.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time

from petri.errors import PetriError

__all__ = ["RunLock", "RunLockedError"]

LOCK_FILE = ".lock"


class RunLockedError(PetriError, RuntimeError):
    """Another process (or another open run object) is writing this run."""


class RunLock:
    """The held lock of one run folder; :meth:`release` (or process exit) frees it."""

    def __init__(self, descriptor: int, path: str) -> None:
        self._descriptor: int | None = descriptor
        self.path = path

    @classmethod
    def acquire(cls, log_dir: str) -> RunLock:
        """Take the run's lock.

        Raises:
            RunLockedError: another writer holds it; the message says which process.
        """
        path = os.path.join(log_dir, LOCK_FILE)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(descriptor)
            os.close(descriptor)
            raise RunLockedError(
                f"The run in {log_dir!r} is being written by {holder}; a run has one writer, "
                "so this one would interleave its rows with that one's. Log to another version "
                "(version=None takes the next free one), or wait for that process to finish."
            ) from None
        os.ftruncate(descriptor, 0)
        holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        os.pwrite(descriptor, json.dumps(holder).encode(), 0)
        return cls(descriptor, path)

    def release(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing the descriptor drops the flock
            self._descriptor = None


def _read_holder(descriptor: int) -> str:
    try:
        holder = json.loads(os.pread(descriptor, 4096, 0) or b"{}")
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(holder["since"]))
        return f"process {holder['pid']} on {holder['host']} (since {since})"
    except (ValueError, KeyError, TypeError, OSError):
        return "another process"
