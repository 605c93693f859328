"""The Estimator (train / evaluate / predict with checkpoints and hooks) and its parts."""

from __future__ import annotations

from petri.configs.run import RunConfig
from petri.estimators._agent_eval import EvaluateAgentHook
from petri.estimators.agent import Agent, PGAgent
from petri.estimators.checkpoints import latest_checkpoint
from petri.estimators.estimator import Estimator
from petri.estimators.hooks import (
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
from petri.estimators.spec import EstimatorSpec
from petri.modes import ModeKeys
from petri.registry import Registry

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
