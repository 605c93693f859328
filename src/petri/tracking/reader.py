"""Reading runs back: ``load(path)`` and ``list_runs(save_dir)``.

Readers never trust a run to be complete: a run still being written, one whose process was
killed, and test_tube's own folders all load; a torn final CSV line is ignored and the status
says what happened (``running``, ``finished``, ``crashed``; ``unknown`` for test_tube's files).
Only the standard library is imported, so ``petri ls`` starts fast.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from petri.tracking._csv_log import last_values, read_csv, read_csv_tail
from petri.tracking._status import META_FILE, effective_status, read_meta
from petri.tracking._tags import RunFileError, read_tag_file
from petri.tracking._timestamps import parse_utc
from petri.tracking._versions import DEFAULT_SAVE_DIR, existing_versions

__all__ = ["Run", "list_runs", "load", "run_dirs"]

_SKIP_FINAL = ("created_at",)


@dataclass
class Run:
    """One run as stored on disk.

    Attributes:
        path: the version folder.
        name: experiment name.
        version: version number.
        status: ``running``, ``finished``, ``crashed`` or ``unknown`` (test_tube's files).
        meta: the whole ``meta.experiment``.
        tags: typed tags.
        default_tags: keys of ``tags`` whose value is the default of the config they were
            flattened from (``petri show`` hides them unless ``--all``).
    """

    path: str
    name: str
    version: int
    status: str
    meta: dict[str, Any]
    tags: dict[str, Any]
    default_tags: set[str] = field(default_factory=set)
    _metrics: list[dict[str, Any]] | None = field(default=None, repr=False)
    _columns: list[str] | None = field(default=None, repr=False)
    _final: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def metrics(self) -> list[dict[str, Any]]:
        """Every row of ``metrics.csv`` as a dict of typed values (read on first access)."""
        if self._metrics is None:
            self._columns, self._metrics = read_csv(self.metrics_path)
            self._final = None
        return self._metrics

    @property
    def columns(self) -> list[str]:
        """The CSV header."""
        if self._columns is None:
            self.metrics  # noqa: B018 - loads the header too
        return list(self._columns or [])

    @property
    def dataframe(self) -> Any:
        """The metrics as a pandas DataFrame.

        Raises:
            ImportError: pandas is not installed (``pip install pandas``).
        """
        try:
            import pandas as pd
        except ImportError as error:
            raise ImportError(
                "Run.dataframe needs pandas; install it with `pip install pandas`, or use "
                "Run.metrics (a list of dicts)."
            ) from error
        return pd.DataFrame(self.metrics, columns=self.columns or None)

    @property
    def metrics_path(self) -> str:
        return os.path.join(self.path, "metrics.csv")

    @property
    def created(self) -> float | None:
        """Creation time (Unix seconds), from ``created_at`` or the folder's mtime."""
        stamp = self.meta.get("created_at")
        parsed = parse_utc(stamp) if isinstance(stamp, str) else None
        if parsed is not None:
            return parsed
        try:
            return os.path.getmtime(self.path)
        except OSError:
            return None

    @property
    def final(self) -> dict[str, Any]:
        """The last value logged in each column (from the file's last 64 KB unless the metrics
        were loaded)."""
        if self._final is None:
            if self._metrics is not None:
                final: dict[str, Any] = {}
                for row in self._metrics:
                    final.update(row)
            else:
                # The last 4 KB hold the final value of most columns; look further back only
                # when some column is missing there.
                header, records = read_csv_tail(self.metrics_path, 4096)
                final = last_values(header, records)
                if len(final) < len(header):
                    header, records = read_csv_tail(self.metrics_path, 65536)
                    final = last_values(header, records)
                if self._columns is None:
                    self._columns = header
            for key in _SKIP_FINAL:
                final.pop(key, None)
            self._final = final
        return self._final

    @property
    def last_step(self) -> int | None:
        """The last ``global_step`` (or ``step``) logged, or None."""
        final = self.final
        for key in ("global_step", "step"):
            value = final.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return int(value)
        return None

    def files(self) -> list[tuple[str, int, int]]:
        """``(relative path, bytes, files)`` for each entry of the run folder."""
        entries = []
        try:
            items = sorted(os.scandir(self.path), key=lambda e: e.name)
        except OSError:
            return []
        for entry in items:
            if entry.name.endswith(".tmp"):
                continue
            if entry.is_dir():
                size = count = 0
                for root, _, names in os.walk(entry.path):
                    for name in names:
                        count += 1
                        with contextlib.suppress(OSError):
                            size += os.path.getsize(os.path.join(root, name))
                entries.append((entry.name + "/", size, count))
            else:
                entries.append((entry.name, entry.stat().st_size, 1))
        return entries


def _is_run(path: str) -> bool:
    return os.path.isfile(os.path.join(path, META_FILE)) or os.path.isfile(
        os.path.join(path, "metrics.csv")
    )


def load(path: str | os.PathLike[str]) -> Run:
    """The run stored in the version folder ``path``.

    Raises:
        FileNotFoundError: ``path`` holds no run (no ``meta.experiment`` nor ``metrics.csv``).
    """
    directory = os.path.abspath(os.fspath(path))
    if not _is_run(directory):
        hint = (
            " It looks like a save_dir or experiment folder: use list_runs() or `petri ls`."
            if os.path.isdir(directory)
            else ""
        )
        raise FileNotFoundError(
            f"No run at {directory}: expected a version folder holding meta.experiment or "
            f"metrics.csv.{hint}"
        )
    meta = read_meta(directory)
    base = os.path.basename(directory)
    version = meta.get("version")
    if not isinstance(version, int):
        digits = base.rpartition("_")[2]
        version = int(digits) if digits.isdigit() else 0
    name = meta.get("name")
    if not isinstance(name, str):
        parent = os.path.basename(os.path.dirname(directory))
        name = parent if base.startswith("version_") else base
    tags, defaults = read_tag_file(os.path.join(directory, "meta_tags.csv"))
    return Run(
        path=directory,
        name=name,
        version=version,
        status=effective_status(meta),
        meta=meta,
        tags=tags,
        default_tags=defaults,
    )


def run_dirs(root: str | os.PathLike[str]) -> Iterator[str]:
    """Run folders under ``root``: ``root`` itself, ``root/<run>`` or ``root/<name>/version_n``."""
    root = os.path.abspath(os.fspath(root))
    if _is_run(root):
        yield root
        return
    try:
        children = sorted(e.path for e in os.scandir(root) if e.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return
    for child in children:
        versions = existing_versions(child)
        if versions:
            for version in versions:
                path = os.path.join(child, f"version_{version}")
                if _is_run(path):
                    yield path
        elif _is_run(child):
            yield child


def list_runs(
    save_dir: str | os.PathLike[str] | None = None, name: str | None = None
) -> list[Run]:
    """Every run under ``save_dir`` (default ``./petri_logs``), sorted by name and version.

    Args:
        save_dir: a save_dir, an experiment folder or a single run folder.
        name: only runs of this experiment name.
    """
    runs = [
        _load_or_damaged(path)
        for path in run_dirs(save_dir if save_dir is not None else DEFAULT_SAVE_DIR)
    ]
    if name is not None:
        runs = [run for run in runs if run.name == name]
    return sorted(runs, key=lambda run: (run.name, run.version))


def _load_or_damaged(path: str) -> Run:
    """The run at ``path``; a run with a damaged file is listed as ``damaged`` (the error in
    ``meta["error"]``) instead of failing the whole listing."""
    try:
        return load(path)
    except RunFileError as error:
        base = os.path.basename(path)
        digits = base.rpartition("_")[2]
        parent = os.path.basename(os.path.dirname(path))
        return Run(
            path=path,
            name=parent if base.startswith("version_") else base,
            version=int(digits) if digits.isdigit() else 0,
            status="damaged",
            meta={"error": str(error)},
            tags={},
        )
