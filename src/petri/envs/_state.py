"""Saving and restoring a gymnasium environment mid-episode, where the environment allows it.

gymnasium has no general way to save an environment. Classic-control environments (CartPole,
Pendulum, MountainCar, Acrobot) keep their whole dynamic state in a small array,
``env.unwrapped.state``; with their RNG (``np_random``), the action space's RNG and the
wrappers' counters (``TimeLimit``'s elapsed steps) that is everything a step depends on. This
module captures exactly that, in a form ``torch.load(weights_only=True)`` reads back.

An environment is *savable* when its ``unwrapped`` exposes ``state`` as a numeric array (or a
tuple of numbers). Anything else (MuJoCo, Atari, Box2D, user environments without ``state``)
is not, and :func:`capture` returns None for it.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import torch

__all__ = [
    "EXTRA_ATTRIBUTES",
    "capture",
    "capture_generator",
    "restore",
    "restore_generator",
    "savable",
]

EXTRA_ATTRIBUTES = ("steps_beyond_terminated", "last_u")
"""Scalar attributes of classic-control environments saved beside ``state`` when present."""

_WRAPPER_COUNTERS = ("_elapsed_steps",)
_UNDER_WAY = ("_has_reset", "checked_reset", "checked_step", "checked_data_reuse")
"""OrderEnforcing's and PassiveEnvChecker's flags: set, so a restored env steps without reset."""


def savable(env: Any) -> bool:
    """Whether ``env`` (a gymnasium ``Env``, wrappers included) can be saved mid-episode."""
    state = getattr(getattr(env, "unwrapped", None), "state", None)
    if isinstance(state, np.ndarray):
        return state.dtype.kind in "fiub"
    if isinstance(state, tuple | list):
        return all(isinstance(value, int | float | np.number) for value in state)
    return False


def capture(env: Any) -> dict[str, Any] | None:
    """The state of one gymnasium environment (None when it is not :func:`savable`)."""
    if not savable(env):
        return None
    unwrapped = env.unwrapped
    state = unwrapped.state
    extras = {}
    for name in EXTRA_ATTRIBUTES:
        value = getattr(unwrapped, name, None)
        if isinstance(value, np.generic | np.ndarray) and np.ndim(value) == 0:
            value = value.item()
        if value is None or isinstance(value, bool | int | float):
            extras[name] = value
    return {
        "state": torch.from_numpy(np.array(state, copy=True)),
        "state_is_tuple": isinstance(state, tuple | list),
        "extras": extras,
        "np_random": _generator_state(getattr(unwrapped, "_np_random", None)),
        "np_random_seed": getattr(unwrapped, "_np_random_seed", None),
        "action_space": capture_generator(unwrapped.action_space),
        "wrappers": [_counters(wrapper) for wrapper in _wrappers(env)],
    }


def restore(env: Any, saved: dict[str, Any]) -> None:
    """Put ``env`` back into the state :func:`capture` returned; it may be stepped at once."""
    wrappers = _wrappers(env)
    if len(wrappers) != len(saved["wrappers"]):
        raise ValueError(
            f"The saved environment had {len(saved['wrappers'])} wrappers, this one has "
            f"{len(wrappers)}; restore into an environment built the same way."
        )
    unwrapped = env.unwrapped
    state = saved["state"].numpy().copy()
    unwrapped.state = tuple(state.tolist()) if saved["state_is_tuple"] else state
    for name, value in saved["extras"].items():
        setattr(unwrapped, name, value)
    if saved["np_random"] is not None:
        unwrapped._np_random = _restored_generator(saved["np_random"])
        unwrapped._np_random_seed = saved["np_random_seed"]
    if saved["action_space"] is not None:
        restore_generator(unwrapped.action_space, saved["action_space"])
    for wrapper, counters in zip(wrappers, saved["wrappers"], strict=True):
        for name, value in counters.items():
            setattr(wrapper, name, value)
        for flag in _UNDER_WAY:  # the episode is under way; its checks ran before the save
            if hasattr(wrapper, flag):
                setattr(wrapper, flag, True)


def capture_generator(space: Any) -> str | None:
    """A gymnasium space's RNG state (None while it has none: it is created when first used)."""
    return _generator_state(getattr(space, "_np_random", None))


def restore_generator(space: Any, text: str) -> None:
    """Give ``space`` the RNG :func:`capture_generator` saved."""
    space._np_random = _restored_generator(text)


def _wrappers(env: Any) -> list[Any]:
    chain = []
    while hasattr(env, "env") and env is not getattr(env, "unwrapped", env):
        chain.append(env)
        env = env.env
    return chain


def _counters(wrapper: Any) -> dict[str, int]:
    return {
        name: int(getattr(wrapper, name))
        for name in _WRAPPER_COUNTERS
        if isinstance(getattr(wrapper, name, None), int)
    }


def _generator_state(rng: np.random.Generator | None) -> str | None:
    return None if rng is None else json.dumps(rng.bit_generator.state)


def _restored_generator(text: str) -> np.random.Generator:
    state = json.loads(text)
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)
