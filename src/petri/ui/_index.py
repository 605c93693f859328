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
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from petri.errors import PetriError
from petri.tracking.query import parse_filter, sort_runs
from petri.tracking.reader import Run, load, run_dirs

__all__ = ["IndexedRun", "RunIndex"]

WATCHED = ("meta.experiment", "meta_tags.csv", "metrics.csv")
REFRESH_SECS = 1.0
VIEWS_KEPT = 32


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
    """Every run under ``save_dir``, re-read only when its files change.

    Requests never wait for a rescan: one older than a second starts a refresh in a background
    thread and is answered from the index as it stands (a refresh stats three files per run,
    ~0.15 s at 10,000 runs). Filtered and sorted views are kept until the next change, so
    paging through them, or asking again, costs a slice.
    """

    def __init__(self, save_dir: str) -> None:
        self.root = os.path.abspath(save_dir)
        self._runs: dict[str, IndexedRun] = {}
        self._ordered: list[IndexedRun] = []
        self._by_key: dict[tuple[str, int], IndexedRun] = {}
        self._generation = 0
        self._views: OrderedDict[tuple, list[IndexedRun]] = OrderedDict()
        self._lock = threading.Lock()
        self._views_lock = threading.Lock()
        self._refreshed = -float("inf")
        self._missed = -float("inf")
        self._refreshing = False

    def refresh(self, force: bool = False) -> None:
        """Look for new, changed and removed runs (at most once a second unless forced)."""
        with self._lock:
            if not force and time.monotonic() - self._refreshed < REFRESH_SECS:
                return
            runs: dict[str, IndexedRun] = {}
            changed = False
            for path in run_dirs(self.root):
                stamp = _stamp(path)
                known = self._runs.get(path)
                if known is None or known.stamp != stamp:
                    known = _read(path, stamp)
                    changed = True
                runs[path] = known
            if changed or len(runs) != len(self._runs):
                ordered = sorted(runs.values(), key=lambda i: (i.run.name, i.run.version))
                # Swapped whole, so readers in other threads see the old index or the new one.
                self._runs, self._ordered = runs, ordered
                self._by_key = {(i.run.name, i.run.version): i for i in ordered}
                self._generation += 1
            self._refreshed = time.monotonic()

    def _refresh_soon(self) -> None:
        """Start a background refresh when the index is older than a second."""
        if self._refreshing or time.monotonic() - self._refreshed < REFRESH_SECS:
            return
        self._refreshing = True

        def work() -> None:
            try:
                self.refresh()
            finally:
                self._refreshing = False

        threading.Thread(target=work, name="petri-ui-index", daemon=True).start()

    def runs(self) -> list[IndexedRun]:
        """Every run, by name and version."""
        self._refresh_soon()
        return self._ordered

    def view(self, expression: str, key: str, descending: bool) -> list[IndexedRun]:
        """The runs ``expression`` (``petri ls``'s filter language) keeps, sorted by ``key``.

        Raises:
            ValueError: a bad filter expression.
        """
        self._refresh_soon()
        generation, ordered = self._generation, self._ordered
        cache_key = (generation, expression, key, descending)
        with self._views_lock:
            cached = self._views.get(cache_key)
            if cached is not None:
                self._views.move_to_end(cache_key)
                return cached
        chosen = ordered
        if expression:
            keep = parse_filter(expression)
            chosen = [i for i in chosen if _safely(keep, i.run)]
        by_path = {i.run.path: i for i in chosen}
        chosen = [by_path[run.path] for run in sort_runs([i.run for i in chosen], key, descending)]
        with self._views_lock:
            self._views[cache_key] = chosen
            while len(self._views) > VIEWS_KEPT:
                self._views.popitem(last=False)
        return chosen

    def find(self, name: str, version: int) -> IndexedRun | None:
        """The run ``name``/``version``; a miss rescans now (at most twice a second), so a run
        that just started is found by its first request."""
        self._refresh_soon()
        found = self._by_key.get((name, version))
        if found is None and time.monotonic() - self._missed > 0.5:
            self._missed = time.monotonic()
            self.refresh(force=True)
            found = self._by_key.get((name, version))
        return found


def _safely(keep: Any, run: Run) -> bool:
    """A filter's verdict; a run whose value cannot be read is not kept."""
    try:
        return bool(keep(run))
    except (PetriError, OSError, ValueError, TypeError):
        return False


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
            # The file's tail only, as `petri ls` reads it: the index never holds a run's
            # history (1,000 runs of 2,000 rows took 740 MB and 4.5 s when it did). Damage
            # further up is named by the run page, which reads the whole file.
            run.final  # noqa: B018
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
