"""Making writes durable: fsync a directory (its entries) or a whole folder of new files."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_directory", "fsync_tree"]


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
