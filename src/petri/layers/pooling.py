"""Pooling with TF padding: Max/AvgPool1d/2d/3d, GlobalMaxPool, GlobalAvgPool.

TF's 'same' pooling ignores the padded positions: max pooling pads with -inf and average pooling
divides by the number of real elements in each window (``count_include_pad=False``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from petri.layers._base import GraphModule
from petri.layers._padding import check_padding, settle_padding
from petri.layers._validation import positive_ints

__all__ = [
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "GlobalAvgPool",
    "GlobalMaxPool",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
]

_ARGS = """

    Args:
        mode: a ``ModeKeys`` value, or None.
        kernel_size: the window size, an int or one per spatial axis.
        strides: the stride, an int or one per axis; None means ``kernel_size``.
        padding: ``'same'`` (output ``ceil(size / stride)``, padded positions ignored, as TF)
            or ``'valid'``, any case.
        name: the layer's name in its graph scope.
"""


class _PoolNd(GraphModule):
    """An N-d pooling window with TF padding; padding is settled in ``__init__``."""

    _ndim: ClassVar[int]

    def __init__(
        self,
        mode: str | None = None,
        kernel_size: int | tuple[int, ...] | None = None,
        strides: int | tuple[int, ...] | None = None,
        padding: str = "same",
        name: str | None = None,
    ) -> None:
        super().__init__(mode=mode, name=name)
        layer = type(self).__name__
        self.kernel_size = positive_ints(layer, "kernel_size", kernel_size, self._ndim)
        self.strides = (
            self.kernel_size
            if strides is None
            else positive_ints(layer, "strides", strides, self._ndim)
        )
        same = check_padding(layer, padding)
        self.padding = "same" if same else "valid"
        self._padding, self._pad, self._same = settle_padding(
            same, self.kernel_size, self.strides, (1,) * self._ndim
        )
        self._divisor_key: tuple[Any, ...] | None = None  # average pooling's cache
        self._divisor: torch.Tensor | None = None

    def _padding_for(self, x: torch.Tensor) -> tuple[tuple[int, ...], list[int] | None]:
        if self._same is not None:
            return self._same.resolve(x.shape[2:])
        return self._padding, self._pad

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, strides={self.strides}, padding={self.padding!r}"


class _MaxPoolNd(_PoolNd):
    _pool: ClassVar[Callable[..., torch.Tensor]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padding, pad = self._padding_for(x)
        if pad is not None:
            x = F.pad(x, pad, value=float("-inf"))
        return self._pool(x, self.kernel_size, self.strides, padding)


class _AvgPoolNd(_PoolNd):
    _pool: ClassVar[Callable[..., torch.Tensor]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padding, pad = self._padding_for(x)
        if pad is None:
            return self._pool(x, self.kernel_size, self.strides, padding, False, False)
        pooled = self._pool(F.pad(x, pad), self.kernel_size, self.strides, 0, False, True)
        return pooled / self._real_fraction(x, pad)

    def _real_fraction(self, x: torch.Tensor, pad: list[int]) -> torch.Tensor:
        """The share of real (unpadded) elements in each window, cached per input size."""
        key = (x.shape[2:], tuple(pad), x.dtype, x.device)
        if key != self._divisor_key:
            ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
            self._divisor = self._pool(F.pad(ones, pad), self.kernel_size, self.strides, 0)
            self._divisor_key = key
        return self._divisor  # type: ignore[return-value]


class MaxPool1d(_MaxPoolNd):
    __doc__ = "Max pooling over [batch, channels, length] inputs." + _ARGS
    _ndim = 1
    _pool = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    __doc__ = "Max pooling over NCHW inputs: ``MaxPool2d(mode, kernel_size=2)``." + _ARGS
    _ndim = 2
    _pool = staticmethod(F.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    __doc__ = "Max pooling over NCDHW inputs." + _ARGS
    _ndim = 3
    _pool = staticmethod(F.max_pool3d)


class AvgPool1d(_AvgPoolNd):
    __doc__ = "Average pooling over [batch, channels, length] inputs." + _ARGS
    _ndim = 1
    _pool = staticmethod(F.avg_pool1d)


class AvgPool2d(_AvgPoolNd):
    __doc__ = "Average pooling over NCHW inputs." + _ARGS
    _ndim = 2
    _pool = staticmethod(F.avg_pool2d)


class AvgPool3d(_AvgPoolNd):
    __doc__ = "Average pooling over NCDHW inputs." + _ARGS
    _ndim = 3
    _pool = staticmethod(F.avg_pool3d)


class GlobalMaxPool(GraphModule):
    """The maximum over every spatial axis: [N, C, ...] -> [N, C]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).amax(2)


class GlobalAvgPool(GraphModule):
    """The mean over every spatial axis: [N, C, ...] -> [N, C]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).mean(2)
