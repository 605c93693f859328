"""Reinforcement learning in one place: the ``Agent`` and its loop, the RL models (one module
per algorithm), replay and on-policy memories, explorations and schedules.

Seed names stay where the seed put them: ``petri.estimators.Agent``, ``petri.models.DDQNModel``,
``petri.rl.memories.Memory``, ``petri.envs.GymEnvironment``.
"""

from __future__ import annotations

from petri.rl import explorations, memories, schedules
from petri.rl._checks import action_space_problem, rollout_problem
from petri.rl._evaluation import EvaluateAgentHook, evaluate_policy
from petri.rl.agent import DEFAULT_TRAIN_STEPS, Agent, PGAgent
from petri.rl.models import (
    RL_MODELS,
    DDQNModel,
    DQNModel,
    NAFModel,
    PolicyGradientModel,
    PPOModel,
    RLModel,
    TDModel,
    TRPOModel,
    UpdateResult,
    VPGModel,
)

__all__ = [
    "DEFAULT_TRAIN_STEPS",
    "RL_MODELS",
    "Agent",
    "DDQNModel",
    "DQNModel",
    "EvaluateAgentHook",
    "NAFModel",
    "PGAgent",
    "PPOModel",
    "PolicyGradientModel",
    "RLModel",
    "TDModel",
    "TRPOModel",
    "UpdateResult",
    "VPGModel",
    "action_space_problem",
    "evaluate_policy",
    "explorations",
    "memories",
    "rollout_problem",
    "schedules",
]
