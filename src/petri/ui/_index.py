"""The dashboard's index of run summaries, kept up to date incrementally.

A refresh lists the run folders and re-reads only the runs whose files changed (the modification
time and size of ``meta.experiment``, ``meta_tags.csv`` and ``metrics.csv``), so a page of
thousands of runs is answered from memory and a new or finished run shows within a refresh.
A run whose files are damaged or half-written is indexed with a warning, never dropped.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from petri.errors import PetriError
from petri.tracking.reader import Run, load, run_dirs

__all__ = ["IndexedRun", "RunIndex"]

WATCHED = ("meta.experiment", "meta_tags.csv", "metrics.csv")
REFRESH_SECS = 1.0


@dataclass
class IndexedRun:
    """One run as the dashboard shows it in lists."""

    run: Run
    stamp: tuple
    warning: str | None

    def summary(self, metrics: list[str]) -> dict[str, Any]:
        run = self.run
        final = _safe_final(run)
        created = run.created
        finished = run.meta.get("finished_at")
        return {
            "name": run.name,
            "version": run.version,
            "status": run.status,
            "created": created,
            "duration": _duration(created, finished, run.meta.get("heartbeat")),
            "last_step": _safe_last_step(run),
            "metrics": {key: final.get(key) for key in metrics},
            "tags": {key: value for key, value in run.tags.items()},
            "warning": self.warning,
        }


def _safe_final(run: Run) -> dict[str, Any]:
    try:
        return run.final
    except (PetriError, OSError, ValueError):
        return {}


def _safe_last_step(run: Run) -> int | None:
    try:
        return run.last_step
    except (PetriError, OSError, ValueError):
        return None


def _duration(created: Any, finished: Any, heartbeat: Any) -> float | None:
    """Seconds from creation to the end (or to the last heartbeat of a running run)."""
    end = next((t for t in (finished, heartbeat) if isinstance(t, int | float)), None)
    if end is None or not isinstance(created, int | float):
        return None
    return max(0.0, float(end) - created)


class RunIndex:
    """Every run under ``save_dir``, re-read only when its files change."""

    def __init__(self, save_dir: str) -> None:
        self.root = os.path.abspath(save_dir)
        self._runs: dict[str, IndexedRun] = {}
        self._lock = threading.Lock()
        self._refreshed = -float("inf")

    def refresh(self, force: bool = False) -> None:
        """Look for new, changed and removed runs (at most once a second unless forced)."""
        with self._lock:
            if not force and time.monotonic() - self._refreshed < REFRESH_SECS:
                return
            seen = set()
            for path in run_dirs(self.root):
                seen.add(path)
                stamp = _stamp(path)
                known = self._runs.get(path)
                if known is None or known.stamp != stamp:
                    self._runs[path] = _read(path, stamp)
            for gone in set(self._runs) - seen:
                del self._runs[gone]
            self._refreshed = time.monotonic()

    def runs(self) -> list[IndexedRun]:
        self.refresh()
        return sorted(self._runs.values(), key=lambda i: (i.run.name, i.run.version))

    def find(self, name: str, version: int) -> IndexedRun | None:
        self.refresh()
        for indexed in self._runs.values():
            if indexed.run.name == name and indexed.run.version == version:
                return indexed
        return None


def _stamp(path: str) -> tuple:
    stamp = []
    for name in WATCHED:
        try:
            info = os.stat(os.path.join(path, name))
        except OSError:
            stamp.append(None)
            continue
        stamp.append((info.st_mtime_ns, info.st_size))
    return tuple(stamp)


def _read(path: str, stamp: tuple) -> IndexedRun:
    """The run at ``path``; damaged files give a warning instead of an error."""
    warning = None
    try:
        run = load(path)
    except (PetriError, OSError, ValueError) as error:
        base = os.path.basename(path)
        digits = base.rpartition("_")[2]
        run = Run(
            path=path,
            name=os.path.basename(os.path.dirname(path)) if base.startswith("version_") else base,
            version=int(digits) if digits.isdigit() else 0,
            status="damaged",
            meta={"error": str(error)},
            tags={},
        )
        warning = f"This run's files are damaged: {error}"
    if warning is None:
        try:
            run.metrics  # noqa: B018 - a garbled metrics.csv is found now
        except (PetriError, OSError, ValueError) as error:
            warning = f"metrics.csv is damaged: {error}"
    if warning is None and _torn(os.path.join(path, "metrics.csv")):
        warning = (
            "metrics.csv ends in a half-written line (the writer was stopped mid-row, or "
            "is writing now); that line is not shown."
        )
    return IndexedRun(run, stamp, warning)


def _torn(path: str) -> bool:
    try:
        with open(path, "rb") as file:
            file.seek(0, os.SEEK_END)
            if file.tell() == 0:
                return False
            file.seek(-1, os.SEEK_END)
            return file.read(1) != b"\n"
    except OSError:
        return False
