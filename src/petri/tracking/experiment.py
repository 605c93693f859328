"""``Experiment``: test_tube's run log (seed 004), versioned, typed, crash-safe and fast.

One instance is one run, stored in ``<save_dir>/<name>/version_<n>/``::

    meta.experiment   JSON: test_tube's keys + status, host/pid, heartbeat, git snapshot
    meta_tags.csv     key,value,type
    metrics.csv       one row per log(); columns = union of keys; created_at added
    media/            images logged in rows: <key>_<step>.png|jpg
    tf/               TensorBoard event files (scalars, images, histograms, text)

Petri's ``petri.experiments.Experiment`` adds ``config.yaml`` and ``checkpoints/`` beside them.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Collection, Mapping
from typing import Any

from petri.tracking._csv_log import CsvLog
from petri.tracking._git import create_tag, git_snapshot
from petri.tracking._media import ImageData
from petri.tracking._status import (
    META_FILE,
)
from petri.tracking._tags import tag_value
from petri.tracking._tensorboard import EventWriter
from petri.tracking._timer import RunTimer
from petri.tracking._timestamps import utc_millis_string, utc_string
from petri.tracking._versions import DEFAULT_SAVE_DIR, allocate_version, version_dir
from petri.tracking._writer import FLUSH_SECS, LINE_SECS, MAX_PENDING, RunWriter

__all__ = ["DEFAULT_SAVE_DIR", "Experiment"]

_VERSION_DIR = re.compile(r"version_(\d+)$")
_PLAIN_TYPES = frozenset((float, int))
_time = time.time


class Experiment(RunWriter):
    """A versioned record of one run: tags, metric rows, images and TensorBoard events.

    test_tube's API and files, without its bugs: versions are allocated atomically, tags keep
    their types, ``autosave`` appends instead of rewriting, images are saved, ``debug`` and
    ``rank > 0`` write nothing and never crash, and ``save_dir=None`` means ``./petri_logs``.

    Args:
        save_dir: root folder of all experiments (None: ``./petri_logs``).
        name: experiment name, a folder under ``save_dir``.
        debug: keep everything in memory and write nothing.
        version: None allocates the next free version; the number of an existing run resumes it
            (tags and metrics reload, logging appends); a new number creates that version.
        autosave: write as you go: each ``tag`` at once, each ``log`` row appended to
            ``metrics.csv`` within 0.2 s (rows logged in a burst share one write), TensorBoard
            events within 2 s, everything at :meth:`save`, :meth:`close` and interpreter exit.
            False keeps rows in memory until :meth:`save` (or :meth:`close`).
        description: free text stored in ``meta.experiment``.
        create_git_tag: tag the current git HEAD as ``petri_<name>_v<version>``.
        rank: the process rank in distributed training; only rank 0 writes.
        log_dir: Petri extension: use exactly this folder instead of
            ``<save_dir>/<name>/version_<n>`` (an existing run there is resumed).

    Example:
        >>> import tempfile
        >>> from petri.tracking import Experiment
        >>> with Experiment(save_dir=tempfile.mkdtemp(), name="demo", autosave=True) as exp:
        ...     exp.tag({"learning_rate": 0.002, "nb_layers": 2})
        ...     exp.log({"val_loss": 0.22, "epoch_nb": 1})
        >>> exp.version, exp.metrics[0]["val_loss"]
        (0, 0.22)

    Thread-safety: one thread logs; a background thread of the run writes queued rows and
    TensorBoard events and refreshes the heartbeat.
    """

    def __init__(
        self,
        save_dir: str | os.PathLike[str] | None = None,
        name: str = "default",
        debug: bool = False,
        version: int | None = None,
        autosave: bool = False,
        description: str | None = None,
        create_git_tag: bool = False,
        rank: int = 0,
        *,
        log_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        _check_name(name)
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise TypeError(
                f"Experiment expected version to be an int >= 0 or None; received "
                f"{version!r} ({type(version).__name__})."
            )
        if version is not None and version < 0:
            raise ValueError(f"Experiment expected version >= 0 or None; received {version}.")
        self.name = name
        self.debug = bool(debug)
        self._open_run = False  # writes and is not closed: log()'s fast path applies
        self._autosave = bool(autosave)
        self.description = description
        self.create_git_tag = bool(create_git_tag)
        self.rank = int(rank)
        self.save_dir = os.path.abspath(
            os.fspath(save_dir) if save_dir is not None else DEFAULT_SAVE_DIR
        )
        self.tags: dict[str, Any] = {}
        self.default_tags: set[str] = set()
        """Keys of ``tags`` whose value is a config's default (see :meth:`tag`)."""
        self.metrics: list[dict[str, Any]] = []
        self.created_at = utc_string(time.time())
        self.status = "running"
        self.git: dict[str, Any] | None = None
        self.git_tag: str | None = None
        self._writes = not self.debug and self.rank == 0
        self._closed = not self._writes
        self._saved_rows = 0
        self._tags_dirty = False
        self._tags_text_written = False
        self._hparams_started = False  # this process wrote the HParams session start
        self._media: list[tuple[str, str, ImageData]] = []
        self._meta_lock = threading.Lock()
        self._error: str | None = None
        self._finished_at: float | None = None
        self._last_beat = 0.0
        self._events_due = time.monotonic() + FLUSH_SECS
        self._timer: RunTimer | None = None
        self._stamp_next = 0.0  # created_at is cached for the current millisecond
        self._stamp = ""
        self._plain: list[bool] = []  # per unsaved row: plain numbers (autosave=False)
        self._line_keys: frozenset[str] | None = None  # the hot path's cached CSV line format
        self._run_keys: frozenset[str] | None = None  # keys of the rows queued since a None
        self._line_template = ""
        self._lines_due = 0.0  # when the hot path next writes its queued lines

        resume = False
        if log_dir is not None:
            self.log_dir = os.path.abspath(os.fspath(log_dir))
            match = _VERSION_DIR.search(self.log_dir)
            self.version = version if version is not None else int(match[1]) if match else 0
            if self._writes:
                os.makedirs(self.log_dir, exist_ok=True)
                resume = os.path.isfile(os.path.join(self.log_dir, META_FILE))
        elif not self._writes:
            self.version = version if version is not None else 0
            self.log_dir = version_dir(self.save_dir, name, self.version)
        elif version is None:
            self.version, self.log_dir = allocate_version(self.save_dir, name)
        else:
            self.version = version
            self.log_dir = version_dir(self.save_dir, name, version)
            os.makedirs(self.log_dir, exist_ok=True)
            resume = os.path.isfile(os.path.join(self.log_dir, META_FILE))
        self.exp_hash = f"{self.name}_v{self.version}"
        self._csv = CsvLog(os.path.join(self.log_dir, "metrics.csv"))
        self._pending_lines = self._csv.pending
        self._events = EventWriter(self.get_tensorboard_path(), self.metrics)
        self._event_queue = self._events.queue
        if not self._writes:
            return
        if resume:
            self._load()
        os.makedirs(self.get_media_path(self.name, self.version), exist_ok=True)
        os.makedirs(self.get_tensorboard_path(), exist_ok=True)
        self.git = git_snapshot()
        if self.create_git_tag:
            self.git_tag = create_tag(self.name, self.version, self.description) or None
        self._open()

    def tag(self, tag_dict: Mapping[str, Any], *, defaults: Collection[str] = ()) -> None:
        """Add tags (hyperparameters, dataset names...); nested dicts flatten to ``a/b``.

        Args:
            tag_dict: name -> value.
            defaults: the (flattened) keys of ``tag_dict`` whose value is the default of the
                config they come from: kept in ``meta_tags.csv``, but ``petri show`` and
                TensorBoard's HParams tab show only the others. A key tagged again without
                being listed here is no longer a default.

        Raises:
            TypeError: ``tag_dict`` is not a mapping.
        """
        if not isinstance(tag_dict, Mapping):
            raise TypeError(
                f"Experiment.tag expected a dict of name -> value; received "
                f"{type(tag_dict).__name__}. Example: exp.tag({{'learning_rate': 0.002}})."
            )
        flat = _flatten_tags(tag_dict)
        self.tags.update(flat)
        self.default_tags.difference_update(flat)
        self.default_tags.update(key for key in defaults if key in flat)
        if not self._writes:
            return
        self._tags_dirty = True
        if self.autosave:
            self._reopen_if_closed()
            self._write_tags()

    def log(
        self,
        metrics_dict: Mapping[str, Any],
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Add one row of metrics (CSV) and its scalars and images (TensorBoard).

        Args:
            metrics_dict: name -> value. Numbers (Python, numpy, one-element tensors) are
                scalars; nested dicts flatten to ``parent/child``; images are saved under
                ``media/`` and the cell holds their relative path; other values are kept as text.
            global_step: TensorBoard step, also written as a ``global_step`` column (None: the
                row's index).
            walltime: Unix time of the row (None: now).

        Raises:
            TypeError: ``metrics_dict`` is not a mapping.
        """
        if (
            self._open_run
            and type(metrics_dict) is dict
            and walltime is None
            and "created_at" not in metrics_dict
            and _PLAIN_TYPES.issuperset(map(type, metrics_dict.values()))
        ):
            # The hot path (an open run, Python numbers only): C-level dict and tuple calls
            # and, when autosaving, one %-format per row; the lines are written together
            # every LINE_SECS, here or by the run's timer thread when logging pauses.
            now = _time()
            if global_step is None:
                row: dict[str, Any] = dict(metrics_dict)
            elif type(global_step) is int:
                row = {"global_step": global_step, **metrics_dict}
            else:
                row = {"global_step": int(global_step), **metrics_dict}
            if now >= self._stamp_next:
                milliseconds = int(now * 1000)
                self._stamp = utc_millis_string(milliseconds)
                self._stamp_next = (milliseconds + 1) / 1000
            row["created_at"] = self._stamp
            self.metrics.append(row)
            if not self._autosave:
                self._queue_row(row, now)
                self._plain.append(True)
                return
            # Invariant: _line_keys is set only while the queued run of rows (_run_keys) has
            # the same keys, so one comparison decides both the line format and the queue.
            if row.keys() == self._line_keys:
                self._event_queue.append(now)
                self._pending_lines.append(self._line_template % row)
                if now >= self._lines_due:
                    self._csv.flush_lines()
                    self._lines_due = now + LINE_SECS
            else:
                self._queue_row(row, now)
                self._append_row(row, True)
            return
        self._log(metrics_dict, global_step, walltime)

    def _log(
        self, metrics_dict: Mapping[str, Any], global_step: int | None, walltime: float | None
    ) -> None:
        """The general path of :meth:`log`: any values, closed runs, autosave off."""
        if not isinstance(metrics_dict, Mapping):
            raise TypeError(
                f"Experiment.log expected a dict of name -> value; received "
                f"{type(metrics_dict).__name__}. Example: exp.log({{'loss': 0.1}})."
            )
        now = time.time() if walltime is None else float(walltime)
        if global_step is None:
            step = len(self.metrics)
            row: dict[str, Any] = {}
        else:
            step = int(global_step)
            row = {"global_step": step}
        tags_list: list[str] = []
        values: list[Any] = []
        plain = self._add_values(metrics_dict, row, tags_list, values, step, now)
        tags = tuple(tags_list)
        if "created_at" not in row:
            row["created_at"] = utc_millis_string(int(now * 1000))
        self.metrics.append(row)
        if not self._writes:
            return
        if self._closed:
            self._reopen_if_closed()
        if plain:  # found again in self.metrics at flush time (see EventWriter)
            self._queue_row(row, now)
        else:
            self._event_queue.append((now, step, tags, values, True))
            self._run_keys = self._line_keys = None
        if not self._autosave:
            self._plain.append(plain)
            return
        if self._media:
            self._write_media()
        self._append_row(row, plain)
        if len(self._event_queue) > MAX_PENDING:
            self._events.flush()

    def _queue_row(self, row: dict[str, Any], now: float) -> None:
        """Queue a row of numbers for TensorBoard, opening a new run when its keys differ."""
        if self._run_keys is None or row.keys() != self._run_keys:
            self._event_queue.append(None)
            self._run_keys = frozenset(row)
            self._line_keys = None
        self._event_queue.append(now)
        if len(self._event_queue) > MAX_PENDING:
            self._events.flush()

    def _append_row(self, row: dict[str, Any], plain: bool) -> None:
        """Append one row now and remember its line format for the next rows like it."""
        template = self._csv.append_row(row, plain)
        self._line_keys = self._run_keys if template is not None else None
        self._line_template = template or ""
        self._saved_rows = len(self.metrics)

    @property
    def autosave(self) -> bool:
        """Whether ``log``/``tag`` write as they go; switching it on saves what waits."""
        return self._autosave

    @autosave.setter
    def autosave(self, value: bool) -> None:
        value = bool(value)
        if value and not self._autosave and self._writes and not self._closed:
            self.save()  # rows logged while autosave was off
        self._autosave = value
        self._update_open_run()

    def argparse(self, argparser: Any) -> None:
        """Tag every non-callable attribute of an ``argparse.Namespace`` (or hparams object)."""
        self.tag({k: v for k, v in vars(argparser).items() if not callable(v)})

    def __enter__(self) -> Experiment:
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if exc is not None:
            self._error = f"{type(exc).__name__}: {exc}"
        self.close("crashed" if exc_type is not None else "finished")

    def get_data_path(self, exp_name: str, exp_version: int) -> str:
        """The version folder of ``exp_name``/``exp_version`` under this run's ``save_dir``."""
        if exp_name == self.name and exp_version == self.version:
            return self.log_dir
        return version_dir(self.save_dir, exp_name, exp_version)

    def get_media_path(self, exp_name: str, exp_version: int) -> str:
        """The ``media/`` folder of ``exp_name``/``exp_version``."""
        return os.path.join(self.get_data_path(exp_name, exp_version), "media")

    def get_tensorboard_path(self) -> str:
        """This run's ``tf/`` folder (point TensorBoard at it or at ``save_dir``)."""
        return os.path.join(self.log_dir, "tf")

    def get_tensorboardx_path(self, exp_name: str, exp_version: int) -> str:
        """test_tube's name for the ``tf/`` folder of ``exp_name``/``exp_version``."""
        return os.path.join(self.get_data_path(exp_name, exp_version), "tf")

    def __repr__(self) -> str:
        return f"Experiment(name={self.name!r}, version={self.version}, log_dir={self.log_dir!r})"

    def __str__(self) -> str:
        return f"Exp: {self.name}, v: {self.version}"


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name.strip() or name in (".", ".."):
        raise ValueError(
            f"Experiment expected a non-empty name; received {name!r}. Example: "
            "Experiment(name='dense_model')."
        )
    if "/" in name or os.sep in name or (os.altsep and os.altsep in name):
        raise ValueError(
            f"Experiment name {name!r} contains a path separator; names are one folder. Put the "
            "parent folders in save_dir instead."
        )


def _flatten_tags(tags: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tags.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten_tags(value, f"{name}/"))
        else:
            flat[name] = tag_value(value)
    return flat
