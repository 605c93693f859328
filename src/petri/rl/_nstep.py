"""n-step transitions: rewards of ``n`` steps folded into one replay transition per step."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

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

    def clear(self) -> None:
        for window in self._windows:
            window.clear()
