"""``PrioritizedMemory``: proportional prioritized replay with importance weights."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from petri.rl.memories._base import ReplayBatch
from petri.rl.memories._sum_tree import SumTree
from petri.rl.memories.uniform import Memory

__all__ = ["PrioritizedMemory"]


class PrioritizedMemory(Memory):
    """Proportional prioritized experience replay (Schaul et al. 2016, arXiv:1511.05952).

    Transition ``i`` is sampled with probability ``P(i) = p_i**alpha / sum_k p_k**alpha`` where
    ``p_i = |td_error_i| + epsilon`` (new transitions get the largest priority seen so far), by
    stratified sampling over ``batch_size`` equal segments of a sum tree. Each sample carries
    the importance weight ``w_i = (N * P(i)) ** -beta / max_j w_j`` (``N`` = stored transitions,
    the max over the whole memory, as in the paper), and ``beta`` grows linearly from ``beta``
    to ``beta_final`` over ``beta_steps`` calls of ``sample``.

    Args:
        size, batch_size, rng, save_contents: see :class:`Memory`.
        alpha: how much prioritization is used (0 = uniform).
        beta: initial importance-sampling exponent.
        beta_final: the exponent after ``beta_steps`` samples.
        beta_steps: samples over which beta is annealed.
        epsilon: added to ``|td_error|`` so no transition has zero probability.

    After each update, call ``update_priorities(batch.indices, td_errors)`` (the Agent does).
    """

    def __init__(
        self,
        size: int = 1000,
        batch_size: int = 32,
        rng: np.random.Generator | int | None = None,
        save_contents: bool = True,
        alpha: float = 0.6,
        beta: float = 0.4,
        beta_final: float = 1.0,
        beta_steps: int = 100_000,
        epsilon: float = 1e-6,
    ) -> None:
        super().__init__(size, batch_size, rng, save_contents)
        for key, value in (("alpha", alpha), ("beta", beta), ("beta_final", beta_final)):
            if not 0 <= value <= 1:
                raise ValueError(
                    f"PrioritizedMemory expected {key} in [0, 1]. Received: {key}={value!r}."
                )
        if epsilon <= 0:
            raise ValueError(f"PrioritizedMemory expected epsilon > 0. Received: {epsilon!r}.")
        self.alpha, self.beta0, self.beta_final = float(alpha), float(beta), float(beta_final)
        self.beta_steps = max(int(beta_steps), 1)
        self.epsilon = float(epsilon)
        self.tree = SumTree(self.size)
        self._max_priority = 1.0
        self._samples = 0

    @property
    def beta(self) -> float:
        """The current importance-sampling exponent."""
        fraction = min(self._samples / self.beta_steps, 1.0)
        return self.beta0 + fraction * (self.beta_final - self.beta0)

    def _advance(self, index: int, count: int) -> None:
        new = (index + np.arange(count)) % self.size
        self.tree.update(new, np.full(count, self._max_priority**self.alpha))
        super()._advance(index, count)

    def sample(self) -> ReplayBatch:
        """``batch_size`` transitions drawn by priority, with importance weights."""
        self._check_can_sample()
        total = self.tree.total
        segment = total / self.batch_size
        values = (np.arange(self.batch_size) + self.rng.random(self.batch_size)) * segment
        indices = np.minimum(
            self.tree.find(np.minimum(values, np.nextafter(total, 0))), self._length - 1
        )
        weights = self.importance_weights(indices)
        self._samples += 1
        return self._gather(torch.from_numpy(indices), torch.from_numpy(weights), indices)

    def probabilities(self, indices: np.ndarray) -> np.ndarray:
        """``P(i)`` of the transitions at ``indices``."""
        return self.tree[indices] / self.tree.total

    def importance_weights(self, indices: np.ndarray) -> np.ndarray:
        """``(N * P(i)) ** -beta`` normalized by its maximum over the memory (float32)."""
        beta = self.beta
        n = self._length
        smallest = self.tree.min / self.tree.total
        weights = (n * self.probabilities(indices)) ** -beta / (n * smallest) ** -beta
        return weights.astype(np.float32)

    def update_priorities(self, indices: np.ndarray, td_errors: Any) -> None:
        """Set the priorities of sampled transitions from their new TD errors."""
        if isinstance(td_errors, torch.Tensor):
            td_errors = td_errors.detach().cpu().numpy()
        priorities = np.abs(np.asarray(td_errors, dtype=np.float64)).reshape(-1) + self.epsilon
        self._max_priority = max(self._max_priority, float(priorities.max()))
        self.tree.update(np.asarray(indices), priorities**self.alpha)

    def clear(self) -> None:
        super().clear()
        self.tree = SumTree(self.size)
        self._max_priority = 1.0

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["samples"] = self._samples
        state["max_priority"] = self._max_priority
        if self.save_contents:
            leaves = self.tree[np.arange(self._length)]
            state["priorities"] = torch.from_numpy(leaves.copy())
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.tree = SumTree(self.size)
        self._samples = int(state.get("samples", 0))
        self._max_priority = float(state.get("max_priority", 1.0))
        priorities = state.get("priorities")
        if priorities is not None and self._length:
            self.tree.update(np.arange(self._length), priorities.numpy())
