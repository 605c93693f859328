"""``Exploration``: the contract between an exploration and the model that acts."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Exploration"]


class Exploration:
    """How a model explores at a given global timestep.

    Discrete explorations (``is_continuous = False``) give an epsilon: :meth:`rate` is the
    probability of a uniformly random action. Continuous ones give noise added to the action:
    :meth:`rate` is its scale and :meth:`noise` draws it. Models call :meth:`reset` at the start
    of every episode (stateful noise, e.g. Ornstein-Uhlenbeck, restarts there).

    ``rate`` is called on every environment step, so it must be cheap and must not change the
    exploration's state; explorations are not thread-safe.
    """

    is_continuous = False

    def rate(self, timestep: int) -> float:
        """Epsilon (discrete) or noise scale (continuous) at ``timestep``."""
        raise NotImplementedError

    def noise(self, timestep: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        """Noise to add to continuous actions of ``shape`` at ``timestep``."""
        return rng.standard_normal(shape).astype(np.float32) * self.rate(timestep)

    def reset(self, index: int | None = None) -> None:
        """A new episode starts (in sub-environment ``index``; None: all)."""

    def state_dict(self) -> dict[str, Any]:
        """What changes while acting (checkpointed with the episode in flight); schedules that
        depend on the timestep alone have nothing."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
