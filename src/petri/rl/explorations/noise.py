"""Noise for continuous actions: Gaussian and Ornstein-Uhlenbeck."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from petri.rl.explorations._base import Exploration
from petri.rl.schedules import Schedule

__all__ = ["GaussianNoise", "OrnsteinUhlenbeckNoise"]


class GaussianNoise(Exploration):
    """Independent ``N(0, sigma**2)`` noise per action dimension; ``sigma`` may decay.

    Args:
        sigma: the noise scale at timestep 0 (in action units).
        decay_type, decay_steps, min_sigma: an optional decay of sigma (see ``Schedule``).
    """

    is_continuous = True

    def __init__(
        self,
        sigma: float = 0.1,
        decay_type: str | None = None,
        decay_steps: int = 100_000,
        min_sigma: float = 0.0,
    ) -> None:
        if sigma < 0:
            raise ValueError(f"GaussianNoise expected sigma >= 0. Received: sigma={sigma!r}.")
        self.schedule = Schedule(sigma, decay_type, decay_steps=decay_steps, min_value=min_sigma)

    def rate(self, timestep: int) -> float:
        return self.schedule(timestep)

    def __repr__(self) -> str:
        return f"GaussianNoise(sigma={self.schedule.value})"


class OrnsteinUhlenbeckNoise(Exploration):
    """Time-correlated noise ``x += theta * (mu - x) * dt + sigma * sqrt(dt) * N(0, 1)``.

    The seed drew uniform [0, 1) increments (a drifting, biased process); this is the standard
    Gaussian form (Lillicrap et al. 2016, DDPG). ``x`` restarts at ``mu`` every episode.

    Args:
        sigma: the diffusion scale.
        mu: the mean the process reverts to.
        theta: the rate of mean reversion.
        dt: the time step.
    """

    is_continuous = True

    def __init__(
        self, sigma: float = 0.3, mu: float = 0.0, theta: float = 0.15, dt: float = 1.0
    ) -> None:
        if sigma < 0 or theta < 0 or dt <= 0:
            raise ValueError(
                "OrnsteinUhlenbeckNoise expected sigma >= 0, theta >= 0 and dt > 0. Received: "
                f"sigma={sigma!r}, theta={theta!r}, dt={dt!r}."
            )
        self.sigma, self.mu, self.theta, self.dt = float(sigma), float(mu), float(theta), dt
        self._state: np.ndarray | None = None

    def rate(self, timestep: int) -> float:
        return self.sigma

    def noise(self, timestep: int, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        if self._state is None or self._state.shape != shape:
            self._state = np.full(shape, self.mu, dtype=np.float32)
        increment = self.theta * (self.mu - self._state) * self.dt + self.sigma * np.sqrt(
            self.dt
        ) * rng.standard_normal(shape)
        self._state = (self._state + increment).astype(np.float32)
        return self._state

    def reset(self, index: int | None = None) -> None:
        if self._state is None:
            return
        if index is None or self._state.ndim < 2:
            self._state[...] = self.mu
        else:
            self._state[index] = self.mu

    def state_dict(self) -> dict[str, Any]:
        """The process's current value ``x`` (None before the first draw)."""
        return {"x": None if self._state is None else torch.from_numpy(self._state.copy())}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        value = state.get("x")
        self._state = None if value is None else value.numpy().copy()

    def __repr__(self) -> str:
        return f"OrnsteinUhlenbeckNoise(sigma={self.sigma}, theta={self.theta}, mu={self.mu})"
