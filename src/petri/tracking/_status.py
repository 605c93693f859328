"""``meta.experiment``: test_tube's run metadata plus Petri's run status.

test_tube's keys (name, version, tags_path, metrics_path, autosave, description, created_at,
exp_hash) stay as they were, so its readers keep working. Petri adds ``status`` (``running``,
``finished``, ``crashed``), the writer's ``host``/``pid``/``pid_start``, a ``heartbeat`` refreshed
while the run is open, ``finished_at``, ``error`` and the ``git`` snapshot. A run whose file says
``running`` but whose process is gone (same host), or whose heartbeat is older than
:data:`STALE_SECS`, is reported as ``crashed``: that is how a SIGKILLed run shows up.
"""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any

from petri._fsync import replace_atomically
from petri.tracking._tags import RunFileError

__all__ = [
    "HEARTBEAT_SECS",
    "META_FILE",
    "STALE_SECS",
    "effective_status",
    "process_start",
    "this_process",
    "read_meta",
    "write_meta",
]

META_FILE = "meta.experiment"
HEARTBEAT_SECS = 30.0
"""How often an open run refreshes ``heartbeat``."""
STALE_SECS = 600.0
"""A ``running`` run whose heartbeat is older than this is reported as crashed."""
_HOST = socket.gethostname()


def write_meta(directory: str, meta: dict[str, Any]) -> None:
    """Write ``meta.experiment`` atomically (readers never see a half-written file)."""
    replace_atomically(
        os.path.join(directory, META_FILE),
        lambda file: json.dump(meta, file, ensure_ascii=False, default=str),
    )


def read_meta(directory: str) -> dict[str, Any]:
    """``meta.experiment`` as a dict; {} when it is missing.

    It is always replaced whole, so one that is not a JSON object was damaged outside Petri:
    :class:`RunFileError` names it (a writer must not silently replace what it cannot read).
    """
    path = os.path.join(directory, META_FILE)
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError as error:
        raise RunFileError(f"{path} is damaged: not UTF-8 text at byte {error.start}.") from None
    except ValueError as error:
        raise RunFileError(f"{path} is damaged: not JSON ({error}).") from None
    if not isinstance(data, dict):
        raise RunFileError(f"{path} is damaged: a JSON {type(data).__name__}, not an object.")
    return data


def process_start(pid: int) -> int | None:
    """The kernel's start time of ``pid`` (Linux), to tell a reused pid from the writer."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            fields = file.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    try:
        return int(fields[19]) if fields[0] != b"Z" else -1
    except (IndexError, ValueError):
        return None


def _alive(pid: int, start: int | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    current = process_start(pid)
    if current == -1:  # a zombie: killed, not yet reaped
        return False
    return start is None or current is None or current == start


def effective_status(meta: dict[str, Any], now: float | None = None) -> str:
    """``running``/``finished``/``crashed`` as it is now; ``unknown`` for test_tube's files."""
    status = meta.get("status")
    if not isinstance(status, str):
        return "unknown"
    if status != "running":
        return status
    now = time.time() if now is None else now
    pid = meta.get("pid")
    if (
        meta.get("host") == _HOST
        and isinstance(pid, int)
        and not _alive(pid, meta.get("pid_start"))
    ):
        return "crashed"
    heartbeat = meta.get("heartbeat")
    if isinstance(heartbeat, int | float) and now - heartbeat > STALE_SECS:
        return "crashed"
    return "running"


def this_process() -> dict[str, Any]:
    """``host``, ``pid`` and ``pid_start`` of the calling process."""
    pid = os.getpid()
    return {"host": _HOST, "pid": pid, "pid_start": process_start(pid)}
