"""``BatchMemory``: the on-policy memory that hands over everything it holds, then clears."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from petri.rl.memories._base import RolloutBatch, positive_int

__all__ = ["BatchMemory"]


class BatchMemory:
    """Collects on-policy steps in time order until ``batch_size`` transitions are held.

    Each ``add`` stores one time step of every environment (arrays with a leading
    ``num_envs`` dimension, or single values for one environment); ``sample`` returns all of
    it as a :class:`RolloutBatch` shaped ``[T, num_envs, ...]`` and clears the memory.

    Args:
        batch_size: transitions (time steps x environments) after which :attr:`is_full`.

    Example:
        >>> memory = BatchMemory(batch_size=2)
        >>> memory.add([0.0], 1, 1.0, [1.0], False, False)
        >>> memory.add([1.0], 0, 1.0, [2.0], True, True)
        >>> memory.is_full, memory.sample().rewards.shape, len(memory)
        (True, torch.Size([2, 1]), 0)
    """

    def __init__(self, batch_size: int = 5000) -> None:
        self.batch_size = positive_int("BatchMemory", "batch_size", batch_size)
        self.save_contents = False
        self._steps: list[tuple[np.ndarray, ...]] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def is_full(self) -> bool:
        return self._count >= self.batch_size

    def add(
        self,
        state: Any,
        action: Any,
        reward: Any,
        next_state: Any,
        terminal: Any,
        done: Any,
    ) -> None:
        """Store one time step (``done``: the episode ended, by termination or truncation)."""
        state = np.asarray(state, dtype=np.float32)
        row = (
            state,
            np.asarray(action),
            np.asarray(reward, dtype=np.float32),
            np.asarray(next_state, dtype=np.float32),
            np.asarray(terminal, dtype=np.float32),
            np.asarray(done, dtype=np.float32),
        )
        if row[2].ndim == 0:  # one environment: give every column an environment dimension
            row = tuple(value[None] for value in row)
        self._steps.append(row)
        self._count += len(row[2])

    def sample(self) -> RolloutBatch:
        """Everything stored, ``[T, num_envs, ...]``, then the memory is cleared.

        Raises:
            ValueError: the memory is empty.
        """
        if not self._steps:
            raise ValueError("BatchMemory is empty; add on-policy steps before sampling.")
        columns = [torch.from_numpy(np.stack(column)) for column in zip(*self._steps)]
        actions = columns[1]
        columns[1] = actions.long() if not actions.is_floating_point() else actions.float()
        self.clear()
        return RolloutBatch(*columns)

    def clear(self) -> None:
        self._steps = []
        self._count = 0

    def state_dict(self) -> dict[str, Any]:
        """The steps collected so far (less than a batch), so a resumed run completes the same
        batch an uninterrupted one would."""
        state: dict[str, Any] = {"batch_size": self.batch_size}
        if self._steps:
            state["columns"] = [
                torch.from_numpy(np.stack(column)) for column in zip(*self._steps, strict=True)
            ]
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the steps :meth:`state_dict` saved (none from checkpoints of earlier
        versions: the batch starts empty)."""
        self.clear()
        columns = state.get("columns")
        if columns:
            for row in zip(*(column.numpy() for column in columns), strict=True):
                self._steps.append(tuple(value.copy() for value in row))
                self._count += len(row[2])

    def __repr__(self) -> str:
        return f"BatchMemory(batch_size={self.batch_size}, len={len(self)})"
