"""Transposed convolutions with TF semantics: Conv2dTranspose, Conv3dTranspose.

TF's ``conv2d_transpose`` is the gradient of ``conv2d`` with the same padding: its output has
``size * stride`` elements for ``'same'`` (or the given ``output_shape``), cropped from the full
transposed output starting at the 'same' conv's front padding. PyTorch's ``padding`` crops both
ends equally and ``output_padding`` re-extends the end, which covers every case except an odd
'same' total with no remainder (kernel 3, stride 2), where one more element is cropped at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from petri.layers._layer import LazyLayer, materialize
from petri.layers._padding import check_padding, output_size, pad_argument, same_pads
from petri.layers._validation import check_rank, positive_int, positive_ints
from petri.layers.activations import get_activation
from petri.layers.conv import _FILTER_ARGS, _KERNEL_ARGS
from petri.layers.core import callable_name

__all__ = ["Conv2dTranspose", "Conv3dTranspose"]

_ARGS = (
    _FILTER_ARGS
    + """\
        output_shape: the output's spatial size (``[height, width]``), optionally with the
            channels first (``[num_filter, height, width]``) or last as in TF; None gives
            ``size * stride`` for 'same' and ``(size - 1) * stride + filter_size`` for 'valid'.
        strides: the stride, an int or one per axis.
        padding: ``'same'`` or ``'valid'`` (any case), as in TF.
"""
    + _KERNEL_ARGS
)


class _ConvTransposeNd(LazyLayer):
    """An N-d transposed convolution; input channels come from the first input."""

    _ndim: ClassVar[int]
    _layout: ClassVar[str]
    _conv: ClassVar[Callable[..., torch.Tensor]]

    def __init__(
        self,
        mode: str | None = None,
        num_filter: int | None = None,
        filter_size: int | tuple[int, ...] | None = None,
        output_shape: Sequence[int] | None = None,
        strides: int | tuple[int, ...] = 1,
        padding: str = "same",
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
        self.same = check_padding(layer, padding)
        self.padding = "same" if self.same else "valid"
        self.output_shape = self._spatial_output_shape(output_shape)
        self.in_channels = 0
        self.activation_fn = get_activation(activation, feature_dim=1)
        self._size: torch.Size | None = None
        self._padding: tuple[int, ...] = ()
        self._output_padding: tuple[int, ...] = ()
        self._crop: list[int] | None = None
        self._add_weight_and_bias(weights_init, bias, bias_init, self.num_filter)

    def _spatial_output_shape(self, output_shape: Sequence[int] | None) -> tuple[int, ...] | None:
        if output_shape is None:
            return None
        shape = list(output_shape)
        if len(shape) == self._ndim + 1:
            if shape[0] == self.num_filter:
                shape = shape[1:]
            elif shape[-1] == self.num_filter:
                shape = shape[:-1]
        if len(shape) != self._ndim:
            raise ValueError(
                f"{type(self).__name__} expected output_shape to hold {self._ndim} spatial sizes, "
                f"optionally with num_filter={self.num_filter} first or last. "
                f"Received: output_shape={list(output_shape)}"
            )
        return positive_ints(type(self).__name__, "output_shape", shape, self._ndim)

    def initialize_parameters(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> None:
        check_rank(type(self).__name__, x.shape, self._ndim + 2, self._layout)
        self.in_channels = x.shape[1]
        shape = (self.in_channels, self.num_filter, *self.filter_size)
        materialize(self.weight, shape, self._weights_init)

    def _resolve(self, size: torch.Size) -> None:
        """Work out padding, output padding and end crop for inputs of spatial ``size``."""
        padding, output_padding, crop = [], [], []
        for axis, (n, k, s) in enumerate(zip(size, self.filter_size, self.strides)):
            if self.output_shape is not None:
                out = self.output_shape[axis]
            else:
                out = n * s if self.same else (n - 1) * s + k
            if output_size(out, k, s, 1, self.same) != n:
                raise ValueError(
                    f"{type(self).__name__} expected output_shape to be one that a "
                    f"{self.padding!r} convolution with strides {self.strides} maps to the input "
                    f"size {tuple(size)}. Received: output_shape={self.output_shape}"
                )
            before = same_pads(out, k, s)[0] if self.same else 0
            extra = out - ((n - 1) * s + k - 2 * before)  # in [-1, s - 1]
            padding.append(before)
            output_padding.append(max(extra, 0))
            crop.append((0, min(extra, 0)))
        self._padding, self._output_padding = tuple(padding), tuple(output_padding)
        self._crop = pad_argument(crop) if any(c for _, c in crop) else None
        self._size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[2:] != self._size:
            self._resolve(x.shape[2:])
        out = self._conv(
            x, self.weight, self.bias, self.strides, self._padding, self._output_padding
        )
        if self._crop is not None:
            out = F.pad(out, self._crop)
        return self.activation_fn(out)

    def extra_repr(self) -> str:
        return (
            f"in_channels={self.in_channels}, num_filter={self.num_filter}, "
            f"filter_size={self.filter_size}, strides={self.strides}, padding={self.padding!r}, "
            f"output_shape={self.output_shape}, activation={callable_name(self.activation_fn)}"
        )


class Conv2dTranspose(_ConvTransposeNd):
    __doc__ = "A 2-d transposed convolution (deconvolution) on NCHW inputs." + _ARGS
    _ndim = 2
    _layout = "[batch, channels, height, width]"
    _conv = staticmethod(F.conv_transpose2d)


class Conv3dTranspose(_ConvTransposeNd):
    __doc__ = "A 3-d transposed convolution on NCDHW inputs." + _ARGS
    _ndim = 3
    _layout = "[batch, channels, depth, height, width]"
    _conv = staticmethod(F.conv_transpose3d)
