"""Reinforcement-learning parts shared by the agents: memories, explorations, schedules.

``petri.rl.memories`` (replay and on-policy buffers), ``petri.rl.explorations`` (epsilon and
noise schedules), ``petri.rl.schedules`` (decay of a value with the global timestep), and
``create_rl_experiment`` (an RL experiment from its config).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["RLExperiment", "create_rl_experiment", "explorations", "memories", "schedules"]

_SUBMODULES = ("explorations", "memories", "schedules")
_LAZY = {"RLExperiment": "petri.rl.experiment", "create_rl_experiment": "petri.rl.experiment"}

if TYPE_CHECKING:
    from petri.rl import explorations, memories, schedules
    from petri.rl.experiment import RLExperiment, create_rl_experiment


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"petri.rl.{name}")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'petri.rl' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
