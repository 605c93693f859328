"""The Estimator (train / evaluate / predict with checkpoints and hooks) and its parts."""

from __future__ import annotations

from petri.configs.run import RunConfig
from petri.estimators.estimator import Estimator
from petri.modes import ModeKeys
from petri.registry import Registry
from petri.rl import EvaluateAgentHook
from petri.rl.agent import Agent, PGAgent
from petri.spec import EstimatorSpec
from petri.training.checkpoints import latest_checkpoint
from petri.training.hooks import (
    HOOKS,
    CheckpointSaverHook,
    Hook,
    HookList,
    LoopState,
    NanLossError,
    NanLossHook,
    ProgressBarHook,
    StepLoggingHook,
    StopAfterNEvalsHook,
    StopAtStepHook,
)

__all__ = [
    "ESTIMATORS",
    "HOOKS",
    "Agent",
    "CheckpointSaverHook",
    "Estimator",
    "EstimatorSpec",
    "EvaluateAgentHook",
    "PGAgent",
    "Hook",
    "HookList",
    "LoopState",
    "ModeKeys",
    "NanLossError",
    "NanLossHook",
    "ProgressBarHook",
    "RunConfig",
    "StepLoggingHook",
    "StopAfterNEvalsHook",
    "StopAtStepHook",
    "latest_checkpoint",
]

ESTIMATORS: Registry = Registry(
    "estimator",
    {"Estimator": Estimator, "Agent": Agent, "PGAgent": PGAgent},
    home="petri.estimators.ESTIMATORS",
)
