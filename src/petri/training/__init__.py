"""The parts of a training loop that the Estimator and the Agent share: hooks and their state,
checkpoints, and the graph scope a ``model_fn`` builds its layers in."""

from __future__ import annotations

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
from petri.training.model_fn import ModelFnModule, check_model_fn

__all__ = [
    "HOOKS",
    "CheckpointSaverHook",
    "Hook",
    "HookList",
    "LoopState",
    "ModelFnModule",
    "NanLossError",
    "NanLossHook",
    "ProgressBarHook",
    "StepLoggingHook",
    "StopAfterNEvalsHook",
    "StopAtStepHook",
    "check_model_fn",
    "latest_checkpoint",
]
