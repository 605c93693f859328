"""Environments: ``GymEnvironment`` over gymnasium (single or vectorised) and ``EnvSpec``."""

from __future__ import annotations

from petri.envs._base import EnvSpec
from petri.envs.gym import GymEnvironment
from petri.registry import Registry

__all__ = ["ENVIRONMENTS", "EnvSpec", "GymEnvironment"]

ENVIRONMENTS: Registry = Registry(
    "environment", {"GymEnvironment": GymEnvironment}, home="petri.envs.ENVIRONMENTS"
)
"""Environments selectable by ``environment_config.module``."""
