"""Checkpoint files: one atomic ``model.ckpt-<step>.pt`` per save, the newest kept.

A checkpoint is a single ``state_dict`` (model, optimizer, schedule, global step, RNG states,
input position) written to a temporary file, fsynced, then renamed into place, so a crash at any
moment leaves either the previous set of checkpoints or the new one, never a torn file.
"""

from __future__ import annotations

import os
import random
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "REQUIRED_KEYS",
    "capture_rng_state",
    "checkpoint_step",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "restore_rng_state",
    "save_checkpoint",
]

_PATTERN = re.compile(r"^model\.ckpt-(\d+)\.pt$")
REQUIRED_KEYS = ("format", "global_step", "model")
FORMAT = 1


def list_checkpoints(model_dir: str | os.PathLike[str]) -> list[Path]:
    """Complete checkpoint files in ``model_dir``, oldest step first."""
    directory = Path(model_dir)
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = _PATTERN.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return [path for _, path in sorted(found)]


def latest_checkpoint(model_dir: str | os.PathLike[str]) -> Path | None:
    """The newest checkpoint in ``model_dir``, or None."""
    checkpoints = list_checkpoints(model_dir)
    return checkpoints[-1] if checkpoints else None


def checkpoint_step(path: str | os.PathLike[str]) -> int:
    """The global step encoded in a checkpoint's file name."""
    match = _PATTERN.match(Path(path).name)
    if not match:
        raise ValueError(f"{str(path)!r} is not a Petri checkpoint (model.ckpt-<step>.pt).")
    return int(match.group(1))


def save_checkpoint(
    model_dir: str | os.PathLike[str],
    state: dict[str, Any],
    keep_max: int | None = 5,
    keep_every_n_hours: float | None = None,
) -> Path:
    """Write ``state`` atomically as ``model.ckpt-<global_step>.pt``; prune beyond ``keep_max``.

    With ``keep_every_n_hours``, a checkpoint written at least that long after the previous one
    kept this way survives pruning (judged by file modification times), as TF's Saver did.
    """
    directory = Path(model_dir)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"model.ckpt-{int(state['global_step'])}.pt"
    payload = {"format": FORMAT, **state}
    handle, temporary = tempfile.mkstemp(prefix=".model.ckpt-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(payload, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_directory(directory)
    if keep_max:
        checkpoints = list_checkpoints(directory)
        milestones = _hourly_milestones(checkpoints, keep_every_n_hours)
        for old in checkpoints[:-keep_max]:
            if old not in milestones:
                old.unlink(missing_ok=True)
    return target


def _hourly_milestones(checkpoints: list[Path], hours: float | None) -> set[Path]:
    if not hours or not checkpoints:
        return set()
    kept: set[Path] = set()
    anchor = checkpoints[0].stat().st_mtime
    for path in checkpoints[1:]:
        modified = path.stat().st_mtime
        if modified - anchor >= hours * 3600:
            kept.add(path)
            anchor = modified
    return kept


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load and validate a checkpoint (``weights_only``: no code runs from the file)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for damaged files.
        raise ValueError(f"Checkpoint {str(path)!r} cannot be read: {error}") from error
    missing = [key for key in REQUIRED_KEYS if key not in state]
    if missing:
        raise ValueError(f"Checkpoint {str(path)!r} lacks required keys {missing}.")
    return state


def capture_rng_state() -> dict[str, Any]:
    """Torch, numpy and Python RNG states in a ``weights_only``-loadable form."""
    kind, keys, position, has_gauss, cached = np.random.get_state()
    version, python_state, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {"version": version, "state": list(python_state), "gauss_next": gauss_next},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["kind"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    python_state = state["python"]
    random.setstate(
        (python_state["version"], tuple(python_state["state"]), python_state["gauss_next"])
    )
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _fsync_directory(directory: Path) -> None:
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
