"""BatchNormalization with the seed's arguments (``decay`` is TF's, ``1 - torch momentum``)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.nn.parameter import UninitializedBuffer, is_lazy

from petri.layers._layer import LazyLayer

__all__ = ["BatchNormalization"]


class BatchNormalization(LazyLayer):
    """Batch normalization over axis 1 of [N, F] or [N, C, ...] inputs, sized on the first call.

    Training normalizes with the batch statistics and updates the moving averages
    (``moving = decay * moving + (1 - decay) * batch``); evaluation uses the moving averages.

    Args:
        mode: a ``ModeKeys`` value, or None.
        beta: the initial shift (``bias``).
        gamma: the initial scale (``weight``).
        epsilon: added to the variance for numerical stability.
        decay: the moving averages' decay, in [0, 1).
        trainable: False freezes ``weight`` and ``bias`` (the moving averages still update).
        restore: False keeps the parameters and moving averages out of ``load_state_dict``.
        name: the layer's name in its graph scope.
    """

    def __init__(
        self,
        mode: str | None = None,
        beta: float = 0.0,
        gamma: float = 1.0,
        epsilon: float = 1e-5,
        decay: float = 0.9,
        trainable: bool = True,
        restore: bool = True,
        name: str | None = None,
    ) -> None:
        super().__init__(mode, name, trainable=trainable, restore=restore)
        if not 0.0 <= decay < 1.0:
            raise ValueError(
                f"BatchNormalization expected decay to be in [0, 1). Received: decay={decay!r}"
            )
        if not epsilon > 0:
            raise ValueError(
                "BatchNormalization expected epsilon to be positive. "
                f"Received: epsilon={epsilon!r}"
            )
        self.beta = float(beta)
        self.gamma = float(gamma)
        self.epsilon = float(epsilon)
        self.decay = float(decay)
        self._momentum = 1.0 - self.decay
        self.num_features = 0
        self.weight = self._new_parameter()
        self.bias = self._new_parameter()
        self.register_buffer("running_mean", UninitializedBuffer())
        self.register_buffer("running_var", UninitializedBuffer())

    def initialize_parameters(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> None:
        if x.dim() < 2:
            raise ValueError(
                "BatchNormalization expected an input of shape [batch, features, ...]. "
                f"Received shape {tuple(x.shape)}"
            )
        self.num_features = x.shape[1]
        shape = (self.num_features,)
        with torch.no_grad():
            if is_lazy(self.weight):
                self.weight.materialize(shape)
                self.weight.fill_(self.gamma)
            if is_lazy(self.bias):
                self.bias.materialize(shape)
                self.bias.fill_(self.beta)
            if is_lazy(self.running_mean):
                self.running_mean.materialize(shape)
                self.running_mean.zero_()
            if is_lazy(self.running_var):
                self.running_var.materialize(shape)
                self.running_var.fill_(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training,
            self._momentum,
            self.epsilon,
        )

    def extra_repr(self) -> str:
        return f"num_features={self.num_features}, epsilon={self.epsilon}, decay={self.decay}"
