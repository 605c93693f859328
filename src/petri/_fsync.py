"""Making writes whole, durable and shareable, and saying so when the disk is full.

``replace_atomically`` is the one way Petri replaces a file (temporary file, fsync, rename);
``reporting_disk_full`` turns ENOSPC/EDQUOT (and torch's zip writer failing for lack of space)
into :class:`petri.errors.DiskFullError` naming the file and the space left. Also: fsync a
directory (its entries) or a folder of new files; give a file written through a private
temporary file the mode a plain ``open`` would."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from petri.errors import DiskFullError

__all__ = [
    "as_created",
    "disk_full_error",
    "fsync_directory",
    "fsync_tree",
    "replace_atomically",
    "reporting_disk_full",
]


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it: done once, at import
    os.umask(mask)
    return mask


_UMASK = _umask()


def as_created(path: str | os.PathLike[str]) -> None:
    """Give ``path`` the mode ``open(path, "w")`` (or ``os.mkdir`` for a folder) would have:
    ``0644``/``0755`` under umask 022. ``tempfile`` creates ``0600`` files and ``0700``
    folders, which would make a shared dataset, run or export unreadable to the others."""
    os.chmod(path, (0o777 if os.path.isdir(path) else 0o666) & ~_UMASK)


def fsync_directory(directory: Path) -> None:
    """Flush ``directory``'s entries (a rename into it survives a power cut); best effort on
    filesystems that cannot."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def fsync_tree(folder: Path) -> None:
    """Flush every file below ``folder``, then ``folder`` itself."""
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    fsync_directory(folder)


_FULL = (errno.ENOSPC, errno.EDQUOT)


def _size(count: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"


def _torch_write_failed(error: BaseException, folder: Path) -> bool:
    """torch's zip writer reports a failed write as a RuntimeError ("unexpected pos ...")."""
    text = str(error)
    if not ("unexpected pos" in text or "PytorchStreamWriter" in text or "write" in text):
        return False
    try:
        return shutil.disk_usage(folder).free < 64 * 1024 * 1024
    except OSError:
        return False


def disk_full_error(path: str | os.PathLike[str]) -> DiskFullError:
    """The error for a write to ``path`` that found no space: how much is left, what is safe."""
    folder = Path(path).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        usage = shutil.disk_usage(folder)
        space = f"{_size(usage.free)} free of {_size(usage.total)}"
    except OSError:
        space = "free space unknown"
    return DiskFullError(
        f"No space left to write {os.fspath(path)} ({space} on its device). It was not "
        "written; everything written before it is intact (files are replaced only once the "
        "new copy is whole). Free some space and run again: a run resumes from its last "
        "checkpoint.",
        os.fspath(path),
    )


@contextmanager
def reporting_disk_full(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turn a full disk or quota met while writing ``path`` into :class:`DiskFullError`."""
    try:
        yield
    except DiskFullError:
        raise
    except OSError as error:
        if error.errno in _FULL:
            raise disk_full_error(error.filename or path) from error
        raise
    except RuntimeError as error:
        if _torch_write_failed(error, Path(path).parent):
            raise disk_full_error(path) from error
        raise


def replace_atomically(
    path: str | os.PathLike[str], write: Callable[[Any], None], binary: bool = False
) -> None:
    """Write ``path`` whole or not at all: ``write(file)`` fills a temporary file beside it,
    which is flushed to disk and renamed over ``path``. On any error (a full disk included,
    raised as :class:`DiskFullError`) the temporary file is removed and ``path`` is as before.
    """
    target = Path(path)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with reporting_disk_full(target):
            if binary:
                with os.fdopen(handle, "wb") as file:
                    write(file)
                    file.flush()
                    os.fsync(file.fileno())
            else:
                with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
                    write(file)
                    file.flush()
                    os.fsync(file.fileno())
            as_created(temporary)
            os.replace(temporary, target)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
