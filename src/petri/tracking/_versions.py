"""Version directories ``<save_dir>/<name>/version_<n>``, allocated atomically.

test_tube picked "highest existing version plus one" and then created the folder, so two
processes starting together got the same version (its issue #45). Here the folder itself is the
lock: ``os.mkdir`` is atomic and fails with ``FileExistsError`` for every process but one, and
the losers move on to the next number.
"""

from __future__ import annotations

import os
import re

__all__ = ["DEFAULT_SAVE_DIR", "allocate_version", "existing_versions", "version_dir"]

DEFAULT_SAVE_DIR = "petri_logs"
"""Where runs go when no save_dir is given (``./petri_logs``)."""

_VERSION = re.compile(r"^version_(\d+)$")


def version_dir(save_dir: str, name: str, version: int) -> str:
    """The folder of ``version`` of experiment ``name``."""
    return os.path.join(save_dir, name, f"version_{version}")


def existing_versions(experiment_dir: str) -> list[int]:
    """Version numbers present under ``<save_dir>/<name>``, sorted."""
    try:
        entries = os.listdir(experiment_dir)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(int(m.group(1)) for m in map(_VERSION.match, entries) if m)


def allocate_version(save_dir: str, name: str) -> tuple[int, str]:
    """Create the next free ``version_<n>`` folder and return ``(n, path)``.

    Safe across processes and threads: the number is claimed by the ``mkdir`` that creates its
    folder, so concurrent callers always receive distinct versions.
    """
    experiment_dir = os.path.join(save_dir, name)
    os.makedirs(experiment_dir, exist_ok=True)
    versions = existing_versions(experiment_dir)
    candidate = versions[-1] + 1 if versions else 0
    while True:
        path = os.path.join(experiment_dir, f"version_{candidate}")
        try:
            os.mkdir(path)
        except FileExistsError:
            candidate += 1
            continue
        return candidate, path
