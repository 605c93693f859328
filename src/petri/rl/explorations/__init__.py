"""Explorations: epsilon schedules for discrete actions, noise processes for continuous ones."""

from __future__ import annotations

import inspect

from petri.registry import Registry
from petri.rl.explorations._base import Exploration
from petri.rl.explorations.discrete import (
    ConstantExploration,
    DecayExploration,
    ExponentialExploration,
    GreedyExploration,
    LinearExploration,
    RandomDecayExploration,
    RandomExploration,
)
from petri.rl.explorations.noise import GaussianNoise, OrnsteinUhlenbeckNoise

__all__ = [
    "EXPLORATIONS",
    "ConstantExploration",
    "DecayExploration",
    "Exploration",
    "ExponentialExploration",
    "GaussianNoise",
    "GreedyExploration",
    "LinearExploration",
    "OrnsteinUhlenbeckNoise",
    "RandomDecayExploration",
    "RandomExploration",
    "create_exploration",
    "exploration_kwargs",
]

EXPLORATIONS: Registry[type[Exploration]] = Registry(
    "exploration",
    {
        "constant": ConstantExploration,
        "greedy": GreedyExploration,
        "random": RandomExploration,
        "decay": DecayExploration,
        "random_decay": RandomDecayExploration,
        "linear": LinearExploration,
        "exponential": ExponentialExploration,
        "gaussian": GaussianNoise,
        "ornstein_uhlenbeck": OrnsteinUhlenbeckNoise,
        "ou": OrnsteinUhlenbeckNoise,
    },
    home="petri.rl.explorations.EXPLORATIONS",
)
"""Explorations selectable by ``exploration_config.module``."""


def exploration_kwargs(identifier: str | type[Exploration]) -> list[str]:
    """The arguments an exploration takes (the other keys of its config)."""
    cls = EXPLORATIONS.get(identifier)
    return [name for name in inspect.signature(cls.__init__).parameters if name != "self"]


def create_exploration(config: object | None, is_continuous: bool = False) -> Exploration:
    """An exploration from an ``ExplorationConfig``, a name, a class or an instance.

    None gives the default: ``decay`` (seed defaults) for discrete actions, ``gaussian`` for
    continuous ones.

    Raises:
        UnknownNameError: unknown exploration name.
        TypeError: an argument the exploration does not take.
    """
    if isinstance(config, Exploration):
        return config
    if config is None:
        return GaussianNoise() if is_continuous else DecayExploration()
    kwargs: dict[str, object] = {}
    identifier = config
    if hasattr(config, "identifier"):
        identifier, kwargs = config.identifier, dict(config.kwargs)  # type: ignore[attr-defined]
    cls = EXPLORATIONS.get(identifier)  # type: ignore[arg-type]
    if "is_continuous" in inspect.signature(cls).parameters and "is_continuous" not in kwargs:
        kwargs["is_continuous"] = is_continuous
    return cls(**kwargs)
