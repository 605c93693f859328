"""Learning-rate decay with ``tf.train``'s decay functions and polyaxon-lib's decay window.

The rate at global step ``t`` is::

    s  = min(t, stop_decay_at) - start_decay_at, and at least 0
    lr = max(decay_fn(learning_rate, s, ...), min_learning_rate)

``decayed_learning_rate`` computes it as a pure function; ``DecaySchedule`` (built by
``create_lr_schedule``) applies it to an optimizer, one ``step()`` per training step, and saves
its settings in ``state_dict`` so a resumed run continues the same curve.

Two deliberate departures from polyaxon-lib: its ``decay_rate`` defaulted to 0.0, which sends
exponential decay straight to ``min_learning_rate`` after step 0 (Petri defaults to 0.96, the
value of TF's own examples); and it returned ``learning_rate`` up to ``start_decay_at`` even for
``piecewise_constant``, where Petri returns ``values[0]``.
"""

from __future__ import annotations

import bisect
import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from petri.registry import Registry

__all__ = [
    "DECAYS",
    "DecaySchedule",
    "SCHEDULE_KWARGS",
    "cosine_decay",
    "create_lr_schedule",
    "decay_kwargs",
    "decayed_learning_rate",
    "exponential_decay",
    "inverse_time_decay",
    "natural_exp_decay",
    "piecewise_constant",
    "polynomial_decay",
]

DecayFn = Callable[..., float]

# Arguments a schedule takes besides decay_type and learning_rate (the config's keys).
SCHEDULE_KWARGS = (
    "decay_steps",
    "decay_rate",
    "staircase",
    "start_decay_at",
    "stop_decay_at",
    "min_learning_rate",
    "boundaries",
    "values",
    "power",
    "end_learning_rate",
    "cycle",
    "alpha",
)
_WINDOW_KWARGS = ("start_decay_at", "stop_decay_at", "min_learning_rate")


# ---------------------------------------------------------------------------------------------
# tf.train decay functions, as pure Python on the (already windowed) step
# ---------------------------------------------------------------------------------------------
def _progress(step: float, decay_steps: int, staircase: bool) -> float:
    p = step / decay_steps
    return math.floor(p) if staircase else p


def exponential_decay(
    learning_rate: float, step: float, decay_steps: int, decay_rate: float, staircase: bool = False
) -> float:
    """``lr * decay_rate ** (step / decay_steps)`` (exponent floored when ``staircase``)."""
    return learning_rate * decay_rate ** _progress(step, decay_steps, staircase)


def inverse_time_decay(
    learning_rate: float, step: float, decay_steps: int, decay_rate: float, staircase: bool = False
) -> float:
    """``lr / (1 + decay_rate * step / decay_steps)`` (ratio floored when ``staircase``)."""
    return learning_rate / (1.0 + decay_rate * _progress(step, decay_steps, staircase))


def natural_exp_decay(
    learning_rate: float, step: float, decay_steps: int, decay_rate: float, staircase: bool = False
) -> float:
    """``lr * exp(-decay_rate * step / decay_steps)`` (ratio floored when ``staircase``)."""
    return learning_rate * math.exp(-decay_rate * _progress(step, decay_steps, staircase))


