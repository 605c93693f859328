"""Checks an Agent makes before its first step: the run settings it can honour, and a model
that fits its environment (also asked by the builder, to name the config key)."""

from __future__ import annotations

import math
from typing import Any

from petri import distributed
from petri.configs.run import RunConfig

__all__ = [
    "StateShape",
    "action_space_problem",
    "check_fit",
    "check_run_config",
    "rollout_problem",
]


def action_space_problem(model_class: type, env: Any) -> str | None:
    """Why ``model_class``'s kind of actions does not fit ``env``'s, or None when it does."""
    name = model_class.__name__
    env_name = getattr(env, "env_id", type(env).__name__)
    continuous = bool(getattr(env, "is_continuous", False))
    discrete = getattr(model_class, "discrete_actions", None)
    if discrete is True and continuous:
        return (
            f"{name} needs a discrete action space, but {env_name!r} has continuous actions "
            f"{getattr(env, 'action_space', '')}. Use a continuous-control model (NAFModel, or "
            "PPOModel/VPGModel/TRPOModel with a Gaussian policy) or a discrete environment."
        )
    if discrete is False and not continuous:
        return (
            f"{name} needs a continuous (Box) action space, but {env_name!r} has discrete "
            f"actions {getattr(env, 'action_space', '')}. Use DQNModel or DDQNModel."
        )
    return None


def rollout_problem(batch_size: int, num_envs: int) -> str | None:
    """Why an on-policy batch of ``batch_size`` transitions cannot be collected as the same
    number of time steps from each of ``num_envs`` environments, or None when it can.

    A batch that does not split evenly would overshoot ``batch_size`` by up to
    ``num_envs - 1`` transitions, and PPO's last minibatch would hold only those few.
    """
    if batch_size % num_envs == 0:
        return None
    below = batch_size - batch_size % num_envs
    above = below + num_envs
    suggestion = f"{below} or {above}" if below else str(above)
    return (
        f"An on-policy batch of batch_size={batch_size} transitions does not split into equal "
        f"rollouts of num_envs={num_envs} environments (each update takes T steps from every "
        f"environment: batch_size = T * num_envs). Use a multiple of {num_envs}, such as "
        f"{suggestion}."
    )


def check_run_config(owner: str, config: RunConfig) -> None:
    """What an Agent cannot honour is refused, not dropped."""
    problem = config.unsupported_by_agents()
    if problem:
        raise ValueError(f"{owner}: {problem}")
    if distributed.launched():
        raise ValueError(
            f"{owner} trains in one process; run it without torchrun or --nproc "
            "(run_config.distributed applies to the Estimator)."
        )


class StateShape:
    """Stands in for an environment when only the state shape is known (``predict``)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.state_shape = shape


def check_fit(model: Any, env: Any) -> None:
    """The model's action kind and sizes match the environment's (before any step)."""
    name = type(model).__name__
    env_name = getattr(env, "env_id", type(env).__name__)
    problem = action_space_problem(type(model), env)
    if problem:
        raise ValueError(problem)
    if getattr(env, "num_actions", model.num_actions) != model.num_actions:
        raise ValueError(
            f"{name} was built with num_actions={model.num_actions} but {env_name!r} has "
            f"{env.num_actions}; build it with num_actions=env.num_actions."
        )
    shape = tuple(getattr(env, "state_shape", model.state_shape))
    if math.prod(shape) != model.num_states:
        raise ValueError(
            f"{name} was built with num_states={model.num_states} but {env_name!r} has states "
            f"of shape {shape}; build it with num_states=env.num_states."
        )
