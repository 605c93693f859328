"""Checkpoint files: one atomic ``model.ckpt-<step>.pt`` per save, the newest kept.

A checkpoint is a single ``state_dict`` (model, optimizer, schedule, global step, RNG states,
input position) written to a temporary file, fsynced, then renamed into place, so a crash at any
moment leaves either the previous set of checkpoints or the new one, never a torn file.

Every file carries its own CRC32C: ``PETRICKPT1``, the payload length (uint64) and its masked
CRC32C (uint32), then torch's zip payload. A flipped bit or a truncated file is found on load
(:class:`CorruptCheckpointError`, naming the file); :func:`load_newest_intact` sets such a file
aside as ``*.corrupt`` with a warning and falls back to the previous intact checkpoint. Files of
earlier Petri versions (a bare zip) still load, unverified.

Training need not wait for the disk: :func:`save_checkpoint_async` copies the state (a memcpy)
and writes it on a background thread, one write at a time per directory, in order. Every reader
here (:func:`list_checkpoints`, :func:`latest_checkpoint`, :func:`load_checkpoint`) first waits
for the pending writes into its directory, so callers in this process never see a checkpoint
"missing" that is on its way; the interpreter waits for them at exit (the threads are not
daemons); a kill before a write finishes leaves the previous checkpoint, as a crash would.
"""

from __future__ import annotations

import io
import logging
import os
import random
import re
import struct
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch

from petri._fsync import fsync_directory, replace_atomically
from petri._tfrecord import masked_crc32c
from petri.errors import CheckpointMismatchError, PetriError

__all__ = [
    "REQUIRED_KEYS",
    "CorruptCheckpointError",
    "capture_rng_state",
    "checkpoint_path",
    "checkpoint_step",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "load_model_state",
    "load_newest_intact",
    "newest_intact_checkpoint",
    "pending_checkpoint",
    "restore_rng_state",
    "save_checkpoint",
    "save_checkpoint_async",
    "wait_for_checkpoints",
]

_PATTERN = re.compile(r"^model\.ckpt-(\d+)\.pt$")
_TEMPORARY = re.compile(r"^\.model\.ckpt-.*\.tmp$")
REQUIRED_KEYS = ("format", "global_step", "model")
FORMAT = 1
_MAGIC = b"PETRICKPT1"
_HEADER = struct.Struct("<QI")  # payload length, masked CRC32C of the payload
logger = logging.getLogger("petri")


class CorruptCheckpointError(PetriError, ValueError):
    """A checkpoint file is damaged: its checksum does not match, or it is truncated or empty."""


def list_checkpoints(model_dir: str | os.PathLike[str]) -> list[Path]:
    """Complete checkpoint files in ``model_dir``, oldest step first."""
    wait_for_checkpoints(model_dir)
    return _list_complete(Path(model_dir))


def _list_complete(directory: Path) -> list[Path]:
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


def checkpoint_path(model_dir: str | os.PathLike[str], step: int) -> Path:
    """Where the checkpoint of ``step`` is (or will be) in ``model_dir``."""
    return Path(model_dir) / f"model.ckpt-{int(step)}.pt"


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
    wait_for_checkpoints(model_dir)
    return _write(Path(model_dir), state, keep_max, keep_every_n_hours)


def _write(
    directory: Path, state: dict[str, Any], keep_max: int | None, keep_every_n_hours: float | None
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = checkpoint_path(directory, state["global_step"])
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, **state}, buffer)
    payload = buffer.getbuffer()
    _remove_leftovers(directory)
    header = _MAGIC + _HEADER.pack(len(payload), masked_crc32c(payload))

    def write(file: Any) -> None:
        file.write(header)
        file.write(payload)

    replace_atomically(target, write, binary=True)  # a full disk: DiskFullError, nothing left
    fsync_directory(directory)
    if keep_max:
        checkpoints = _list_complete(directory)
        milestones = _hourly_milestones(checkpoints, keep_every_n_hours)
        for old in checkpoints[:-keep_max]:
            if old not in milestones:
                old.unlink(missing_ok=True)
    return target


