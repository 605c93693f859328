"""Where one process of a run stands: what it takes from a checkpoint that
several ranks share (the checkpoint rank 0 chose, this rank's input position)."""

from __future__ import annotations

import logging
from typing import Any

from petri import distributed
from petri.training import checkpoints as ckpt

__all__ = ["newest_checkpoint_name", "own_input_position"]

logger = logging.getLogger("petri")


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
