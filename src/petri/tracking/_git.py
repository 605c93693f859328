"""The code a run came from: commit, branch and dirty state, and test_tube's git tag."""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from typing import Any

__all__ = ["create_tag", "git_snapshot", "tag_name"]

_TIMEOUT = 10


def _git(args: list[str], cwd: str | None) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def git_snapshot(cwd: str | None = None) -> dict[str, Any] | None:
    """``{"commit", "branch", "dirty"}`` of the work tree at ``cwd``; None outside one."""
    if shutil.which("git") is None:
        return None
    # Two git calls in the common case (each costs a process start).
    heads = _git(["rev-parse", "HEAD", "--abbrev-ref", "HEAD"], cwd)
    if heads is not None and len(heads.splitlines()) == 2:
        commit, branch = heads.splitlines()
    elif _git(["rev-parse", "--is-inside-work-tree"], cwd) == "true":
        commit, branch = None, _git(["symbolic-ref", "--short", "HEAD"], cwd)  # no commit yet
    else:
        return None
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    return {"commit": commit, "branch": branch, "dirty": bool(status)}


def tag_name(name: str, version: int) -> str:
    """``petri_<name>_v<version>`` with characters git refuses in tag names replaced."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-") or "experiment"
    return f"petri_{safe}_v{version}"


def create_tag(name: str, version: int, description: str | None, cwd: str | None = None) -> str:
    """Tag HEAD for this run; warns (never raises) when that is impossible.

    Returns:
        The tag name, or "" when no tag was created.
    """
    tag = tag_name(name, version)
    if shutil.which("git") is None or _git(["rev-parse", "HEAD"], cwd) is None:
        warnings.warn(
            f"create_git_tag=True but {cwd or 'the current directory'} is not a git work tree "
            "with a commit; no tag was created. Run from inside the repository (after a first "
            "commit) or pass create_git_tag=False.",
            RuntimeWarning,
            stacklevel=3,
        )
        return ""
    message = f"Petri experiment {name} v{version}: {description or 'no description'}"
    if _git(["tag", "-a", tag, "-m", message], cwd) is None and _git(["tag", tag], cwd) is None:
        warnings.warn(
            f"git could not create tag {tag!r} (does it already exist?); the run continues "
            "without it.",
            RuntimeWarning,
            stacklevel=3,
        )
        return ""
    return tag
