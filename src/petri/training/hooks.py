"""Hooks: code that runs at the begin/end of a loop and before/after each step.

A hook is any object with some of ``begin(state)``, ``before_step(state)``,
``after_step(state)`` and ``end(state)``. Its cadence is set when it is built
(``every_n_steps``), and the :class:`HookList` only calls what a hook implements, so hooks that
fire every 100 steps cost nothing on the other 99. A loop whose iterations take several steps
at once (an RL agent in ``num_envs`` environments) says so in
``LoopState.steps_per_iteration``; a hook then runs in the iteration that reaches or passes each
multiple of its cadence.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch

from petri.errors import PetriError
from petri.registry import Registry

__all__ = [
    "HOOKS",
    "CheckpointSaverHook",
    "Hook",
    "HookList",
    "LoopState",
    "NanLossError",
    "NanLossHook",
    "ProgressBarHook",
    "StepLoggingHook",
    "StopAfterNEvalsHook",
    "StopAtStepHook",
    "eta",
    "step_of",
]

logger = logging.getLogger("petri")

_PHASES = ("begin", "before_step", "after_step", "end")


@dataclass
class LoopState:
    """What hooks see: the loop's mode and step, the last loss and outputs, and a stop flag.

    Attributes:
        mode: ``ModeKeys`` value of the loop.
        global_step: training steps taken so far (after the current step in ``after_step``).
        step: steps taken in this loop call.
        loss: the last step's loss tensor (read ``loss_value`` for a float).
        spec: the last ``EstimatorSpec``.
        last_step: the step at which training will stop (None: until the input ends).
        learning_rate: the optimizer's current learning rate (training).
        metrics: evaluation results, filled at the end of an evaluation.
        stop: set to True to end the loop after the current step.
        features: the current batch's features (set before ``before_step`` is called).
        labels: the current batch's labels.
        model: the module that holds every variable (read-only for hooks).
        optimizer: the optimizer (training only); gradients are still present in
            ``after_step`` (they are cleared at the start of the next step).
        steps_per_sec: the last logging interval's throughput (set by the logging hooks).
        update_logs: the last update's namespaced scalars (RL: ``losses/td_loss``, ...).
        episodes: the Agent's episode statistics (``petri.rl``'s ``EpisodeStats``), else None.
        interrupted: the loop ended on an exception or Ctrl-C (``end`` still runs).
        steps_per_iteration: how far ``global_step`` moves in one iteration of a training
            loop (an RL agent's ``num_envs``; 1 elsewhere). Hook cadences count steps, so a
            hook runs in the iteration whose steps include a multiple of its ``every_n_steps``.
    """

    mode: str
    global_step: int = 0
    step: int = 0
    loss: torch.Tensor | None = None
    spec: Any = None
    last_step: int | None = None
    learning_rate: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    stop: bool = False
    features: Any = None
    labels: Any = None
    model: Any = None
    optimizer: Any = None
    steps_per_sec: float | None = None
    update_logs: dict[str, Any] = field(default_factory=dict)
    episodes: Any = None
    interrupted: bool = False
    steps_per_iteration: int = 1

    @property
    def loss_value(self) -> float:
        """The last loss as a Python float (NaN when there is none)."""
        return float(self.loss.detach()) if self.loss is not None else math.nan


class Hook:
    """Base class with no-op phases; subclasses override the ones they need.

    Args:
        every_n_steps: call ``after_step``/``before_step`` only in the steps that are a
            multiple of this (None: every step): the global step in training, the loop's own
            step in evaluation and prediction. When an iteration takes several steps
            (``LoopState.steps_per_iteration``), the iteration that reaches or passes a
            multiple counts.
    """

    def __init__(self, every_n_steps: int | None = None) -> None:
        if every_n_steps is not None and every_n_steps < 1:
            raise ValueError(
                f"{type(self).__name__} expected every_n_steps to be a positive integer or None. "
                f"Received: every_n_steps={every_n_steps}."
            )
        self.every_n_steps = every_n_steps

    def begin(self, state: LoopState) -> None:
        """Called once before the first step."""

    def before_step(self, state: LoopState) -> None:
        """Called before a step (at its cadence)."""

    def after_step(self, state: LoopState) -> None:
        """Called after a step (at its cadence); ``state.global_step`` counts that step."""

    def end(self, state: LoopState) -> None:
        """Called once after the last step, also when the loop stops early, raises or is
        interrupted (then ``state.interrupted`` is True)."""


def _implements(hook: Any, phase: str) -> bool:
    method = getattr(hook, phase, None)
    if method is None or not callable(method):
        return False
    base = getattr(Hook, phase)
    return getattr(method, "__func__", None) is not base


class HookList:
    """Calls each phase on the hooks that implement it, honouring their cadence."""

    def __init__(self, hooks: Iterable[Any] = ()) -> None:
        self.hooks = list(hooks)
        for hook in self.hooks:
            if not any(_implements(hook, phase) for phase in _PHASES):
                raise TypeError(
                    f"{hook!r} is not a hook: expected an object with any of the methods "
                    f"{', '.join(_PHASES)}."
                )
        self._begin = [h for h in self.hooks if _implements(h, "begin")]
        self._end = [h for h in self.hooks if _implements(h, "end")]
        self._before = [
            (h, getattr(h, "every_n_steps", None))
            for h in self.hooks
            if _implements(h, "before_step")
        ]
        self._after = [
            (h, getattr(h, "every_n_steps", None))
            for h in self.hooks
            if _implements(h, "after_step")
        ]
        self.has_before = bool(self._before)

    def begin(self, state: LoopState) -> None:
        for hook in self._begin:
            hook.begin(state)

    def before_step(self, state: LoopState) -> None:
        size = _iteration_size(state)
        step = (state.global_step if state.mode == "train" else state.step) + size
        for hook, every in self._before:
            if every is None or _due(step, every, size):
                hook.before_step(state)

    def after_step(self, state: LoopState) -> None:
        size = _iteration_size(state)
        step = state.global_step if state.mode == "train" else state.step
        for hook, every in self._after:
            if every is None or _due(step, every, size):
                hook.after_step(state)

    def end(self, state: LoopState) -> None:
        for hook in self._end:
            hook.end(state)


def _iteration_size(state: LoopState) -> int:
    return state.steps_per_iteration if state.mode == "train" else 1


def _due(step: int, every: int, size: int) -> bool:
    """Whether the iteration that ends at ``step`` and took ``size`` steps holds a multiple of
    ``every`` (for ``size == 1``: ``step % every == 0``). With 3 environments and
    ``every == 1000`` those end at steps 1002, 2001, 3000, 4002 (not only at 3000, 6000)."""
    return step // every != (step - size) // every


class NanLossError(PetriError, RuntimeError):
    """Training produced a NaN or infinite loss."""


class NanLossHook(Hook):
    """Stop training with :class:`NanLossError` as soon as the loss is NaN or infinite.

    Args:
        fail_on_nan_loss: raise (True) or only request a stop and log an error (False).
    """

    def __init__(self, fail_on_nan_loss: bool = True, every_n_steps: int | None = None) -> None:
        super().__init__(every_n_steps)
        self.fail_on_nan_loss = fail_on_nan_loss

    def after_step(self, state: LoopState) -> None:
        if state.loss is None:
            return
        value = state.loss_value
        if math.isfinite(value):
            return
        message = (
            f"Model diverged with loss = {value} at global step {state.global_step}. Lower the "
            "learning rate, clip gradients (model_config.clip_gradients) or check the inputs for "
            "NaNs; the last checkpoint before this step is intact."
        )
        if self.fail_on_nan_loss:
            raise NanLossError(message)
        logger.error(message)
        state.stop = True


class StepLoggingHook(Hook):
    """Every N steps: loss, learning rate and steps/s to the ``petri`` logger and a sink.

    Args:
        every_n_steps: logging cadence (``run_config.log_step_count_steps``).
        sink: called with ``{"global_step", "loss", "learning_rate", "steps_per_sec"}`` and
            the step's ``EstimatorSpec.training_scalars``.
        log: also emit a log line (off when a progress bar shows the same numbers).
    """

    def __init__(
        self,
        every_n_steps: int = 100,
        sink: Callable[[dict[str, Any]], None] | None = None,
        log: bool = True,
    ) -> None:
        super().__init__(every_n_steps)
        self.sink = sink
        self.log = log
        self._last_time = 0.0
        self._last_step = 0

    def begin(self, state: LoopState) -> None:
        self._last_time = time.perf_counter()
        self._last_step = state.global_step

    def after_step(self, state: LoopState) -> None:
        now = time.perf_counter()
        elapsed = max(now - self._last_time, 1e-9)
        rate = (state.global_step - self._last_step) / elapsed
        self._last_time, self._last_step = now, state.global_step
        row = {
            "global_step": state.global_step,
            "loss": state.loss_value,
            "learning_rate": state.learning_rate,
            "steps_per_sec": rate,
        }
        for key, value in (getattr(state.spec, "training_scalars", None) or {}).items():
            row[key] = float(value)
        state.steps_per_sec = rate
        if self.log:
            logger.info(
                "step %s: loss = %.5g, lr = %.3g, %.1f steps/s%s",
                step_of(state),
                row["loss"],
                row["learning_rate"] or 0.0,
                rate,
                eta(state, rate),
            )
        if self.sink is not None:
            self.sink(row)


def step_of(state: LoopState) -> str:
    """``"200/1000"`` when the loop knows where it stops, else ``"200"``."""
    if state.last_step is None:
        return str(state.global_step)
    return f"{state.global_step}/{state.last_step}"


def eta(state: LoopState, steps_per_sec: float) -> str:
    """``", ETA 1:02:03"`` from the steps left and the current rate; empty when unknown."""
    if state.last_step is None or steps_per_sec <= 0:
        return ""
    seconds = round(max(state.last_step - state.global_step, 0) / steps_per_sec)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return (
        f", ETA {hours}:{minutes:02d}:{seconds:02d}" if hours else f", ETA {minutes}:{seconds:02d}"
    )


class ProgressBarHook(Hook):
    """A tqdm bar (steps, loss, steps/s) on a terminal; nothing otherwise."""

    def __init__(self, every_n_steps: int = 10, desc: str = "train") -> None:
        super().__init__(every_n_steps)
        self.desc = desc
        self._bar: Any = None
        self._shown = 0

    @staticmethod
    def wanted() -> bool:
        return sys.stderr.isatty()

    def begin(self, state: LoopState) -> None:
        from tqdm.auto import tqdm

        total = state.last_step - state.global_step if state.last_step is not None else None
        self._bar = tqdm(total=total, desc=self.desc, unit="step", dynamic_ncols=True, leave=False)
        self._shown = state.global_step

    def after_step(self, state: LoopState) -> None:
        self._bar.update(state.global_step - self._shown)
        self._shown = state.global_step
        self._bar.set_postfix(
            loss=f"{state.loss_value:.4g}", step=state.global_step, refresh=False
        )

    def end(self, state: LoopState) -> None:
        if self._bar is not None:
            self._bar.update(state.global_step - self._shown)
            self._bar.close()
            self._bar = None


class CheckpointSaverHook(Hook):
    """Save a checkpoint every N steps or every N seconds.

    Args:
        save: the Estimator's save function (takes no arguments).
        save_steps: step cadence; takes precedence over ``save_secs``.
        save_secs: time cadence, checked every step when ``save_steps`` is None.
        agree: for processes that must save together (the ranks of a distributed run):
            ``agree(due_here) -> due anywhere``, asked every ``agree_every`` steps instead of
            reading the clock every step, since each process's clock is its own.
        agree_every: that cadence in steps.
    """

    def __init__(
        self,
        save: Callable[[], Any],
        save_steps: int | None = None,
        save_secs: float | None = None,
        agree: Callable[[bool], bool] | None = None,
        agree_every: int = 20,
    ) -> None:
        super().__init__(save_steps)
        self.save = save
        self.save_secs = None if save_steps else save_secs
        self.agree = agree
        self.agree_every = agree_every
        self._last_save = time.monotonic()

    def begin(self, state: LoopState) -> None:
        self._last_save = time.monotonic()

    def after_step(self, state: LoopState) -> None:
        if self.save_secs is not None:
            if self.agree is not None:
                if state.global_step % self.agree_every:
                    return
                due = self.agree(time.monotonic() - self._last_save >= self.save_secs)
            else:
                due = time.monotonic() - self._last_save >= self.save_secs
            if not due:
                return
            self._last_save = time.monotonic()
        self.save()


class StopAtStepHook(Hook):
    """Request a stop once the global step reaches ``last_step``."""

    def __init__(self, last_step: int) -> None:
        super().__init__()
        self.last_step = last_step

    def after_step(self, state: LoopState) -> None:
        if state.global_step >= self.last_step:
            state.stop = True


class StopAfterNEvalsHook(Hook):
    """End an evaluation after ``num_evals`` batches."""

    def __init__(self, num_evals: int) -> None:
        super().__init__()
        self.num_evals = num_evals

    def after_step(self, state: LoopState) -> None:
        if state.step >= self.num_evals:
            state.stop = True


HOOKS: Registry = Registry(
    "hook",
    {
        "NanLossHook": NanLossHook,
        "NanTensorHook": NanLossHook,
        "StepLoggingHook": StepLoggingHook,
        "LoggingHook": StepLoggingHook,
        "ProgressBarHook": ProgressBarHook,
        "StopAtStepHook": StopAtStepHook,
        "StopAfterNEvalsHook": StopAfterNEvalsHook,
    },
    home="petri.training.hooks.HOOKS",
)
"""Hooks that configs can name (``train_hooks_config: [{module: StopAtStepHook, ...}]``)."""
