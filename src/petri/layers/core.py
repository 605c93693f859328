"""The core layers: FullyConnected, Dropout, Flatten, Reshape and Merge."""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from petri.errors import did_you_mean
from petri.layers._base import GraphModule
from petri.layers._layer import LazyLayer, materialize
from petri.layers._validation import keep_probability, positive_int
from petri.layers.activations import get_activation

__all__ = ["Dropout", "Flatten", "FullyConnected", "Merge", "Reshape"]


def callable_name(fn: Any) -> str:
    """A short name for an activation or initializer in a layer's repr."""
    return getattr(fn, "__name__", type(fn).__name__)


class FullyConnected(LazyLayer):
    """A dense layer, ``activation(x @ weight.T + bias)``, sized on its first input.

    Inputs with more than two dimensions are flattened past the batch dimension first, so a
    pooled feature map feeds it directly, as in the seed's LeNet.

    Args:
        mode: a ``ModeKeys`` value, or None.
        num_units: the number of output units.
        n_units: the seed's other name for ``num_units``.
        activation: an activation name or callable.
        bias: whether to add a bias.
        weights_init: an initializer name, number or callable for the weight.
        bias_init: an initializer for the bias.
        regularizer: a regularizer name or callable applied to the weight, or None.
        scale: the regularizer's scale.
        trainable: False freezes the weights.
        restore: False keeps the weights out of ``load_state_dict``.
        name: the layer's name in its graph scope.

    Example:
        >>> import torch
        >>> FullyConnected(num_units=3, activation="relu")(torch.ones(2, 4, 5)).shape
        torch.Size([2, 3])
    """

    def __init__(
        self,
        mode: str | None = None,
        num_units: int | None = None,
        n_units: int | None = None,
        activation: str | Callable[..., Any] | None = "linear",
        bias: bool = True,
        weights_init: Any = "uniform_scaling",
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
        if num_units is None:
            num_units = n_units
        elif n_units is not None and n_units != num_units:
            raise ValueError(
                "FullyConnected expected num_units or its alias n_units, not two different "
                f"values. Received: num_units={num_units!r}, n_units={n_units!r}"
            )
        self.num_units = positive_int("FullyConnected", "num_units", num_units)
        self.in_features = 0
        self.activation_fn = get_activation(activation)
        self._add_weight_and_bias(weights_init, bias, bias_init, self.num_units)

    def initialize_parameters(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> None:
        if x.dim() < 2:
            raise ValueError(
                "FullyConnected expected an input with a batch dimension, [batch, features, ...]. "
                f"Received shape {tuple(x.shape)}"
            )
        self.in_features = math.prod(x.shape[1:])
        materialize(self.weight, (self.num_units, self.in_features), self._weights_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() > 2:
            x = x.flatten(1)
        return self.activation_fn(F.linear(x, self.weight, self.bias))

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, num_units={self.num_units}, "
            f"activation={callable_name(self.activation_fn)}, bias={self.bias is not None}"
        )


class Dropout(GraphModule):
    """Dropout with the seed's keep probability, active only while training.

    Args:
        mode: a ``ModeKeys`` value, or None.
        keep_prob: the probability of keeping each element (TF semantics, not torch's ``p``).
        noise_shape: the shape of the random keep mask including the batch dimension; None or
            -1 entries take the input's size, 1 entries share one draw along that axis
            (``[None, None, 1, 1]`` drops whole channels).
        name: the layer's name in its graph scope.
    """

    def __init__(
        self,
        mode: str | None = None,
        keep_prob: float = 0.5,
        noise_shape: Sequence[int | None] | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(mode=mode, name=name)
        self.keep_prob = keep_probability("Dropout", "keep_prob", keep_prob)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.keep_prob == 1.0:
            return x
        if self.noise_shape is None:
            return F.dropout(x, 1.0 - self.keep_prob, True)
        if len(self.noise_shape) != x.dim():
            raise ValueError(
                f"Dropout expected noise_shape to have one entry per input dimension ({x.dim()}). "
                f"Received: noise_shape={list(self.noise_shape)}"
            )
        shape = [n if s is None or s == -1 else s for n, s in zip(x.shape, self.noise_shape)]
        mask = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(self.keep_prob)
        return x * mask / self.keep_prob

    def extra_repr(self) -> str:
        return f"keep_prob={self.keep_prob}, noise_shape={self.noise_shape}"


class Flatten(GraphModule):
    """Flatten every dimension after the batch dimension: [N, ...] -> [N, prod(...)]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)


class Reshape(GraphModule):
    """Reshape to ``new_shape``, which includes the batch dimension, as TF's ``reshape``.

    Args:
        mode: a ``ModeKeys`` value, or None.
        new_shape: the full output shape; one entry may be -1 (usually the batch):
            ``Reshape(new_shape=[-1, 1, 28, 28])`` turns [N, 784] into NCHW images.
        name: the layer's name in its graph scope.
    """

    def __init__(
        self,
        mode: str | None = None,
        new_shape: Sequence[int] | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(mode=mode, name=name)
        shape = list(new_shape) if isinstance(new_shape, Sequence) else None
        if (
            not shape
            or not all(isinstance(n, int) and (n > 0 or n == -1) for n in shape)
            or shape.count(-1) > 1
        ):
            raise ValueError(
                "Reshape expected new_shape to be a sequence of positive integers with at most "
                f"one -1. Received: new_shape={new_shape!r}"
            )
        self.new_shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(self.new_shape)

    def extra_repr(self) -> str:
        return f"new_shape={self.new_shape}"


def _concat(tensors: Sequence[torch.Tensor], axis: int) -> torch.Tensor:
    return torch.cat(tuple(tensors), axis)


def _elemwise_sum(tensors: Sequence[torch.Tensor], axis: int) -> torch.Tensor:
    return functools.reduce(operator.add, tensors)


def _elemwise_mul(tensors: Sequence[torch.Tensor], axis: int) -> torch.Tensor:
    return functools.reduce(operator.mul, tensors)


def _sum(tensors: Sequence[torch.Tensor], axis: int) -> torch.Tensor:
    return torch.cat(tuple(tensors), axis).sum(axis)


def _mean(tensors: Sequence[torch.Tensor], axis: int) -> torch.Tensor:
    return torch.cat(tuple(tensors), axis).mean(axis)


def _prod(tensors: Sequence[torch.Tensor], axis: int) -> torch.Tensor:
    return torch.cat(tuple(tensors), axis).prod(axis)


def _max(tensors: Sequence[torch.Tensor], axis: int) -> torch.Tensor:
    return torch.cat(tuple(tensors), axis).amax(axis)


def _min(tensors: Sequence[torch.Tensor], axis: int) -> torch.Tensor:
    return torch.cat(tuple(tensors), axis).amin(axis)


# The reducing modes follow the seed: concatenate along ``axis``, then reduce that axis.
_MERGE_MODES: dict[str, Callable[[Sequence[torch.Tensor], int], torch.Tensor]] = {
    "concat": _concat,
    "elemwise_sum": _elemwise_sum,
    "elemwise_mul": _elemwise_mul,
    "sum": _sum,
    "mean": _mean,
    "prod": _prod,
    "max": _max,
    "min": _min,
}


class Merge(GraphModule):
    """Merge several tensors into one.

    ``forward`` takes a list of tensors; when ``modules`` are given it takes one input, runs every
    module on it and merges their outputs (the seed's merge of layers).

    Args:
        mode: a ``ModeKeys`` value, or None.
        modules: optional modules whose outputs are merged.
        merge_mode: ``'concat'`` (along ``axis``), ``'elemwise_sum'``, ``'elemwise_mul'``, or a
            reduction over the concatenation along ``axis``: ``'sum'``, ``'mean'``, ``'prod'``,
            ``'max'``, ``'min'``.
        axis: the axis to concatenate and reduce on (1, the feature/channel axis, by default).
        name: the layer's name in its graph scope.
    """

    def __init__(
        self,
        mode: str | None = None,
        modules: Sequence[nn.Module] | None = None,
        merge_mode: str = "concat",
        axis: int = 1,
        name: str | None = None,
    ) -> None:
        super().__init__(mode=mode, name=name)
        key = merge_mode.lower() if isinstance(merge_mode, str) else merge_mode
        if key not in _MERGE_MODES:
            hint = did_you_mean(str(merge_mode), _MERGE_MODES)
            raise ValueError(
                f"Merge expected merge_mode to be one of {list(_MERGE_MODES)}. "
                f"Received: merge_mode={merge_mode!r}.{hint}"
            )
        self.merge_mode = key
        self.axis = axis
        self._merge = _MERGE_MODES[key]
        self.branches = nn.ModuleList(modules) if modules is not None else None

    def forward(self, inputs: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        if self.branches is not None:
            inputs = [branch(inputs) for branch in self.branches]
        return self._merge(inputs, self.axis)  # type: ignore[arg-type]

    def extra_repr(self) -> str:
        return f"merge_mode={self.merge_mode!r}, axis={self.axis}"
