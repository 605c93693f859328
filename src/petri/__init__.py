"""Petri: deep-learning and reinforcement-learning experiments on PyTorch.

Submodules load on first use (``petri.layers``, ``petri.configs``, ...) so ``import petri`` stays
light; seed code written as ``import petri as plx; plx.layers.Conv2d`` works unchanged.
"""

from __future__ import annotations

import importlib
from typing import Any

from petri.errors import CheckpointMismatchError, ConfigError, PetriError, UnknownNameError
from petri.modes import ModeKeys

__version__ = "0.1.0"

_SUBMODULES = (
    "configs",
    "data",
    "datasets",
    "envs",
    "estimators",
    "experiments",
    "export",
    "layers",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "registry",
    "rl",
    "runtime",
    "tracking",
    "training",
)

__all__ = [
    "CheckpointMismatchError",
    "ConfigError",
    "ModeKeys",
    "PetriError",
    "UnknownNameError",
    "__version__",
    *_SUBMODULES,
]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"petri.{name}")
    raise AttributeError(f"module 'petri' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
