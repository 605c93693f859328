"""Building the optimizer and learning-rate schedule a model asks for in its spec."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from petri.configs import OptimizerConfig
from petri.optimizers._factory import create_optimizer
from petri.optimizers.schedules import create_lr_schedule

__all__ = ["build_optimizer"]


def build_optimizer(
    source: Any, parameters: Iterable[torch.nn.Parameter]
) -> tuple[torch.optim.Optimizer, Any]:
    """``(optimizer, lr_scheduler or None)`` from an ``EstimatorSpec.optimizer`` value."""
    params = [p for p in parameters if p.requires_grad]
    if not params:
        raise ValueError(
            "The model has no trainable parameters: the model_fn built no layers, or all are "
            "trainable=False."
        )
    if source is None:
        raise ValueError(
            "model_fn returned no optimizer for training: set EstimatorSpec(optimizer=...) to an "
            "OptimizerConfig, an optimizer name, a torch optimizer, or a callable params -> "
            "optimizer."
        )
    if isinstance(source, str):
        source = OptimizerConfig(name=source)
    if isinstance(source, dict):
        source = OptimizerConfig.from_dict(source, prefix="optimizer_config")
    if isinstance(source, OptimizerConfig):
        optimizer = create_optimizer(
            params, source.identifier, source.learning_rate, **source.optimizer_kwargs()
        )
        schedule = None
        if source.decay_type:
            schedule = create_lr_schedule(
                optimizer,
                source.decay_type,
                learning_rate=source.learning_rate,
                **source.schedule_kwargs(),
            )
        return optimizer, schedule
    if isinstance(source, torch.optim.Optimizer):
        return source, None
    if callable(source):
        built = source(params)
        if isinstance(built, tuple):
            return built[0], built[1]
        return built, None
    raise TypeError(
        f"Cannot build an optimizer from {type(source).__name__}; expected an OptimizerConfig, a "
        "name, a torch.optim.Optimizer, or a callable params -> optimizer."
    )
