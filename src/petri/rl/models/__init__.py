"""Reinforcement-learning models, one file per algorithm: Q-learning (DQN, DDQN, NAF) and
policy gradients (VPG, PPO, TRPO)."""

from __future__ import annotations

from petri.registry import Registry
from petri.rl.models._base import RLModel, TDModel, UpdateResult
from petri.rl.models._policy import PolicyGradientModel
from petri.rl.models.ddqn import DDQNModel
from petri.rl.models.dqn import DQNModel
from petri.rl.models.naf import NAFModel
from petri.rl.models.ppo import PPOModel
from petri.rl.models.trpo import TRPOModel
from petri.rl.models.vpg import VPGModel

__all__ = [
    "RL_MODELS",
    "DDQNModel",
    "DQNModel",
    "NAFModel",
    "PPOModel",
    "PolicyGradientModel",
    "RLModel",
    "TDModel",
    "TRPOModel",
    "UpdateResult",
    "VPGModel",
]

RL_MODELS: Registry = Registry(
    "RL model",
    {cls.__name__: cls for cls in (DQNModel, DDQNModel, NAFModel, VPGModel, PPOModel, TRPOModel)},
    home="petri.rl.RL_MODELS",
)
"""RL models selectable by ``model_config.module`` of an RL experiment."""
