"""Record sources: where a pipeline's raw records come from, shard by shard.

A source splits its data into shards and reads each one sequentially from a position, and can
re-read a single record by reference (its byte offset or index) when a run resumes with records
sitting in the shuffle buffer. It does not decode: raw records stay small (encoded bytes, a row
index) until they leave the shuffle buffer.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

from petri.data.records.tfrecord import iter_records, read_record_at

__all__ = ["IndexSource", "LineSource", "RecordSource", "TFRecordSource"]

Read = Iterator[tuple[int, Any, int]]
"""``(reference, raw record, position after it)`` for each record of a shard."""


class RecordSource:
    """Base class of the sources.

    Contract: shards are numbered ``0 .. num_shards - 1``; ``read(shard, position, index)``
    yields ``(ref, raw, next_position)`` from ``position`` (``start(shard)`` for a fresh shard;
    ``index`` is the number of records before it, for messages); ``read_at(shard, ref)`` returns
    the raw record ``ref`` again. Sources hold only plain data so they can be sent to reader
    processes.
    """

    num_shards: int = 0

    def start(self, shard: int) -> int:
        return 0

    def read(self, shard: int, position: int, index: int) -> Read:
        raise NotImplementedError

    def read_at(self, shard: int, ref: int) -> Any:
        raise NotImplementedError

    def where(self, shard: int, ref: int) -> str:
        """Where a record is, for error messages."""
        return f"record {ref} of shard {shard}"


class TFRecordSource(RecordSource):
    """One shard per TFRecord file; a record's reference is its byte offset."""

    def __init__(self, files: Sequence[str], verify: bool = True) -> None:
        self.files = [os.fspath(f) for f in files]
        self.num_shards = len(self.files)
        self.verify = verify

    def read(self, shard: int, position: int, index: int) -> Read:
        for offset, data in iter_records(self.files[shard], position, index, self.verify):
            yield offset, data, offset + len(data) + 16

    def read_at(self, shard: int, ref: int) -> bytes:
        path = self.files[shard]
        with open(path, "rb") as file:
            return read_record_at(file, path, ref, verify=self.verify)

    def where(self, shard: int, ref: int) -> str:
        return f"{self.files[shard]}: record at byte offset {ref}"


class LineSource(RecordSource):
    """One shard per text file; a record is a non-blank line, referenced by its byte offset.

    Args:
        files: the files.
        skip_header: the first line of every file is a header, not a record.
    """

    def __init__(self, files: Sequence[str], skip_header: bool = True) -> None:
        self.files = [os.fspath(f) for f in files]
        self.num_shards = len(self.files)
        self.skip_header = skip_header
        self._starts: dict[int, int] = {}

    def start(self, shard: int) -> int:
        if not self.skip_header:
            return 0
        if shard not in self._starts:
            with open(self.files[shard], "rb") as file:
                file.readline()
                self._starts[shard] = file.tell()
        return self._starts[shard]

    def read(self, shard: int, position: int, index: int) -> Read:
        with open(self.files[shard], "rb") as file:
            file.seek(position)
            for line in file:
                start, position = position, position + len(line)
                if line.strip():
                    yield start, line, position

    def read_at(self, shard: int, ref: int) -> bytes:
        with open(self.files[shard], "rb") as file:
            file.seek(ref)
            return file.readline()

    def where(self, shard: int, ref: int) -> str:
        return f"{self.files[shard]}: line at byte offset {ref}"


class IndexSource(RecordSource):
    """``size`` in-memory examples dealt into ``num_shards`` strided shards; raw = the index.

    Striding (shard ``s`` holds ``s, s + n, s + 2n, ...``) gives every shard a mix of the data
    even when it is sorted, e.g. image files listed class by class.
    """

    def __init__(self, size: int, num_shards: int = 1) -> None:
        self.size = size
        self.num_shards = max(1, min(num_shards, size)) if size else 1

    def read(self, shard: int, position: int, index: int) -> Read:
        step = self.num_shards
        for ref in range(shard + position * step, self.size, step):
            position += 1
            yield ref, ref, position

    def read_at(self, shard: int, ref: int) -> int:
        return ref

    def where(self, shard: int, ref: int) -> str:
        return f"example {ref}"
