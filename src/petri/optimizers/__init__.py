"""Optimizers and learning-rate decay with polyaxon-lib's (TensorFlow 1's) names and defaults.

``create_optimizer(params, "adam", learning_rate=1e-3, beta1=0.9)`` builds a ``torch.optim``
optimizer from TF argument names; ``create_lr_schedule`` builds the matching decay schedule.
"""

from __future__ import annotations

from petri.optimizers._build import build_optimizer
from petri.optimizers._factory import OPTIMIZERS, create_optimizer, optimizer_kwargs
from petri.optimizers._step import GradientStep, clip_gradients
from petri.optimizers.ftrl import Ftrl
from petri.optimizers.schedules import (
    DECAYS,
    DecaySchedule,
    create_lr_schedule,
    decay_kwargs,
    decayed_learning_rate,
)

__all__ = [
    "DECAYS",
    "DecaySchedule",
    "Ftrl",
    "GradientStep",
    "OPTIMIZERS",
    "build_optimizer",
    "clip_gradients",
    "create_lr_schedule",
    "create_optimizer",
    "decay_kwargs",
    "decayed_learning_rate",
    "optimizer_kwargs",
]
