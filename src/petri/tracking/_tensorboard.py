"""TensorBoard event files under ``<version>/tf/``, written in batches.

Events are queued in memory (a deque: appends from the training thread, drains from the flush
thread, no lock on the hot path) and written on :meth:`EventWriter.flush` as TFRecords:
``uint64 length, masked crc32c(length), data, masked crc32c(data)``. One file per writer session,
named like TensorBoard's own (``events.out.tfevents.<time>.<host>.<pid>.<n>``) and starting with
the ``brain.Event:2`` version record, so TensorBoard, ``EventAccumulator`` and TensorFlow read it.
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
import threading
import time
from collections import deque
from itertools import chain
from operator import itemgetter
from typing import Any

from petri._tfrecord import frame_equal_length, frame_records
from petri.tracking import _proto

__all__ = ["EventWriter"]

_pack_q = struct.Struct("<Q").pack
_counter = itertools.count()
_global_step = itemgetter("global_step")
# Below this many records of one length, the numpy batch costs more than the plain loop.
_VECTOR_MIN = 16


class EventWriter:
    """Queues scalar rows and encoded summaries; writes them as one TFRecord batch per flush.

    Thread-safety: ``add_*`` may be called from one thread while ``flush`` runs in another;
    ``flush`` calls are serialised by a lock.

    Queue items: a float ``wall_time`` stands for the next row of ``rows`` (the run's metric
    rows: every key but ``global_step`` and ``created_at`` is a scalar; the hot path appends
    only that float, so it allocates nothing the garbage collector tracks); consecutive floats
    are rows with the same keys, ``None`` starts a run with other keys; a tuple
    ``(wall_time, step, tags, values, is_row)`` holds explicit scalars (``is_row``: it also
    stands for the next row); bytes are an encoded event.

    Args:
        directory: the ``tf/`` folder (created on the first flush that has something to write).
        rows: the metric rows float items refer to; ``cursor`` is the next one.
    """

    def __init__(self, directory: str, rows: list[dict[str, Any]] | None = None) -> None:
        self.directory = directory
        self._pending: deque[Any] = deque()
        self.queue = self._pending
        """Callers may append items here directly (the hot path)."""
        self.rows: list[dict[str, Any]] = rows if rows is not None else []
        self.cursor = len(self.rows)
        self._layouts: dict[tuple[str, ...], tuple[tuple[str, ...], Any, bool]] = {}
        self._prefixes: dict[str, bytes] = {}
        self._file: Any = None
        self._lock = threading.Lock()
        self.path: str | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def add_scalars(
        self,
        wall_time: float,
        step: int,
        tags: tuple[str, ...],
        values: list[float],
        is_row: bool = False,
    ) -> None:
        """Queue one event holding the scalars ``tags[i] = values[i]`` at ``step``."""
        self._pending.append((wall_time, step, tags, values, is_row))

    def add_event(self, event: bytes) -> None:
        """Queue an encoded ``Event`` as it is."""
        self._pending.append(event)

    def add_values(self, wall_time: float, step: int, values: bytes) -> None:
        """Queue one event whose ``Summary`` is ``values`` (encoded ``Summary.Value`` fields)."""
        self._pending.append(_proto.event(wall_time, step, values))

    def flush(self) -> None:
        """Encode and write everything queued so far."""
        if not self._pending:
            return
        with self._lock:
            pending = self._pending
            items = [pending.popleft() for _ in range(len(pending))]
            data = self._encode(items)
            if not data:
                return
            if self._file is None:
                self._open()
            self._file.write(data)
            self._file.flush()

    def close(self) -> None:
        """Flush and close the file; a later flush opens a new one."""
        self.flush()
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    # ---------------------------------------------------------------- encoding
    def _encode(self, items: list[Any]) -> bytes:
        """Framed records for the queue ``items``, in order."""
        chunks: list[bytes] = []
        kinds = list(map(type, items))
        # Positions of everything that is not a row's float: runs of floats lie between them.
        others = [i for i, kind in enumerate(kinds) if kind is not float]
        others.append(len(items))
        index = 0
        for stop in others:
            if stop > index:
                first = self.cursor
                self.cursor += stop - index
                rows = self.rows[first : self.cursor]
                if len(rows) == stop - index:
                    chunks.append(self._encode_group(items[index:stop], rows, first))
            if stop == len(items):
                break
            item = items[stop]
            if kinds[stop] is tuple:
                if item[4]:
                    self.cursor += 1
                if item[2]:
                    chunks.append(frame_records([self._scalar_event(*item[:4])]))
            elif kinds[stop] is bytes:
                chunks.append(frame_records([item]))
            index = stop + 1
        return b"".join(chunks)

    def _encode_group(self, walls: list[float], rows: list[dict[str, Any]], first: int) -> bytes:
        """Rows with the same keys: one numpy layout, split where the step's varint widens."""
        if not rows:
            return b""
        keys = tuple(rows[0])
        layout = self._layouts.get(keys)
        if layout is None:
            tags = tuple(k for k in keys if k != "global_step" and k != "created_at")
            getter = itemgetter(*tags) if tags else None
            layout = self._layouts[keys] = (tags, getter, "global_step" in rows[0])
        tags, getter, has_step = layout
        if not tags:
            return b""
        count = len(rows)
        steps = list(map(_global_step, rows)) if has_step else list(range(first, first + count))
        if count < _VECTOR_MIN or steps[0] < 0 or min(steps) < 0:
            return frame_records(
                [
                    self._scalar_event(
                        wall, step, tags, getter(row) if len(tags) > 1 else (getter(row),)
                    )
                    for wall, step, row in zip(walls, steps, rows)
                ]
            )
        import numpy as np

        flat = chain.from_iterable(map(getter, rows)) if len(tags) > 1 else map(getter, rows)
        with np.errstate(over="ignore", invalid="ignore"):
            values = (
                np.fromiter(flat, dtype=np.float64, count=count * len(tags))
                .astype(np.float32)
                .reshape(count, len(tags))
            )
        wall_array = np.array(walls, dtype=np.float64)
        step_array = np.array(steps, dtype=np.uint64)
        widths = np.ones(count, dtype=np.int64)
        for bits in range(7, 64, 7):
            widths += step_array >= np.uint64(1 << bits)
        cuts = [0, *(np.flatnonzero(np.diff(widths)) + 1).tolist(), count]
        return b"".join(
            self._encode_block(wall_array[a:b], step_array[a:b], values[a:b], tags, int(widths[a]))
            for a, b in itertools.pairwise(cuts)
            if b > a
        )

    def _encode_block(
        self, walls: Any, steps: Any, values: Any, tags: tuple[str, ...], width: int
    ) -> bytes:
        """Framed scalar events whose records all have the same byte layout."""
        import numpy as np

        prefixes = [self._prefix(tag) for tag in tags]
        summary_length = sum(len(prefix) + 4 for prefix in prefixes)
        head = b"\x2a" + _proto.varint(summary_length)
        fields: list[tuple[Any, ...]] = [
            ("tag_wall", "u1"),
            ("wall", "<f8"),
            ("tag_step", "u1"),
            ("step", "u1", (width,)),
            ("head", f"V{len(head)}"),
        ]
        for index, prefix in enumerate(prefixes):
            fields += [(f"p{index}", f"V{len(prefix)}"), (f"v{index}", "<f4")]
        layout = np.dtype(fields)
        count = len(walls)
        records = np.empty(count, dtype=layout)
        records["tag_wall"] = 0x09
        records["wall"] = walls
        records["tag_step"] = 0x10
        step_bytes = records["step"]
        for byte in range(width):
            part = (steps >> np.uint64(7 * byte)) & np.uint64(0x7F)
            if byte < width - 1:
                part |= np.uint64(0x80)
            step_bytes[:, byte] = part
        records["head"] = np.void(head)
        for index, prefix in enumerate(prefixes):
            records[f"p{index}"] = np.void(prefix)
            records[f"v{index}"] = values[:, index]
        data = records.view(np.uint8).reshape(count, layout.itemsize)
        return frame_equal_length(data)

    def _prefix(self, tag: str) -> bytes:
        prefix = self._prefixes.get(tag)
        if prefix is None:
            prefix = self._prefixes[tag] = _proto.scalar_value_prefix(str(tag))
        return prefix

    def _scalar_event(
        self, wall_time: float, step: int, tags: tuple[str, ...], values: Any
    ) -> bytes:
        return _proto.scalar_event(wall_time, step, tags, values)

    def _open(self) -> None:
        os.makedirs(self.directory, exist_ok=True)
        name = (
            f"events.out.tfevents.{_file_time(self.directory):010d}.{socket.gethostname()}."
            f"{os.getpid()}.{next(_counter)}"
        )
        self.path = os.path.join(self.directory, name)
        self._file = open(self.path, "ab")  # noqa: SIM115 - kept open across flushes
        version = _proto.event(time.time(), 0, file_version="brain.Event:2")
        self._file.write(frame_records([version]))


def _file_time(directory: str) -> int:
    """The time in a new event file's name: now, or one second after the directory's newest.

    TensorBoard reads a folder's event files in the order of their names, and a resumed run's
    purge of later steps only works when its file is read after the earlier ones. Two files
    opened in the same second would sort by process id, which is not the order they were
    written in.
    """
    now = int(time.time())
    newest = max(
        (
            int(parts[3])
            for parts in (name.split(".") for name in os.listdir(directory))
            if len(parts) > 3 and parts[:3] == ["events", "out", "tfevents"] and parts[3].isdigit()
        ),
        default=0,
    )
    return max(now, newest + 1)
