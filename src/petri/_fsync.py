"""Making writes durable and shareable: fsync a directory (its entries) or a whole folder of new
files; give a file written through a private temporary file the mode a plain ``open`` would."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_directory", "fsync_tree", "as_created"]


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
