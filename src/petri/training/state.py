"""What a checkpoint holds, captured and restored in one place for the Estimator and the Agent:
the global step, the weights, the optimizer and its schedule, the global RNGs, and what the
owner adds (the input position, a replay memory, counters)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from petri.configs.run import RunConfig
from petri.training import checkpoints as ckpt

__all__ = ["capture_training_state", "restore_training_state", "save_training_state"]


def capture_training_state(
    global_step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    """The checkpoint dict: ``global_step``, ``model``, ``rng``, ``optimizer`` and
    ``scheduler`` when given, and ``extra`` (the owner's own keys)."""
    state: dict[str, Any] = {
        "global_step": global_step,
        "model": model.state_dict(),
        "rng": ckpt.capture_rng_state(),
    }
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    if scheduler is not None:
        state["scheduler"] = scheduler.state_dict()
    return {**state, **extra}


def save_training_state(
    model_dir: str | os.PathLike[str], config: RunConfig, state: dict[str, Any], wait: bool = True
) -> Path:
    """Write ``state`` as the next checkpoint, keeping what ``config`` asks
    (``keep_checkpoint_max``, ``keep_checkpoint_every_n_hours``); ``wait=False`` writes it on
    the directory's background thread."""
    save = ckpt.save_checkpoint if wait else ckpt.save_checkpoint_async
    return save(model_dir, state, config.keep_checkpoint_max, config.keep_checkpoint_every_n_hours)


def restore_training_state(
    path: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    rng: bool = True,
    fallback: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """Load the checkpoint at ``path`` into ``model`` (and the optimizer, schedule and global
    RNGs when given); returns the path used and the whole dict, for the owner's own keys.

    With ``fallback`` a damaged checkpoint is set aside (``*.corrupt``, with a warning) and the
    previous intact one is used: what resuming a run does; an explicit path does not fall back.

    Raises:
        CorruptCheckpointError: the checkpoint is damaged (and no fallback was asked or found).
        CheckpointMismatchError: the weights belong to another model.
    """
    if fallback:
        found = ckpt.load_newest_intact(path.parent, newest=path)
        if found is None:
            raise ckpt.CorruptCheckpointError(
                f"No intact checkpoint in {str(path.parent)!r}: every one was damaged and is set "
                "aside as *.corrupt. Delete the folder to train from scratch."
            )
        path, state = found
    else:
        state = ckpt.load_checkpoint(path)
    ckpt.load_model_state(model, state["model"], path)
    if optimizer is not None and "optimizer" in state:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and "scheduler" in state:
        scheduler.load_state_dict(state["scheduler"])
    if rng and "rng" in state:
        ckpt.restore_rng_state(state["rng"])
    return path, state