class _PendingWrite:
    """One background checkpoint write; ``result()`` joins it and re-raises its error."""

    def __init__(self, target: Path, previous: _PendingWrite | None, job: Any) -> None:
        self.target = target
        self.error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(previous, job), name="petri-checkpoint", daemon=False
        )
        self._thread.start()

    def _run(self, previous: _PendingWrite | None, job: Any) -> None:
        if previous is not None:
            previous._thread.join()  # keep writes into one directory in order
            self.error = previous.error  # only the newest write is waited on: carry it
        try:
            job()
        except BaseException as error:  # surfaced by result() in the training thread
            self.error = error

    def result(self) -> None:
        self._thread.join()
        if self.error is not None:
            error, self.error = self.error, None
            raise error


_pending: dict[Path, _PendingWrite] = {}
_pending_lock = threading.Lock()


def save_checkpoint_async(
    model_dir: str | os.PathLike[str],
    state: dict[str, Any],
    keep_max: int | None = 5,
    keep_every_n_hours: float | None = None,
) -> Path:
    """Like :func:`save_checkpoint`, but the file is written on a background thread.

    ``state`` is copied before returning, so training may go on changing the live tensors.
    An error from the write is raised by the next save or read of this directory.
    """
    directory = Path(model_dir).resolve()
    snapshot = _snapshot(state)
    target = checkpoint_path(directory, state["global_step"])
    with _pending_lock:
        previous = _pending.get(directory)
        _pending[directory] = _PendingWrite(
            target, previous, lambda: _write(directory, snapshot, keep_max, keep_every_n_hours)
        )
    return target


def pending_checkpoint(model_dir: str | os.PathLike[str]) -> Path | None:
    """The path the newest unfinished background write into ``model_dir`` will create."""
    with _pending_lock:
        write = _pending.get(Path(model_dir).resolve())
    return write.target if write is not None and write.error is None else None


def wait_for_checkpoints(model_dir: str | os.PathLike[str] | None = None) -> None:
    """Block until the background writes into ``model_dir`` (or everywhere) are on disk."""
    with _pending_lock:
        if model_dir is None:
            writes = list(_pending.items())
        else:
            directory = Path(model_dir).resolve()
            writes = [(directory, _pending[directory])] if directory in _pending else []
    for directory, write in writes:
        try:
            write.result()
        finally:
            with _pending_lock:
                if _pending.get(directory) is write:
                    del _pending[directory]


def _snapshot(value: Any) -> Any:
    """A copy of a nested state whose tensors no longer share memory with the live ones."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, dict):
        return {key: _snapshot(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_snapshot(item) for item in value)
    if isinstance(value, np.ndarray):
        return value.copy()
    return value


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
    """Load a checkpoint after verifying its checksum (``weights_only``: no code runs from it).

    Raises:
        CorruptCheckpointError: the file is damaged (checksum, truncation, empty).
        ValueError: it is not a Petri checkpoint (required keys missing).
    """
    data = _checked_bytes(path)
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for damaged zips
        raise CorruptCheckpointError(
            f"Checkpoint {str(path)!r} cannot be read ({type(error).__name__}: {error})."
        ) from error
    missing = [key for key in REQUIRED_KEYS if key not in state]
    if missing:
        raise ValueError(f"Checkpoint {str(path)!r} lacks required keys {missing}.")
    return state


def _checked_bytes(path: str | os.PathLike[str]) -> bytes | memoryview:
    """The checkpoint's payload once its header and checksum agree with it."""
    wait_for_checkpoints(Path(path).parent)
    data = Path(path).read_bytes()
    if data.startswith(_MAGIC):
        return _verified_payload(str(path), data)
    if not data.startswith(b"PK"):  # neither this format nor an earlier version's bare zip
        raise CorruptCheckpointError(
            f"Checkpoint {str(path)!r} is damaged: "
            f"{'it is empty' if not data else 'it does not start with a checkpoint header'}."
        )
    return data


