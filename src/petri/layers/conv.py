"""Convolutions on channel-first inputs with TF padding: Conv1d, Conv2d, Conv3d."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from petri.layers._layer import LazyLayer, materialize
from petri.layers._padding import check_padding, settle_padding
from petri.layers._validation import check_rank, positive_int, positive_ints
from petri.layers.activations import get_activation
from petri.layers.core import callable_name

__all__ = ["Conv1d", "Conv2d", "Conv3d"]

# The arguments convolutions share with transposed convolutions (conv_transpose.py), which
# document theirs from the same text: the leading ones, then those after the geometry.
_FILTER_ARGS = """

    Args:
        mode: a ``ModeKeys`` value, or None.
        num_filter: the number of output channels.
        filter_size: the kernel size, an int or one int per spatial axis.
"""
_KERNEL_ARGS = """\
        activation: an activation name or callable; ``softmax``/``crelu`` act on channels.
        bias: whether to add a bias.
        weights_init: an initializer name, number or callable for the kernel.
        bias_init: an initializer for the bias.
        regularizer: a regularizer name or callable applied to the kernel, or None.
        scale: the regularizer's scale.
        trainable: False freezes the weights.
        restore: False keeps the weights out of ``load_state_dict``.
        name: the layer's name in its graph scope.
"""
_ARGS = (
    _FILTER_ARGS
    + """\
        strides: the stride, an int or one per axis (TF's ``[1, s, s, 1]`` is accepted).
        padding: ``'same'`` (output ``ceil(size / stride)``, padded as TF does, extra element
            at the end) or ``'valid'`` (no padding), any case.
        dilation_rate: the dilation, an int or one per axis.
"""
    + _KERNEL_ARGS
)


class _ConvNd(LazyLayer):
    """An N-d convolution; input channels come from the first input."""

    _ndim: ClassVar[int]
    _layout: ClassVar[str]
    _conv: ClassVar[Callable[..., torch.Tensor]]

    def __init__(
        self,
        mode: str | None = None,
        num_filter: int | None = None,
        filter_size: int | tuple[int, ...] | None = None,
        strides: int | tuple[int, ...] = 1,
        padding: str = "same",
        dilation_rate: int | tuple[int, ...] = 1,
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
        layer = type(self).__name__
        self.num_filter = positive_int(layer, "num_filter", num_filter)
        self.filter_size = positive_ints(layer, "filter_size", filter_size, self._ndim)
        self.strides = positive_ints(layer, "strides", strides, self._ndim)
        self.dilation_rate = positive_ints(layer, "dilation_rate", dilation_rate, self._ndim)
        same = check_padding(layer, padding)
        self.padding = "same" if same else "valid"
        self.in_channels = 0
        self.activation_fn = get_activation(activation, feature_dim=1)
        # Padding is settled here so forward does no string work: a symmetric ``padding=`` for
        # the conv itself, an F.pad argument when TF's 'same' is asymmetric (even kernels), or a
        # per-input-size resolver when strides > 1 make the padding depend on the input size.
        self._padding, self._pad, self._same = settle_padding(
            same, self.filter_size, self.strides, self.dilation_rate
        )
        self._add_weight_and_bias(weights_init, bias, bias_init, self.num_filter)

    def initialize_parameters(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> None:
        check_rank(type(self).__name__, x.shape, self._ndim + 2, self._layout)
        self.in_channels = x.shape[1]
        shape = (self.num_filter, self.in_channels, *self.filter_size)
        materialize(self.weight, shape, self._weights_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padding = self._padding
        if self._pad is not None:
            x = F.pad(x, self._pad)
        elif self._same is not None:
            padding, pad = self._same.resolve(x.shape[2:])
            if pad is not None:
                x = F.pad(x, pad)
        out = self._conv(x, self.weight, self.bias, self.strides, padding, self.dilation_rate)
        return self.activation_fn(out)

    def extra_repr(self) -> str:
        return (
            f"in_channels={self.in_channels}, num_filter={self.num_filter}, "
            f"filter_size={self.filter_size}, strides={self.strides}, padding={self.padding!r}, "
            f"dilation_rate={self.dilation_rate}, activation={callable_name(self.activation_fn)}"
        )


class Conv1d(_ConvNd):
    __doc__ = "A 1-d convolution on [batch, channels, length] inputs." + _ARGS
    _ndim = 1
    _layout = "[batch, channels, length]"
    _conv = staticmethod(F.conv1d)


class Conv2d(_ConvNd):
    __doc__ = (
        "A 2-d convolution on NCHW inputs, as ``Conv2d(mode, num_filter=32, filter_size=5)``."
        + _ARGS
    )
    _ndim = 2
    _layout = "[batch, channels, height, width]"
    _conv = staticmethod(F.conv2d)


class Conv3d(_ConvNd):
    __doc__ = "A 3-d convolution on NCDHW inputs." + _ARGS
    _ndim = 3
    _layout = "[batch, channels, depth, height, width]"
    _conv = staticmethod(F.conv3d)
