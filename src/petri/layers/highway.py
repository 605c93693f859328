"""Highway: a dense layer whose output is gated against its input (Srivastava et al., 2015)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from petri.layers._layer import LazyLayer, materialize
from petri.layers._validation import keep_probability, positive_int
from petri.layers.activations import get_activation
from petri.layers.core import callable_name
from petri.layers.initializers import get_initializer

__all__ = ["Highway"]


class Highway(LazyLayer):
    """``y = H(x) * T(x) + x * (1 - T(x))`` with ``T = sigmoid(x W_T + b_T)``.

    The input (flattened past the batch dimension) must have ``num_units`` features, since it
    is carried through. The transform gate's bias starts at -1, as in the seed, so the layer
    first favours carrying its input.

    Args:
        mode: a ``ModeKeys`` value, or None.
        num_units: the number of units, equal to the input's feature count.
        activation: the activation of ``H``.
        transform_dropout: a keep probability applied to ``H`` while training, or None.
        weights_init: an initializer for both weight matrices.
        bias_init: an initializer for ``H``'s bias.
        regularizer: a regularizer name or callable applied to both weights, or None.
        scale: the regularizer's scale.
        trainable: False freezes the weights.
        restore: False keeps the weights out of ``load_state_dict``.
        name: the layer's name in its graph scope.
    """

    def __init__(
        self,
        mode: str | None = None,
        num_units: int | None = None,
        activation: str | Callable[..., Any] | None = "linear",
        transform_dropout: float | None = None,
        weights_init: Any = "truncated_normal",
        bias_init: Any = "zeros",
        regularizer: Any = None,
        scale: float = 0.001,
        trainable: bool = True,
        restore: bool = True,
        name: str | None = None,
    ) -> None:
        super().__init__(
            mode, name, trainable=trainable, restore=restore, regularizer=regularizer, scale=scale
        )
        self.num_units = positive_int("Highway", "num_units", num_units)
        self.activation_fn = get_activation(activation)
        self.transform_keep = (
            1.0
            if transform_dropout is None
            else keep_probability("Highway", "transform_dropout", transform_dropout)
        )
        self._weights_init = get_initializer(weights_init)
        self.weight = self._new_parameter()
        self.transform_weight = self._new_parameter()
        self.bias = self._new_parameter(self.num_units)
        self.transform_bias = self._new_parameter(self.num_units)
        get_initializer(bias_init, default="zeros")(self.bias)
        with torch.no_grad():
            self.transform_bias.fill_(-1.0)
        self._regularized = ("weight", "transform_weight")

    def initialize_parameters(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> None:
        features = math.prod(x.shape[1:]) if x.dim() >= 2 else 0
        if features != self.num_units:
            raise ValueError(
                f"Highway expected inputs with num_units={self.num_units} features (it carries "
                f"its input through). Received shape {tuple(x.shape)}"
            )
        for weight in (self.weight, self.transform_weight):
            materialize(weight, (self.num_units, self.num_units), self._weights_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() > 2:
            x = x.flatten(1)
        h = self.activation_fn(F.linear(x, self.weight, self.bias))
        if self.training and self.transform_keep < 1.0:
            h = F.dropout(h, 1.0 - self.transform_keep, True)
        gate = torch.sigmoid(F.linear(x, self.transform_weight, self.transform_bias))
        return torch.lerp(x, h, gate)

    def extra_repr(self) -> str:
        return f"num_units={self.num_units}, activation={callable_name(self.activation_fn)}"
