"""Reinforcement-learning models, one file per algorithm: Q-learning (DQN, DDQN, NAF) and
policy gradients (VPG, PPO, TRPO)."""

from __future__ import annotations

from petri.models.rl._base import RLModel, TDModel, UpdateResult
from petri.models.rl._policy import PolicyGradientModel
from petri.models.rl.ddqn import DDQNModel
from petri.models.rl.dqn import DQNModel
from petri.models.rl.naf import NAFModel
from petri.models.rl.ppo import PPOModel
from petri.models.rl.trpo import TRPOModel
from petri.models.rl.vpg import VPGModel

__all__ = [
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
