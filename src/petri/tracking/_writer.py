"""``RunWriter``: how a run's files are written and kept: ``save``/``close``, TensorBoard-only
values, images, tags, ``meta.experiment`` and its heartbeat, resuming, and the run's timer thread.
``petri.tracking.Experiment`` is the test_tube-compatible front on top of it (``tag``, ``log``
and its hot path, versions, paths)."""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import time
import warnings
from collections.abc import Mapping
from typing import Any

from petri.tracking import _proto
from petri.tracking._csv_log import read_csv
from petri.tracking._histogram import histogram_value
from petri.tracking._lock import RunLock
from petri.tracking._media import ImageData, as_image, media_name
from petri.tracking._rows import IMAGE, NUMBER, expand
from petri.tracking._status import HEARTBEAT_SECS, read_meta, this_process, write_meta
from petri.tracking._tags import read_tag_file, write_tags
from petri.tracking._timer import RunTimer
from petri.tracking._timestamps import parse_utc

__all__ = ["FLUSH_SECS", "LINE_SECS", "MAX_PENDING", "RunWriter"]

LINE_SECS = 0.2  # an autosaving run's rows reach metrics.csv at most this late
FLUSH_SECS = 2.0  # its TensorBoard events reach disk at least this often
MAX_PENDING = 20_000  # ... or as soon as this many events wait


