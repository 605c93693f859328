"""n-step transitions: rewards of ``n`` steps folded into one replay transition per step."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import torch

__all__ = ["NStepBuffer"]


class NStepBuffer:
    """Turns one-step transitions of each environment into n-step ones.

    ``add`` takes one step of every environment and returns the n-step transitions that are
    complete: ``(state_t, action_t, sum_{i<k} gamma**i r_{t+i}, state_{t+k}, terminal, k)``
    with ``k = n``, or fewer at the end of an episode. When an episode ends every pending
    transition is emitted with the episode's final observation as next state and ``terminal``
    set only if the episode *terminated* (a truncated one bootstraps with ``gamma**k``).

    Args:
        n: steps per transition.
        discount: the reward discount ``gamma``.
        num_envs: parallel environments (each keeps its own window).
    """

    def __init__(self, n: int, discount: float, num_envs: int = 1) -> None:
        self.n = n
        self.discount = discount
        self._windows: list[deque[tuple[Any, Any, float]]] = [deque() for _ in range(num_envs)]

    def add(
        self,
        states: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_states: np.ndarray,
        terminated: np.ndarray,
        dones: np.ndarray,
    ) -> list[tuple[Any, Any, float, Any, bool, int]]:
        out: list[tuple[Any, Any, float, Any, bool, int]] = []
        for env, window in enumerate(self._windows):
            window.append((states[env].copy(), actions[env], float(rewards[env])))
            if dones[env]:
                while window:
                    out.append(self._fold(window, next_states[env], bool(terminated[env])))
                    window.popleft()
            elif len(window) == self.n:
                out.append(self._fold(window, next_states[env], False))
                window.popleft()
        return out

    def _fold(
        self, window: deque[tuple[Any, Any, float]], next_state: Any, terminal: bool
    ) -> tuple[Any, Any, float, Any, bool, int]:
        total = 0.0
        for i, (_, _, reward) in enumerate(window):
            total += self.discount**i * reward
        state, action, _ = window[0]
        return state, action, total, np.array(next_state, copy=True), terminal, len(window)

    def state_dict(self) -> list[dict[str, Any] | None]:
        """Each environment's pending steps (None: none), for the checkpoint of an episode in
        flight."""
        return [_window_state(window) if window else None for window in self._windows]

    def load_state_dict(self, state: list[dict[str, Any] | None]) -> None:
        if len(state) != len(self._windows):
            raise ValueError(
                f"The saved n-step buffer has {len(state)} environments; this one "
                f"{len(self._windows)}."
            )
        for window, saved in zip(self._windows, state, strict=True):
            window.clear()
            if saved is not None:
                for index, reward in enumerate(saved["rewards"]):
                    action = saved["actions"][index].numpy().copy()
                    window.append((saved["states"][index].numpy().copy(), action[()], reward))

    def clear(self) -> None:
        for window in self._windows:
            window.clear()


def _window_state(window: deque[tuple[Any, Any, float]]) -> dict[str, Any]:
    states, actions, rewards = zip(*window, strict=True)
    return {
        "states": torch.from_numpy(np.stack(states)),
        "actions": torch.from_numpy(np.stack([np.asarray(action) for action in actions])),
        "rewards": [float(reward) for reward in rewards],
    }
