"""TFRecord files: length-prefixed records, each framed by masked CRC32C checksums.

The layout is TensorFlow's (``tensorflow/core/lib/io/record_writer.cc``)::

    uint64 length            little-endian
    uint32 masked_crc32c(length bytes)
    byte   data[length]
    uint32 masked_crc32c(data)

Every checksum is verified on read, so a truncated shard or a flipped bit is reported with the
file, the byte offset of the damaged record and its index, instead of surfacing later as a
strange training curve. Framing and CRC32C (``google-crc32c``) are ``petri._tfrecord``'s, shared
with TensorBoard event files.
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from petri._fsync import as_created, reporting_disk_full
from petri._tfrecord import frame_records, masked_crc32c
from petri.data.records._atomic import AtomicWriter
from petri.errors import PetriError

__all__ = [
    "CorruptRecordError",
    "TFRecordWriter",
    "iter_records",
    "masked_crc32c",
    "read_record_at",
]

_HEADER = struct.Struct("<QI")
_FOOTER = struct.Struct("<I")
_READ_BUFFER = 1 << 16


class CorruptRecordError(PetriError, ValueError):
    """A record file is damaged: a checksum does not match or the file ends mid-record.

    Attributes:
        path: the file.
        offset: byte offset where the damaged record starts.
        record: index of that record in the file (0-based), when known.
    """

    def __init__(self, path: str, offset: int, problem: str, record: int | None = None) -> None:
        where = f"byte offset {offset}" + (f" (record {record})" if record is not None else "")
        super().__init__(
            f"{path}: {problem} at {where}. The file is damaged (truncated or modified); "
            "re-create it, or drop it from data_files."
        )
        self.path, self.offset, self.problem, self.record = path, offset, problem, record

    def __reduce__(self) -> tuple[type, tuple[str, int, str, int | None]]:
        # Errors cross from reader processes to the main process by pickling.
        return (type(self), (self.path, self.offset, self.problem, self.record))


class TFRecordWriter(AtomicWriter):
    """Writes records to one TFRecord file, atomically.

    Records go to a temporary file in the same directory that is renamed into place on
    :meth:`close`, so readers never see a half-written shard and a crash leaves no torn file.

    Args:
        path: the file to write.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "a.tfrecord")
        >>> with TFRecordWriter(path) as writer:
        ...     writer.write(b"hello")
        >>> [data for _, data in iter_records(path)]
        [b'hello']
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
        )
        self._temporary = Path(temporary)
        self._file: BinaryIO | None = os.fdopen(handle, "wb")
        self.num_records = 0

    def write(self, data: bytes) -> None:
        """Append one record (already serialized bytes, usually an Example)."""
        if self._file is None:
            raise ValueError(f"TFRecordWriter for {str(self.path)!r} is closed.")
        with reporting_disk_full(self._temporary):
            self._file.write(frame_records([data]))
        self.num_records += 1

    def close(self) -> None:
        """Flush, fsync and move the file into place."""
        if self._file is None:
            return
        try:
            with reporting_disk_full(self.path):
                self._file.flush()
                os.fsync(self._file.fileno())
        except BaseException:
            self.abort()
            raise
        self._file.close()
        self._file = None
        as_created(self._temporary)
        os.replace(self._temporary, self.path)

    def abort(self) -> None:
        """Discard everything written (the target file is left as it was)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._temporary.unlink(missing_ok=True)


def _read_record(
    file: BinaryIO, path: str, offset: int, index: int | None, verify: bool
) -> bytes | None:
    """The record starting at ``offset`` (the file is positioned there), or None at the end."""
    header = file.read(_HEADER.size)
    if not header:
        return None
    if len(header) < _HEADER.size:
        raise CorruptRecordError(
            path, offset, f"truncated record header ({len(header)} of 12 bytes)", index
        )
    length, length_crc = _HEADER.unpack(header)
    if verify and masked_crc32c(header[:8]) != length_crc:
        raise CorruptRecordError(path, offset, "bad length CRC", index)
    body = file.read(length + 4)
    if len(body) < length + 4:
        raise CorruptRecordError(
            path,
            offset,
            f"truncated record (header says {length} data bytes + 4 CRC bytes, "
            f"{len(body)} remain)",
            index,
        )
    data = body[:length]
    if verify and masked_crc32c(data) != _FOOTER.unpack_from(body, length)[0]:
        raise CorruptRecordError(path, offset, "bad data CRC", index)
    return data


def iter_records(
    path: str | os.PathLike[str], offset: int = 0, index: int = 0, verify: bool = True
) -> Iterator[tuple[int, bytes]]:
    """Yield ``(byte_offset, data)`` for each record of a TFRecord file, from ``offset`` on.

    Args:
        path: the file.
        offset: where to start; must be the start of a record (an offset this function
            yielded, or 0).
        index: the index of the record at ``offset``, used in error messages.
        verify: check both CRCs of every record.

    Raises:
        CorruptRecordError: a checksum fails or the file ends inside a record.
    """
    name = os.fspath(path)
    with open(name, "rb", buffering=_READ_BUFFER) as file:
        if offset:
            file.seek(offset)
        while True:
            data = _read_record(file, name, offset, index, verify)
            if data is None:
                return
            yield offset, data
            offset += len(data) + 16
            index += 1


def read_record_at(
    file: BinaryIO, path: str, offset: int, index: int | None = None, verify: bool = True
) -> bytes:
    """The record at ``offset`` of an open TFRecord file (random access, for resuming).

    Raises:
        CorruptRecordError: the record is damaged or ``offset`` is past the end of the file.
    """
    file.seek(offset)
    data = _read_record(file, path, offset, index, verify)
    if data is None:
        raise CorruptRecordError(path, offset, "no record (offset is past the end)", index)
    return data