class RunWriter:
    """The writing half of a run log; the attributes are set by ``Experiment.__init__``.

    Thread-safety: one thread logs; the run's timer thread writes queued rows and TensorBoard
    events and refreshes the heartbeat (``meta.experiment`` writes take a lock).
    """

    name: str
    version: int
    log_dir: str
    save_dir: str
    exp_hash: str
    description: str | None
    tags: dict[str, Any]
    default_tags: set[str]
    created_at: str
    _hparams_started: bool
    metrics: list[dict[str, Any]]
    status: str
    _lock: RunLock

    def _update_open_run(self) -> None:
        self._open_run = bool(
            getattr(self, "_writes", False) and not getattr(self, "_closed", True)
        )

    def save(self) -> None:
        """Write everything not yet on disk: rows, tags, images, TensorBoard events, metadata."""
        if not self._writes:
            return
        self._reopen_if_closed()
        if self._media:
            self._write_media()
        if self._autosave:
            self._csv.flush_lines()  # the hot path's queued lines
            self._saved_rows = len(self.metrics)  # every other row was written when logged
        rows = self.metrics[self._saved_rows :]
        if rows:
            plain = self._plain[-len(rows) :] if len(self._plain) >= len(rows) else None
            self._csv.append(rows, plain)
            self._line_keys = None
            self._saved_rows = len(self.metrics)
        self._plain = []
        if self._tags_dirty or not os.path.exists(self._tags_path):
            self._write_tags()
        if not self._tags_text_written:
            self._write_tags_text()
        self._flush_events()
        self._write_meta()

    def rewind(self, step: int) -> int:
        """Make the record end at ``step``: a run resumed from checkpoint ``step`` logs the
        later steps again, so its record equals an uninterrupted run's. Returns the rows dropped.

        ``metrics.csv`` loses its rows after ``step`` (rewritten atomically). TensorBoard's
        event files are flushed on their own clock, so after a SIGKILL they may hold events
        that never reached ``metrics.csv`` or miss rows that did; they are made to agree with
        it: a session-start event discards every event from ``step`` on, and the rows
        ``metrics.csv`` keeps at ``step`` itself are written again.
        """

        def later(row: dict[str, Any]) -> bool:
            value = _step_of(row)
            return value is not None and value > step

        if not self._writes or (not self.metrics and not os.path.isdir(self._events.directory)):
            return 0
        self.save()
        kept = [row for row in self.metrics if not later(row)]
        dropped = len(self.metrics) - len(kept)
        if dropped:
            self.metrics[:] = kept  # the event writer holds this list
            self._csv.rewrite(kept)
            self._saved_rows = self._events.cursor = len(kept)
            self._line_keys = self._run_keys = None
        purge_from = max(step, 1)  # step 0 holds the hyperparameters, never a metric row
        now = time.time()
        self._events.add_event(_proto.session_start(now, purge_from))
        for row in kept:
            if _step_of(row) == purge_from:
                scalars = {
                    k: float(v)
                    for k, v in row.items()
                    if k not in ("global_step", "created_at") and _is_number(v)
                }
                if scalars:
                    self._events.add_scalars(
                        now, purge_from, tuple(scalars), list(scalars.values())
                    )
        self._events.flush()
        return dropped

    def close(self, status: str = "finished", error: str | None = None) -> None:
        """Save, mark the run ``status`` and release its files; logging again reopens the run.

        Args:
            status: ``finished``, or ``crashed`` when the run ends with an error.
            error: what went wrong, stored in ``meta.experiment``.
        """
        if error is not None:
            self._error = error
        if not self._writes:
            self.status = status
            return
        if self._closed:
            if status != self.status:
                self.status = status
                self._write_meta()
            return
        self._end_hparams_session(status)
        failures: list[BaseException] = []
        for step in (self.save, self._stop_timer, self._events.close, self._csv.close):
            try:  # a full disk must not keep the lock held or the timer running
                step()
            except Exception as failure:
                failures.append(failure)
        if failures and status == "finished":
            status = "crashed"
            self._error = self._error or f"{type(failures[0]).__name__}: {failures[0]}"
        self.status = status
        self._finished_at = time.time()
        self._line_keys = None
        self._closed = True
        self._update_open_run()
        try:
            self._write_meta()
        except Exception as failure:
            failures.append(failure)
        finally:
            self._lock.release()
            atexit.unregister(self._at_exit)
        if failures:
            raise failures[0]

    def add_scalar(
        self,
        tag: str,
        scalar_value: float,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """A scalar for TensorBoard only (no CSV row), as SummaryWriter.add_scalar."""
        if self._writes:
            step = len(self.metrics) if global_step is None else int(global_step)
            self._events.add_scalars(
                time.time() if walltime is None else walltime, step, (tag,), [scalar_value]
            )

    def add_histogram(
        self,
        tag: str,
        values: Any,
        global_step: int | None = None,
        bins: int = 30,
        walltime: float | None = None,
    ) -> None:
        """A histogram of ``values`` (array or tensor) for TensorBoard."""
        if not self._writes:
            return
        encoded = histogram_value(tag, values, bins)
        if encoded is None:
            return
        step = len(self.metrics) if global_step is None else int(global_step)
        self._events.add_values(time.time() if walltime is None else walltime, step, encoded)

    def add_image(
        self,
        tag: str,
        img_tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """An image (any accepted kind, see :mod:`petri.tracking._media`) for TensorBoard."""
        if not self._writes:
            return
        image = as_image(img_tensor)
        step = len(self.metrics) if global_step is None else int(global_step)
        self._add_image_event(tag, image, step, time.time() if walltime is None else walltime)

    def add_text(
        self,
        tag: str,
        text_string: str,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Text (markdown) for TensorBoard's text tab."""
        if self._writes:
            step = len(self.metrics) if global_step is None else int(global_step)
            self._events.add_values(
                time.time() if walltime is None else walltime,
                step,
                _proto.text_value(tag, str(text_string)),
            )

    def flush(self) -> None:
        """Write queued CSV rows and TensorBoard events now."""
        if self._writes:
            self._csv.flush_lines()
            self._flush_events()

    def _flush_events(self) -> None:
        """Write queued TensorBoard events; the first that this process writes come with the
        HParams tab's session start, so the tags set before the first row are all in it."""
        hparams = self._hparams() if not self._hparams_started and len(self._events) else {}
        if hparams:
            self._hparams_started = True
            start = self._start_time()
            group = f"{self.name}/version_{self.version}"
            summary = _proto.hparams_session_start(hparams, group, start)
            self._events.add_values(start, 0, summary)  # step 0: never purged (see rewind)
        self._events.flush()

    def _hparams(self) -> dict[str, Any]:
        """The tags for TensorBoard's HParams tab: all but a config's defaults (copied first:
        the timer thread calls this while the logging thread may tag)."""
        tags, defaults = dict(self.tags), set(self.default_tags)
        return {k: v for k, v in tags.items() if k not in defaults}

    def _start_time(self) -> float:
        """The run's creation time: the same in every session start a resumed run writes."""
        return parse_utc(self.created_at) or time.time()

    def _end_hparams_session(self, status: str) -> None:
        """Queue the HParams tab's session end for a run that ends ``status``, if it has one."""
        code = _proto.END_STATUS.get(status)
        if code is not None and self._hparams():
            now = time.time()
            self._events.add_values(now, 0, _proto.hparams_session_end(code, now))

    @property
    def _tags_path(self) -> str:
        return os.path.join(self.log_dir, "meta_tags.csv")

    def _add_values(
        self,
        metrics_dict: Mapping[str, Any],
        row: dict[str, Any],
        tags: list[str],
        values: list[Any],
        step: int,
        now: float,
    ) -> bool:
        """The general path of :meth:`log`; returns whether every cell is a plain number."""
        expanded: list[tuple[str, Any, str]] = []
        for key, value in metrics_dict.items():
            expand(str(key), value, expanded)
        plain = "created_at" not in metrics_dict
        for name, item, kind in expanded:
            if kind == NUMBER:
                row[name] = item
                tags.append(name)
                values.append(float(item))
                continue
            plain = False
            if kind != IMAGE:
                row[name] = item
                continue
            fmt, raw = item
            try:
                image = as_image(raw)
            except (TypeError, ValueError) as error:
                warnings.warn(
                    f"{name!r} looked like an image but could not be converted ({error}); it "
                    "is logged as text.",
                    RuntimeWarning,
                    stacklevel=3,
                )
                row[name] = str(raw)
                continue
            file_name = media_name(name, step, fmt)
            row[name] = f"media/{file_name}"
            if self._writes:
                self._media.append((file_name, fmt, image))
                self._add_image_event(name, image, step, now)
        return plain

    def _add_image_event(self, tag: str, image: ImageData, step: int, now: float) -> None:
        self._events.add_values(
            now,
            step,
            _proto.image_value(
                tag, image.height, image.width, image.channels, image.encode("png")
            ),
        )

    def _write_media(self) -> None:
        media_dir = self.get_media_path(self.name, self.version)
        os.makedirs(media_dir, exist_ok=True)
        pending, self._media = self._media, []
        for file_name, fmt, image in pending:
            with open(os.path.join(media_dir, file_name), "wb") as file:
                file.write(image.encode(fmt))

    def _write_tags(self) -> None:
        write_tags(self._tags_path, self.tags, self.default_tags)
        self._tags_dirty = False
        self._tags_text_written = False

    def _write_tags_text(self) -> None:
        """The tags as a markdown table in TensorBoard's text tab (once per change)."""
        self._tags_text_written = True
        if self.tags:
            rows = "".join(f"{k}|{v}\n" for k, v in self.tags.items())
            header = f"###### {self.name}, version {self.version}\n"
            if self.description:
                header += f"*{self.description}*\n\n"
            self.add_text("hparams", f"{header}parameter|value\n-|-\n{rows}", global_step=0)

    def _meta(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "tags_path": self._tags_path,
            "metrics_path": self._csv.path,
            "autosave": self.autosave,
            "description": self.description,
            "created_at": self.created_at,
            "exp_hash": self.exp_hash,
            "status": self.status,
            **this_process(),
            "heartbeat": time.time(),
            "finished_at": self._finished_at,
            "error": self._error,
            "git": self.git,
            "git_tag": self.git_tag,
        }

    def _write_meta(self) -> None:
        with self._meta_lock:
            write_meta(self.log_dir, self._meta())
            self._last_beat = time.monotonic()

    def _load(self) -> None:
        """Resume: metadata, typed tags and typed metric rows of the existing run."""
        meta = read_meta(self.log_dir)
        self.created_at = meta.get("created_at", self.created_at)
        if self.description is None:
            self.description = meta.get("description")
        self.git_tag = meta.get("git_tag")
        self.tags, self.default_tags = read_tag_file(self._tags_path)
        _, rows = read_csv(self._csv.path)
        self.metrics.extend(rows)  # the event writer holds this list
        self._events.cursor = self._saved_rows = len(self.metrics)

    def _open(self) -> None:
        """Take the run's writer lock, mark it running, start the flush/heartbeat timer, and
        close it at exit.

        Raises:
            RunLockedError: another writer has the run open.
        """
        self._lock = RunLock.acquire(self.log_dir)
        _remove_leftovers(self.log_dir)
        self._closed = False
        self._update_open_run()
        self.status = "running"
        self._finished_at = None
        self._write_meta()
        self._timer = RunTimer(self._tick, LINE_SECS, f"petri-run-{self.exp_hash}")
        self._timer.start()
        atexit.register(self._at_exit)

    def _reopen_if_closed(self) -> None:
        if self._closed and self._writes:
            self._open()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _tick(self) -> None:
        """Called by the timer thread every ``LINE_SECS``."""
        now = time.monotonic()
        if self.autosave:
            self._csv.flush_lines()
            if now >= self._events_due:
                self._events_due = now + FLUSH_SECS
                self._flush_events()
        if now - self._last_beat >= HEARTBEAT_SECS:
            self._write_meta()

    def _at_exit(self) -> None:
        """Interpreter exit: save and close; an uncaught exception marks the run crashed."""
        if self._closed:
            return
        failure = getattr(sys, "last_value", None)
        if failure is not None and not isinstance(failure, SystemExit):
            self._error = f"{type(failure).__name__}: {failure}"
            self.close("crashed")
        else:
            self.close("finished")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _step_of(row: dict[str, Any]) -> int | None:
    value = row.get("global_step")
    return int(value) if _is_number(value) else None


_RUN_FILES = ("meta.experiment", "meta_tags.csv", "metrics.csv", "config.yaml")


def _remove_leftovers(directory: str) -> None:
    """Temporary files of run-file writes that a kill interrupted (the writer lock is held, so
    no write of this run is in progress)."""
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return
    for entry in entries:
        name = entry.name.lstrip(".")
        if entry.name.endswith(".tmp") and name.startswith(_RUN_FILES):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
