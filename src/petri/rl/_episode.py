"""The episode in flight: what a checkpoint holds of it, and how a resumed run continues it.

A checkpoint taken mid-episode holds the environment's state (when the environment can save
it: ``get_state()``/``set_state()``, see ``petri.envs.GymEnvironment``), the episode's return
and length so far, the n-step buffer's pending steps and the exploration's state. A resumed
run then takes exactly the steps an uninterrupted one takes. An environment that cannot be
saved starts a new episode instead (logged once, as a warning); the interrupted episode is
then abandoned: never counted in ``episodes``, never logged as an episode row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

__all__ = ["InFlight", "capture_episode", "resume_episode"]

logger = logging.getLogger("petri")


@dataclass
class InFlight:
    """The running loop's episode bookkeeping, which the Agent checkpoints mid-training."""

    env: Any
    learner: Any
    returns: np.ndarray
    lengths: np.ndarray
    between_steps: bool = True
    """False while a step is half done (a Ctrl-C checkpoint then leaves the episode out)."""


def capture_episode(flight: InFlight, model: Any) -> dict[str, Any] | None:
    """The checkpoint's ``episode`` entry (``env`` is None for an environment that cannot be
    saved); None in the middle of a step, when nothing consistent can be saved."""
    if not flight.between_steps:
        return None
    get_state = getattr(flight.env, "get_state", None)
    nstep = getattr(flight.learner, "nstep", None)
    return {
        "env": get_state() if get_state is not None else None,
        "returns": torch.from_numpy(flight.returns.astype(np.float64, copy=True)),
        "lengths": torch.from_numpy(flight.lengths.astype(np.int64, copy=True)),
        "nstep": nstep.state_dict() if nstep is not None else None,
        "exploration": model.exploration.state_dict(),
    }


def resume_episode(
    saved: dict[str, Any] | None, env: Any, learner: Any, model: Any, warned: list[bool]
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Continue the checkpoint's episode in flight in ``env``: ``(observation, returns,
    lengths)``, or None when there is none to continue or ``env`` cannot restore it (then a
    warning is logged, once per ``warned`` list)."""
    if saved is None:
        return None
    abandon = getattr(learner, "abandon_episode", None)
    num_envs = getattr(env, "num_envs", 1)
    returns, lengths = saved["returns"].numpy().copy(), saved["lengths"].numpy().copy()
    if len(returns) != num_envs:
        why = f"it ran in {len(returns)} environments, not {num_envs}"
    elif saved["env"] is None or getattr(env, "set_state", None) is None:
        why = "the environment cannot save its state"
    else:
        why = _restored(env, saved["env"])
    if why:
        if abandon is not None:
            abandon()
        _abandon(env, why, warned)
        return None
    nstep = getattr(learner, "nstep", None)
    if nstep is not None and saved["nstep"] is not None:
        nstep.load_state_dict(saved["nstep"])
    model.exploration.load_state_dict(saved["exploration"])
    observation = np.asarray(env.state, dtype=np.float32)
    return observation if num_envs > 1 else observation[None], returns, lengths


def _restored(env: Any, state: dict[str, Any]) -> str:
    """Restore ``env``; what went wrong ("" when nothing did)."""
    try:
        env.set_state(state)
    except ValueError as error:  # built differently than the saved one
        return str(error)
    return ""


def _abandon(env: Any, why: str, warned: list[bool]) -> None:
    """Warn (once) that the episode in flight is given up."""
    if not warned:
        warned.append(True)
        logger.warning(
            "Resuming training in %r: the episode in flight at the checkpoint cannot be "
            "continued (%s); a new episode starts. The interrupted episode is not counted "
            "and not logged.",
            env,
            why,
        )
