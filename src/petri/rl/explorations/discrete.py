"""Epsilon schedules: constant, greedy, random, decay, random_decay, linear, exponential."""

from __future__ import annotations

import math
from collections.abc import Sequence

from petri.rl.explorations._base import Exploration
from petri.rl.schedules import Schedule

__all__ = [
    "ConstantExploration",
    "DecayExploration",
    "ExponentialExploration",
    "GreedyExploration",
    "LinearExploration",
    "RandomDecayExploration",
    "RandomExploration",
]


def _probability(owner: str, name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{owner} expected {name} in [0, 1]. Received: {name}={value!r}.")
    return float(value)


class ConstantExploration(Exploration):
    """A fixed epsilon ``value`` (seed default 0.5)."""

    def __init__(self, value: float = 0.5) -> None:
        self.value = _probability("ConstantExploration", "value", value)

    def rate(self, timestep: int) -> float:
        return self.value

    def __repr__(self) -> str:
        return f"ConstantExploration(value={self.value})"


class GreedyExploration(ConstantExploration):
    """Never explore (epsilon 0)."""

    def __init__(self) -> None:
        super().__init__(0.0)


class RandomExploration(ConstantExploration):
    """Always act at random (epsilon 1)."""

    def __init__(self) -> None:
        super().__init__(1.0)


class DecayExploration(Exploration):
    """Epsilon (or, with ``is_continuous``, a Gaussian noise scale) decayed by a schedule.

    Defaults are the seed library's: from 0.15 down to 0 linearly (polynomial decay, power 1)
    over 100,000 timesteps. See :class:`petri.rl.schedules.Schedule` for the decay settings.
    """

    def __init__(
        self,
        exploration_rate: float = 0.15,
        decay_type: str | None = "polynomial_decay",
        decay_steps: int = 100_000,
        decay_rate: float = 0.96,
        staircase: bool = False,
        start_decay_at: int = 0,
        stop_decay_at: int | None = None,
        min_exploration_rate: float = 0.0,
        end_exploration_rate: float = 0.0,
        power: float = 1.0,
        boundaries: Sequence[int] | None = None,
        values: Sequence[float] | None = None,
        is_continuous: bool = False,
    ) -> None:
        owner = type(self).__name__
        if not is_continuous:
            _probability(owner, "exploration_rate", exploration_rate)
        self.is_continuous = bool(is_continuous)
        self.schedule = Schedule(
            exploration_rate,
            decay_type,
            decay_steps=decay_steps,
            decay_rate=decay_rate,
            staircase=staircase,
            start_decay_at=start_decay_at,
            stop_decay_at=stop_decay_at,
            min_value=min_exploration_rate,
            boundaries=boundaries,
            values=values,
            power=power,
            end_value=end_exploration_rate,
        )

    def rate(self, timestep: int) -> float:
        return self.schedule(timestep)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.schedule.value}, {self.schedule.decay_type!r})"


class RandomDecayExploration(DecayExploration):
    """Start fully random (epsilon or noise scale 1) and decay over 10,000 timesteps.

    The seed scaled a standard-normal draw by the decayed rate; for continuous actions this is
    exactly that (Gaussian noise whose scale decays), for discrete ones the decayed rate is
    the epsilon.
    """

    def __init__(
        self,
        exploration_rate: float = 1.0,
        decay_type: str | None = "polynomial_decay",
        decay_steps: int = 10_000,
        decay_rate: float = 0.96,
        staircase: bool = False,
        start_decay_at: int = 0,
        stop_decay_at: int | None = None,
        min_exploration_rate: float = 0.0,
        end_exploration_rate: float = 0.0,
        power: float = 1.0,
        boundaries: Sequence[int] | None = None,
        values: Sequence[float] | None = None,
        is_continuous: bool = False,
    ) -> None:
        super().__init__(
            exploration_rate,
            decay_type,
            decay_steps,
            decay_rate,
            staircase,
            start_decay_at,
            stop_decay_at,
            min_exploration_rate,
            end_exploration_rate,
            power,
            boundaries,
            values,
            is_continuous,
        )


class LinearExploration(Exploration):
    """Epsilon from ``initial`` to ``final`` linearly over ``decay_steps``, then ``final``.

    Stable-Baselines3's DQN schedule: ``decay_steps = exploration_fraction * total_steps``.
    """

    def __init__(
        self,
        initial: float = 1.0,
        final: float = 0.05,
        decay_steps: int = 10_000,
        start_decay_at: int = 0,
    ) -> None:
        self.initial = _probability("LinearExploration", "initial", initial)
        self.final = _probability("LinearExploration", "final", final)
        if decay_steps < 1:
            raise ValueError(
                f"LinearExploration expected decay_steps >= 1. Received: {decay_steps!r}."
            )
        self.decay_steps = int(decay_steps)
        self.start_decay_at = int(start_decay_at)

    def rate(self, timestep: int) -> float:
        progress = max(timestep - self.start_decay_at, 0) / self.decay_steps
        if progress >= 1.0:
            return self.final
        return self.initial + progress * (self.final - self.initial)

    def __repr__(self) -> str:
        return f"LinearExploration({self.initial} -> {self.final} over {self.decay_steps})"


class ExponentialExploration(Exploration):
    """``final + (initial - final) * exp(-timestep / decay_steps)``."""

    def __init__(
        self,
        initial: float = 1.0,
        final: float = 0.05,
        decay_steps: int = 10_000,
        start_decay_at: int = 0,
    ) -> None:
        self.initial = _probability("ExponentialExploration", "initial", initial)
        self.final = _probability("ExponentialExploration", "final", final)
        if decay_steps < 1:
            raise ValueError(
                f"ExponentialExploration expected decay_steps >= 1. Received: {decay_steps!r}."
            )
        self.decay_steps = int(decay_steps)
        self.start_decay_at = int(start_decay_at)

    def rate(self, timestep: int) -> float:
        elapsed = max(timestep - self.start_decay_at, 0)
        return self.final + (self.initial - self.final) * math.exp(-elapsed / self.decay_steps)

    def __repr__(self) -> str:
        return f"ExponentialExploration({self.initial} -> {self.final}, tau={self.decay_steps})"