def newest_intact_checkpoint(model_dir: str | os.PathLike[str]) -> Path | None:
    """The newest checkpoint whose bytes verify (nothing is unpickled); damaged newer ones are
    set aside as in :func:`load_newest_intact`. A resume asks this for the step it will restore
    before it builds anything, so the run log is rewound to the checkpoint actually used."""
    for path in reversed(list_checkpoints(model_dir)):
        try:
            _checked_bytes(path)
        except CorruptCheckpointError as error:
            _set_aside(path, error)
            continue
        return path
    return None


def _verified_payload(path: str, data: bytes) -> memoryview:
    start = len(_MAGIC) + _HEADER.size
    if len(data) < start:
        raise CorruptCheckpointError(f"Checkpoint {path!r} is damaged: its header is truncated.")
    length, checksum = _HEADER.unpack_from(data, len(_MAGIC))
    payload = memoryview(data)[start:]
    if len(payload) != length:
        raise CorruptCheckpointError(
            f"Checkpoint {path!r} is damaged: {len(payload)} of its {length} payload bytes are "
            "there (truncated, or written past its end)."
        )
    if masked_crc32c(payload) != checksum:
        raise CorruptCheckpointError(
            f"Checkpoint {path!r} is damaged: its CRC32C does not match its contents (a flipped "
            "bit or a partial overwrite)."
        )
    return payload


def load_newest_intact(
    model_dir: str | os.PathLike[str], newest: Path | None = None
) -> tuple[Path, dict[str, Any]] | None:
    """``(path, state)`` of the newest checkpoint that loads intact, starting at ``newest``
    (default: the newest in ``model_dir``); None when there is none.

    A damaged one is renamed ``<name>.corrupt`` (kept for inspection, never loaded again) with
    a warning naming it, and the previous one is tried.
    """
    candidates = list_checkpoints(model_dir)
    if newest is not None:
        candidates = [p for p in candidates if checkpoint_step(p) <= checkpoint_step(newest)]
        if newest not in candidates:
            candidates.append(newest)
    for path in reversed(candidates):
        try:
            return path, load_checkpoint(path)
        except CorruptCheckpointError as error:
            _set_aside(path, error)
    return None


def _set_aside(path: Path, error: CorruptCheckpointError) -> None:
    aside = path.with_name(path.name + ".corrupt")
    os.replace(path, aside)
    logger.warning("%s Set aside as %s; using the previous checkpoint.", error, aside)


def _remove_leftovers(directory: Path) -> None:
    """Temporary files of writes that a crash interrupted (a run has one writer; this process's
    own writes into ``directory`` run one at a time, so none of these is in progress)."""
    for path in directory.iterdir():
        if _TEMPORARY.match(path.name):
            path.unlink(missing_ok=True)


def load_model_state(module: torch.nn.Module, weights: dict[str, Any], path: Path | str) -> None:
    """``module.load_state_dict(weights)``, or an error that says the checkpoint at ``path`` is
    another model's (a model_dir reused for a changed model is the usual cause)."""
    try:
        module.load_state_dict(weights)
    except RuntimeError as error:
        expected, found = set(module.state_dict()), set(weights)
        details = [
            f"{label} {sorted(keys)[:3]}{' and more' if len(keys) > 3 else ''}"
            for label, keys in (
                ("the model has, the checkpoint lacks:", expected - found),
                ("the checkpoint has, the model lacks:", found - expected),
            )
            if keys
        ] or [str(error).strip().splitlines()[-1].strip()]
        directory = Path(path).parent
        shapes = ""
        if expected == found:  # same layers, other sizes: perhaps only the input differs
            shapes = (
                " If the config is the one trained, the first batch this process gave the model "
                "had another shape than the training input (lazily-shaped layers take theirs "
                "from it): give features of the training input's shape."
            )
        raise CheckpointMismatchError(
            f"The checkpoint {str(path)!r} was written by a different model: "
            f"{'; '.join(details)}.{shapes} Train this model in a new model_dir, or delete "
            f"{str(directory)!r} to start it over."
        ) from error


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