def piecewise_constant(
    learning_rate: float, step: float, boundaries: Sequence[int], values: Sequence[float]
) -> float:
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, then ``values[-1]``; ``learning_rate`` unused."""
    return float(values[bisect.bisect_left(boundaries, step)])


def polynomial_decay(
    learning_rate: float,
    step: float,
    decay_steps: int,
    end_learning_rate: float = 0.0001,
    power: float = 1.0,
    cycle: bool = False,
) -> float:
    """``(lr - end) * (1 - step / decay_steps) ** power + end``; with ``cycle`` the horizon
    grows to the next multiple of ``decay_steps`` instead of holding at ``end``."""
    if cycle:
        decay_steps = decay_steps * max(1, math.ceil(step / decay_steps))
    else:
        step = min(step, decay_steps)
    return (learning_rate - end_learning_rate) * (
        1.0 - step / decay_steps
    ) ** power + end_learning_rate


def cosine_decay(learning_rate: float, step: float, decay_steps: int, alpha: float = 0.0) -> float:
    """Half a cosine from ``lr`` down to ``alpha * lr`` over ``decay_steps``, then flat."""
    step = min(step, decay_steps)
    cosine = 0.5 * (1.0 + math.cos(math.pi * step / decay_steps))
    return learning_rate * ((1.0 - alpha) * cosine + alpha)


DECAYS: Registry[DecayFn] = Registry(
    "decay",
    {
        "cosine_decay": cosine_decay,
        "exponential_decay": exponential_decay,
        "inverse_time_decay": inverse_time_decay,
        "natural_exp_decay": natural_exp_decay,
        "piecewise_constant": piecewise_constant,
        "polynomial_decay": polynomial_decay,
    },
    home="petri.optimizers.DECAYS",
)


# ---------------------------------------------------------------------------------------------
# Validation (once, at build time) and the windowed rate
# ---------------------------------------------------------------------------------------------
def _decay_kwargs(fn: DecayFn, settings: dict[str, Any]) -> dict[str, Any]:
    """The settings ``fn`` names in its signature, checked; raises ValueError on bad values."""
    wanted = [name for name in inspect.signature(fn).parameters if name in SCHEDULE_KWARGS]
    kwargs = {name: settings[name] for name in wanted}
    if "decay_steps" in kwargs and not kwargs["decay_steps"] > 0:
        raise ValueError(
            f"decay_steps must be a positive number of steps; received {kwargs['decay_steps']!r}."
        )
    if "boundaries" in kwargs:
        boundaries, values = kwargs["boundaries"], kwargs.get("values")
        if boundaries is None or values is None or len(values) != len(boundaries) + 1:
            raise ValueError(
                "piecewise_constant needs `boundaries` (steps) and `values` (rates) with "
                f"len(values) == len(boundaries) + 1; received boundaries={boundaries!r}, "
                f"values={values!r}."
            )
        if list(boundaries) != sorted(boundaries):
            raise ValueError(f"boundaries must increase; received {boundaries!r}.")
        kwargs["boundaries"], kwargs["values"] = list(boundaries), [float(v) for v in values]
    return kwargs


def _check_window(start_decay_at: int, stop_decay_at: int | None) -> None:
    if start_decay_at < 0:
        raise ValueError(f"start_decay_at must be >= 0; received {start_decay_at!r}.")
    if stop_decay_at is not None and stop_decay_at < start_decay_at:
        raise ValueError(
            f"stop_decay_at ({stop_decay_at}) must be >= start_decay_at ({start_decay_at}); "
            "set stop_decay_at=None to decay until the end of training."
        )


def _windowed(
    fn: DecayFn,
    kwargs: dict[str, Any],
    learning_rate: float,
    step: int,
    start_decay_at: int,
    stop_decay_at: int | None,
    min_learning_rate: float,
) -> float:
    if stop_decay_at is not None and step > stop_decay_at:
        step = stop_decay_at
    step = max(step - start_decay_at, 0)
    return max(fn(learning_rate, step, **kwargs), min_learning_rate)


def decayed_learning_rate(
    decay_type: str | DecayFn | None,
    step: int,
    *,
    learning_rate: float,
    decay_steps: int = 100,
    decay_rate: float = 0.96,
    staircase: bool = False,
    start_decay_at: int = 0,
    stop_decay_at: int | None = None,
    min_learning_rate: float = 1e-12,
    boundaries: Sequence[int] | None = None,
    values: Sequence[float] | None = None,
    power: float = 1.0,
    end_learning_rate: float = 0.0001,
    cycle: bool = False,
    alpha: float = 0.0,
) -> float:
    """The learning rate at global ``step`` (see the module docstring for the formula).

    Args:
        decay_type: a ``DECAYS`` name (``exponential_decay``, ...), a function
            ``fn(learning_rate, step, **settings)``, or None/'' for a constant rate.
        step: the global step, from 0.
        learning_rate: the rate before decay.
        decay_steps, decay_rate, staircase: exponential/inverse_time/natural_exp settings
            (decay_steps also for polynomial and cosine).
        start_decay_at, stop_decay_at: the window in which the step advances the decay;
            ``stop_decay_at=None`` never stops.
        min_learning_rate: floor of the result.
        boundaries, values: piecewise_constant's steps and rates.
        power, end_learning_rate, cycle: polynomial_decay's settings.
        alpha: cosine_decay's final fraction of ``learning_rate``.

    Raises:
        UnknownNameError: unknown ``decay_type`` (with the closest name).
        ValueError: inconsistent settings (non-positive decay_steps, stop before start, ...).

    Example:
        >>> decayed_learning_rate("exponential_decay", 200, learning_rate=0.1, decay_rate=0.5)
        0.025
    """
    if not decay_type:
        return learning_rate
    fn = DECAYS.get(decay_type)
    settings = dict(locals())
    _check_window(start_decay_at, stop_decay_at)
    kwargs = _decay_kwargs(fn, settings)
    return _windowed(
        fn, kwargs, learning_rate, step, start_decay_at, stop_decay_at, min_learning_rate
    )


# ---------------------------------------------------------------------------------------------
# The scheduler
# ---------------------------------------------------------------------------------------------
class DecaySchedule(LRScheduler):
    """Sets each parameter group's rate to ``initial_lr * decayed(step) / learning_rate``.

    ``last_epoch`` counts ``step()`` calls, i.e. global steps when stepped once per training
    step. Every setting is plain data in ``state_dict``, so loading it into a freshly built
    schedule resumes the same curve (the decay function is looked up again by name).

    Args:
        optimizer: the optimizer whose rates to set.
        decay_type: a ``DECAYS`` name or function.
        learning_rate: the reference rate of the decay formulas; defaults to the optimizer's
            ``lr``. Groups with other rates are scaled by the same factor.
        last_epoch: the step to start from (-1: a new run).
        **settings: the keyword arguments of ``decayed_learning_rate``.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        decay_type: str | DecayFn,
        *,
        learning_rate: float | None = None,
        last_epoch: int = -1,
        **settings: Any,
    ) -> None:
        fn = DECAYS.get(decay_type)
        unknown = set(settings) - set(SCHEDULE_KWARGS)
        if unknown:
            raise TypeError(
                f"DecaySchedule got unexpected arguments {sorted(unknown)}; accepted: "
                f"{', '.join(SCHEDULE_KWARGS)}."
            )
        defaults = inspect.signature(decayed_learning_rate).parameters
        full = {name: settings.get(name, defaults[name].default) for name in SCHEDULE_KWARGS}
        if learning_rate is None:
            learning_rate = float(optimizer.defaults["lr"])
        if not learning_rate > 0:
            raise ValueError(
                f"A decay schedule needs learning_rate > 0 (decay is relative to it); received "
                f"learning_rate={learning_rate!r}."
            )
        _check_window(full["start_decay_at"], full["stop_decay_at"])
        self.decay_type = decay_type if isinstance(decay_type, str) else DECAYS.name_of(fn)
        self.learning_rate = float(learning_rate)
        self.decay_kwargs = _decay_kwargs(fn, full)
        self.start_decay_at = int(full["start_decay_at"])
        self.stop_decay_at = None if full["stop_decay_at"] is None else int(full["stop_decay_at"])
        self.min_learning_rate = float(full["min_learning_rate"])
        self._decay_fn = fn
        super().__init__(optimizer, last_epoch)

    def decayed(self, step: int) -> float:
        """The decayed reference rate at ``step``."""
        return _windowed(
            self._decay_fn,
            self.decay_kwargs,
            self.learning_rate,
            step,
            self.start_decay_at,
            self.stop_decay_at,
            self.min_learning_rate,
        )

    def get_lr(self) -> list[float]:  # type: ignore[override]
        factor = self.decayed(self.last_epoch) / self.learning_rate
        return [base_lr * factor for base_lr in self.base_lrs]

    _get_closed_form_lr = get_lr

    def state_dict(self) -> dict[str, Any]:
        """Step, base rates and every setting; the decay function is kept by name only."""
        state = super().state_dict()
        state.pop("_decay_fn", None)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a saved schedule; its decay function is looked up again by name."""
        super().load_state_dict(state_dict)
        if self.decay_type is not None:
            self._decay_fn = DECAYS.get(self.decay_type)


def decay_kwargs(decay_type: str | DecayFn) -> list[str]:
    """The schedule keys ``decay_type`` uses: its own arguments plus the window
    (``start_decay_at``, ``stop_decay_at``, ``min_learning_rate``) every decay has."""
    fn = DECAYS.get(decay_type)
    own = [n for n in inspect.signature(fn).parameters if n not in ("learning_rate", "step")]
    return [*own, *_WINDOW_KWARGS]


def create_lr_schedule(
    optimizer: Optimizer,
    decay_type: str | DecayFn | None,
    *,
    learning_rate: float | None = None,
    decay_steps: int = 100,
    decay_rate: float = 0.96,
    staircase: bool = False,
    start_decay_at: int = 0,
    stop_decay_at: int | None = None,
    min_learning_rate: float = 1e-12,
    boundaries: Sequence[int] | None = None,
    values: Sequence[float] | None = None,
    power: float = 1.0,
    end_learning_rate: float = 0.0001,
    cycle: bool = False,
    alpha: float = 0.0,
) -> DecaySchedule | None:
    """The learning-rate schedule for ``decay_type``, or None for a constant rate.

    Call ``schedule.step()`` after each ``optimizer.step()``. Arguments are those of
    :func:`decayed_learning_rate`.

    Raises:
        UnknownNameError: unknown ``decay_type`` (with the closest name).
        ValueError: inconsistent settings.

    Example:
        >>> import torch
        >>> opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> schedule = create_lr_schedule(opt, "exponential_decay", decay_rate=0.5)
        >>> for _ in range(100):
        ...     opt.step()
        ...     schedule.step()
        >>> schedule.get_last_lr()
        [0.05]
    """
    if not decay_type:
        return None
    settings = {name: value for name, value in locals().items() if name in SCHEDULE_KWARGS}
    return DecaySchedule(optimizer, decay_type, learning_rate=learning_rate, **settings)
