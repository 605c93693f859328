"""``Memory``: uniform experience replay in preallocated tensors."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from petri.rl.memories._base import (
    ReplayBatch,
    generator_state,
    positive_int,
    restore_generator,
    set_generator,
)

__all__ = ["Memory"]

_COLUMNS = ("states", "actions", "rewards", "next_states", "terminals", "steps")


class Memory:
    """A ring buffer of transitions sampled uniformly (experience replay, Mnih et al. 2015).

    Storage is allocated once, on the first ``add``, as torch tensors sized ``size``; writes go
    through numpy views of the same memory, so ``add`` and ``sample`` are O(1) (O(batch)) with
    no per-step allocation besides the sampled batch.

    Args:
        size: transitions kept; the oldest are overwritten first.
        batch_size: transitions per ``sample()``.
        rng: a ``numpy.random.Generator`` (or a seed) for sampling; the Agent gives a memory
            without one a generator derived from its run seed.
        save_contents: checkpoints hold the memory's contents (so a resumed run continues with
            the same replay data); False keeps checkpoints small and a resumed run refills it.

    Raises:
        ValueError: ``size`` or ``batch_size`` not a positive integer, or ``size < batch_size``.

    Example:
        >>> memory = Memory(size=100, batch_size=2, rng=0)
        >>> for t in range(3):
        ...     memory.add([t, t], 1, 1.0, [t + 1, t + 1], False)
        >>> len(memory), memory.sample().states.shape
        (3, torch.Size([2, 2]))
    """

    def __init__(
        self,
        size: int = 1000,
        batch_size: int = 32,
        rng: np.random.Generator | int | None = None,
        save_contents: bool = True,
    ) -> None:
        name = type(self).__name__
        self.size = positive_int(name, "size", size)
        self.batch_size = positive_int(name, "batch_size", batch_size)
        if self.size < self.batch_size:
            raise ValueError(
                f"{name} expected size >= batch_size (a sample draws batch_size transitions). "
                f"Received: size={size}, batch_size={batch_size}. Raise size or lower "
                "batch_size."
            )
        self.rng_given = rng is not None
        self.rng = set_generator(rng)
        self.save_contents = save_contents
        self._tensors: dict[str, torch.Tensor] = {}
        self._arrays: dict[str, np.ndarray] = {}
        self._position = 0
        self._length = 0

    def __len__(self) -> int:
        return self._length

    @property
    def can_sample(self) -> bool:
        """Whether the memory holds at least ``batch_size`` transitions."""
        return self._length >= self.batch_size

    # ------------------------------------------------------------------ writing
    def add(
        self,
        state: Any,
        action: Any,
        reward: float,
        next_state: Any,
        terminal: bool,
        steps: int = 1,
    ) -> None:
        """Store one transition (``terminal``: ``next_state`` ends the MDP, not a time limit)."""
        state = np.asarray(state, dtype=np.float32)
        action = np.asarray(action)
        if not self._arrays:
            self._allocate(state.shape, action.shape, action.dtype)
        i = self._position
        arrays = self._arrays
        arrays["states"][i] = state
        arrays["actions"][i] = action
        arrays["rewards"][i] = reward
        arrays["next_states"][i] = next_state
        arrays["terminals"][i] = terminal
        arrays["steps"][i] = steps
        self._advance(i, 1)

    def add_batch(
        self,
        states: Any,
        actions: Any,
        rewards: Any,
        next_states: Any,
        terminals: Any,
        steps: Any = 1,
    ) -> None:
        """Store several transitions at once (first dimension: transitions)."""
        states = np.asarray(states, dtype=np.float32)
        actions = np.asarray(actions)
        count = len(states)
        if count == 1:
            self.add(
                states[0],
                actions[0],
                np.asarray(rewards).reshape(-1)[0],
                next_states[0],
                np.asarray(terminals).reshape(-1)[0],
                np.asarray(steps).reshape(-1)[0],
            )
            return
        if not self._arrays:
            self._allocate(states.shape[1:], actions.shape[1:], actions.dtype)
        if count > self.size:
            raise ValueError(
                f"{type(self).__name__}.add_batch received {count} transitions, more than its "
                f"size={self.size}."
            )
        index = (self._position + np.arange(count)) % self.size
        arrays = self._arrays
        arrays["states"][index] = states
        arrays["actions"][index] = actions
        arrays["rewards"][index] = rewards
        arrays["next_states"][index] = next_states
        arrays["terminals"][index] = terminals
        arrays["steps"][index] = steps
        self._advance_many(index)

    def _advance(self, index: int, count: int) -> None:
        self._position = (index + count) % self.size
        self._length = min(self._length + count, self.size)

    def _advance_many(self, index: np.ndarray) -> None:
        self._advance(self._position, len(index))

    def _allocate(
        self, state_shape: tuple[int, ...], action_shape: tuple[int, ...], action_dtype: np.dtype
    ) -> None:
        action_torch = torch.int64 if np.issubdtype(action_dtype, np.integer) else torch.float32
        shapes = {
            "states": ((self.size, *state_shape), torch.float32),
            "actions": ((self.size, *action_shape), action_torch),
            "rewards": ((self.size,), torch.float32),
            "next_states": ((self.size, *state_shape), torch.float32),
            "terminals": ((self.size,), torch.float32),
            "steps": ((self.size,), torch.float32),
        }
        self._tensors = {
            k: torch.zeros(shape, dtype=dtype) for k, (shape, dtype) in shapes.items()
        }
        self._arrays = {k: t.numpy() for k, t in self._tensors.items()}

    # ------------------------------------------------------------------ reading
    def sample(self) -> ReplayBatch:
        """``batch_size`` transitions drawn uniformly with replacement.

        Raises:
            ValueError: fewer than ``batch_size`` transitions are stored.
        """
        self._check_can_sample()
        index = torch.from_numpy(self.rng.integers(0, self._length, self.batch_size))
        return self._gather(index)

    def _gather(
        self,
        index: torch.Tensor,
        weights: torch.Tensor | None = None,
        indices: np.ndarray | None = None,
    ) -> ReplayBatch:
        t = self._tensors
        return ReplayBatch(
            t["states"].index_select(0, index),
            t["actions"].index_select(0, index),
            t["rewards"].index_select(0, index),
            t["next_states"].index_select(0, index),
            t["terminals"].index_select(0, index),
            t["steps"].index_select(0, index),
            weights,
            indices,
        )

    def _check_can_sample(self) -> None:
        if self._length < self.batch_size:
            raise ValueError(
                f"{type(self).__name__} holds {self._length} transitions, fewer than "
                f"batch_size={self.batch_size}. Start updates later (first_update >= "
                "batch_size) or lower batch_size."
            )

    def clear(self) -> None:
        """Forget every transition (storage is kept)."""
        self._position = self._length = 0

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Position, length, generator and (with ``save_contents``) the stored transitions."""
        state: dict[str, Any] = {
            "size": self.size,
            "position": self._position if self.save_contents else 0,
            "length": self._length if self.save_contents else 0,
            "rng": generator_state(self.rng),
        }
        if self.save_contents and self._tensors:
            state["columns"] = {k: t[: self._length].clone() for k, t in self._tensors.items()}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (a memory of the same ``size``).

        Raises:
            ValueError: the saved memory had another size.
        """
        if int(state["size"]) != self.size:
            raise ValueError(
                f"{type(self).__name__} has size={self.size} but the checkpoint holds a memory of "
                f"size={state['size']}; build the memory with the checkpoint's size."
            )
        restore_generator(self.rng, state["rng"])
        columns = state.get("columns")
        self._position, self._length = int(state["position"]), int(state["length"])
        if columns:
            actions = columns["actions"]
            self._allocate(
                tuple(columns["states"].shape[1:]),
                tuple(actions.shape[1:]),
                np.dtype(np.int64) if not actions.is_floating_point() else np.dtype(np.float32),
            )
            for key in _COLUMNS:
                self._tensors[key][: self._length] = columns[key]
        else:
            self._position = self._length = 0

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(size={self.size}, batch_size={self.batch_size}, len={len(self)})"
