"""``EnvSpec``: what one environment step returns."""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["EnvSpec"]


class EnvSpec(NamedTuple):
    """One step of an environment, as the seed library named it, with gymnasium's flags apart.

    For a vectorised environment every field has a leading ``num_envs`` dimension.

    Attributes:
        action: the action that was taken.
        state: the observation the action was taken in.
        reward: the reward received.
        done: ``terminated or truncated``: the episode is over and the environment was reset.
        next_state: the observation the action led to. At the end of an episode this is the
            episode's final observation, never the reset observation, so a truncated
            episode's last transition can still bootstrap from it.
        terminated: the MDP reached a terminal state (no future reward: targets do not
            bootstrap).
        truncated: the episode was cut short (time limit): targets still bootstrap from
            ``next_state``.
        info: gymnasium's info dict.
    """

    action: Any
    state: Any
    reward: Any
    done: Any
    next_state: Any
    terminated: Any
    truncated: Any
    info: dict[str, Any]
