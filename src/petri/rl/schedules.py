"""Values that decay with the global timestep (exploration rates, noise scales, clip ranges).

The decay functions are the optimizers' (``exponential_decay``, ``polynomial_decay``,
``piecewise_constant``, ``natural_exp_decay``, ``inverse_time_decay``, ``cosine_decay``) with
the same ``start_decay_at``/``stop_decay_at`` window, so an exploration rate and a learning rate
configured alike follow the same curve::

    s = clip(timestep, ., stop_decay_at) - start_decay_at, at least 0
    value = max(decay_fn(value, s, ...), min_value)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from petri.optimizers.schedules import DECAYS, _check_window, _decay_kwargs, _windowed

__all__ = ["Schedule", "constant", "linear"]


class Schedule:
    """A value as a function of the timestep: ``schedule(timestep) -> float``.

    Settings are validated once here; each call is a few arithmetic operations.

    Args:
        value: the value at timestep 0 (before decay).
        decay_type: a decay name (see the module docstring), or None for a constant.
        decay_steps, decay_rate, staircase: exponential/inverse_time/natural_exp settings
            (``decay_steps`` also sets polynomial's and cosine's horizon).
        start_decay_at, stop_decay_at: the window in which the timestep advances the decay.
        min_value: the floor of the result.
        boundaries, values: piecewise_constant's timesteps and values.
        power, end_value, cycle: polynomial_decay's settings.
        alpha: cosine_decay's final fraction.

    Raises:
        UnknownNameError: unknown ``decay_type``.
        ValueError: inconsistent settings.

    Example:
        >>> schedule = Schedule(1.0, "polynomial_decay", decay_steps=100, end_value=0.1)
        >>> round(schedule(0), 3), round(schedule(50), 3), round(schedule(1000), 3)
        (1.0, 0.55, 0.1)
    """

    def __init__(
        self,
        value: float,
        decay_type: str | None = None,
        *,
        decay_steps: int = 100_000,
        decay_rate: float = 0.96,
        staircase: bool = False,
        start_decay_at: int = 0,
        stop_decay_at: int | None = None,
        min_value: float = 0.0,
        boundaries: Sequence[int] | None = None,
        values: Sequence[float] | None = None,
        power: float = 1.0,
        end_value: float = 0.0,
        cycle: bool = False,
        alpha: float = 0.0,
    ) -> None:
        self.value = float(value)
        self.decay_type = decay_type or None
        self.start_decay_at = int(start_decay_at)
        self.stop_decay_at = None if stop_decay_at is None else int(stop_decay_at)
        self.min_value = float(min_value)
        self._fn: Any = None
        self._kwargs: dict[str, Any] = {}
        if self.decay_type:
            _check_window(self.start_decay_at, self.stop_decay_at)
            self._fn = DECAYS.get(self.decay_type)
            settings = {
                "decay_steps": decay_steps,
                "decay_rate": decay_rate,
                "staircase": staircase,
                "boundaries": boundaries,
                "values": values,
                "power": power,
                "end_learning_rate": end_value,
                "cycle": cycle,
                "alpha": alpha,
            }
            self._kwargs = _decay_kwargs(self._fn, settings)

    def __call__(self, timestep: int) -> float:
        if self._fn is None:
            return self.value
        return _windowed(
            self._fn,
            self._kwargs,
            self.value,
            timestep,
            self.start_decay_at,
            self.stop_decay_at,
            self.min_value,
        )

    def __repr__(self) -> str:
        return f"Schedule({self.value}, {self.decay_type!r})"


def constant(value: float) -> Schedule:
    """A schedule that always returns ``value``."""
    return Schedule(value)


def linear(initial: float, final: float, steps: int, start: int = 0) -> Schedule:
    """From ``initial`` at ``start`` to ``final`` at ``start + steps``, then ``final``."""
    return Schedule(
        initial,
        "polynomial_decay",
        decay_steps=max(int(steps), 1),
        end_value=final,
        start_decay_at=start,
    )
