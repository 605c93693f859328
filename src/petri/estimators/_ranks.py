"""Where one process of a run stands: its device, and what it takes from a checkpoint that
several ranks share (the checkpoint rank 0 chose, this rank's input position)."""

from __future__ import annotations

import logging
from typing import Any

import torch

from petri import distributed
from petri.errors import ConfigError
from petri.training import checkpoints as ckpt

__all__ = ["newest_checkpoint_name", "own_input_position", "resolve_device"]

logger = logging.getLogger("petri")


def resolve_device(name: str) -> torch.device:
    """``auto`` is CUDA when there is one; under a distributed launch a bare ``cuda`` is the
    process's ``LOCAL_RANK`` device."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"run_config.device is {name!r}, but torch sees no CUDA device here (CUDA build: "
            f"{torch.version.cuda or 'no'}). Use 'auto' or 'cpu'.",
            "run_config.device",
            name,
        )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(
            "run_config.device is 'mps', but this machine has no MPS device. Use 'auto' or 'cpu'.",
            "run_config.device",
            name,
        )
    if device.type == "cuda" and device.index is None and distributed.launched():
        return torch.device("cuda", distributed.local_rank())
    return device


def newest_checkpoint_name(model_dir: str) -> str | None:
    """The file name of the newest intact checkpoint in ``model_dir`` (what rank 0 tells the
    others to load), or None."""
    path = ckpt.newest_intact_checkpoint(model_dir)
    return None if path is None else path.name


def own_input_position(saved: Any) -> Any:
    """This rank's input position from a checkpoint's ``input`` (one per rank across ranks);
    a position saved by another number of ranks is not this rank's (None: start afresh)."""
    if isinstance(saved, dict) and "ranks" in saved:
        positions = list(saved["ranks"])
        if len(positions) != distributed.world_size():
            logger.warning(
                "The input positions were saved by %d processes, not %d; the input starts afresh.",
                len(positions),
                distributed.world_size(),
            )
            return None
        return positions[distributed.rank()]
    if saved is not None and distributed.world_size() > 1:
        logger.warning("The input position was saved by one process; the input starts afresh.")
        return None
    return saved
