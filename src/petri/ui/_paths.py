"""Where a URL may lead on disk: only inside the folder the dashboard serves.

Every route that turns part of a URL into a file path goes through :func:`inside`, so ``..``,
its percent-encoded forms (Starlette decodes them before routing), absolute paths and symlinks
out of the folder all end in a 404 rather than a file elsewhere on the machine.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["inside"]


def inside(root: Path, relative: str) -> Path | None:
    """``relative`` resolved under ``root``, or None when it names nothing inside ``root``."""
    if not relative or "\x00" in relative:
        return None
    base = root.resolve()
    target = (base / relative).resolve()  # an absolute ``relative`` replaces ``base``: refused
    if target == base or not target.is_relative_to(base):
        return None
    return target
