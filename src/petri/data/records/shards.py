"""Sharded record files: ``<prefix>-00000-of-00004.tfrecord`` names, writing and finding them."""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from pathlib import Path

from petri.data.records._atomic import AtomicWriter
from petri.data.records.meta_data import check_shards
from petri.data.records.tfrecord import TFRecordWriter
from petri.errors import ConfigError

__all__ = ["ShardedRecordWriter", "expand_data_files", "shard_name", "shard_names"]

SUFFIX = ".tfrecord"


def shard_name(prefix: str, index: int, num_shards: int, suffix: str = SUFFIX) -> str:
    """File name of shard ``index`` of ``num_shards``: ``digits_train-00001-of-00004.tfrecord``."""
    if not 0 <= index < num_shards:
        raise ValueError(f"Shard index must be in [0, {num_shards}); received {index}.")
    return f"{prefix}-{index:05d}-of-{num_shards:05d}{suffix}"


def shard_names(prefix: str, num_shards: int, suffix: str = SUFFIX) -> list[str]:
    """All shard names of a ``prefix`` (the glob ``<prefix>-*`` finds exactly these)."""
    return [shard_name(prefix, index, num_shards, suffix) for index in range(num_shards)]


class ShardedRecordWriter(AtomicWriter):
    """Writes ``num_records`` records into ``num_shards`` files, in contiguous runs.

    Contiguous runs (not round robin) keep the original order when the shards are read one
    after the other, which unshuffled evaluation and prediction rely on.

    Args:
        directory: where the shards go (created if needed).
        prefix: file-name prefix; the seed library used ``<dataset>_<split>``.
        num_shards: how many files.
        num_records: how many records will be written in total.
    """

    def __init__(
        self, directory: str | os.PathLike[str], prefix: str, num_shards: int, num_records: int
    ) -> None:
        if num_shards < 1:
            raise ValueError(f"num_shards must be a positive integer. Received: {num_shards}.")
        if num_records < 0:
            raise ValueError(f"num_records must be >= 0. Received: {num_records}.")
        self.directory = Path(directory)
        self.paths = [self.directory / name for name in shard_names(prefix, num_shards)]
        base, extra = divmod(num_records, num_shards)
        self.counts = [base + (1 if index < extra else 0) for index in range(num_shards)]
        self.num_records = num_records
        self._written = 0
        self._writers: list[TFRecordWriter] = []

    def write(self, data: bytes) -> None:
        """Append one record to the current shard."""
        if self._written >= self.num_records:
            raise ValueError(
                f"ShardedRecordWriter was told num_records={self.num_records}; "
                "one more was written. Pass the true total."
            )
        writers = self._writers
        while not writers or writers[-1].num_records >= self.counts[len(writers) - 1]:
            writers.append(TFRecordWriter(self.paths[len(writers)]))
        writers[-1].write(data)
        self._written += 1

    def close(self) -> None:
        """Close every shard; shards that received no record are written empty."""
        if self._written != self.num_records:
            self.abort()
            raise ValueError(
                f"ShardedRecordWriter expected {self.num_records} records; "
                f"{self._written} were written."
            )
        while len(self._writers) < len(self.paths):
            self._writers.append(TFRecordWriter(self.paths[len(self._writers)]))
        for writer in self._writers:
            writer.close()

    def shard_sizes(self) -> dict[str, dict[str, int]]:
        """``{file name: {"records": n, "bytes": size}}`` of the closed shards, for
        ``meta_data.json`` (readers check the sizes: see ``check_shards``)."""
        return {
            path.name: {"records": count, "bytes": path.stat().st_size}
            for path, count in zip(self.paths, self.counts)
        }

    def abort(self) -> None:
        """Discard every shard written so far (target files are left as they were)."""
        for writer in self._writers:
            writer.abort()


def expand_data_files(
    data_files: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    path: str = "params.data_files",
) -> list[str]:
    """Files named by ``data_files``: a path, a glob, or a list of either; sorted, no repeats.

    Raises:
        ConfigError: nothing is named, a named file does not exist, or a glob matches nothing.
    """
    items = [data_files] if isinstance(data_files, str | os.PathLike) else list(data_files or [])
    if not items:
        raise ConfigError(
            f"`{path}` names no files; give a path, a glob such as "
            "'/data/digits_train-*', or a list of them.",
            path,
            data_files,
        )
    found: list[str] = []
    for item in items:
        pattern = os.path.expanduser(os.fspath(item))
        if glob.has_magic(pattern):
            matches = sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
            if not matches:
                raise ConfigError(
                    f"`{path}`: the pattern {pattern!r} matches no file. Check the directory, "
                    "or create the records first (e.g. petri.datasets.digits.prepare(dir)).",
                    path,
                    data_files,
                )
            found.extend(matches)
        elif os.path.isfile(pattern):
            found.append(pattern)
        else:
            raise ConfigError(
                f"`{path}` names {pattern!r}, which does not exist.", path, data_files
            )
    # Shard numbers are zero-padded, so sorting the names sorts the shards.
    files = sorted(dict.fromkeys(found))
    check_shards(files)
    return files
