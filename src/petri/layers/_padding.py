"""TensorFlow's ``'same'``/``'valid'`` padding on PyTorch ops.

TF's ``'same'`` gives ``ceil(size / stride)`` outputs and pads ``total = max((out - 1) * stride +
effective_kernel - size, 0)``: ``total // 2`` before and the rest after, so an odd total puts the
extra element at the end. PyTorch's ``padding=`` argument is symmetric, so the layers use it when
the two sides agree and fall back to ``F.pad`` only when they differ. With stride 1 the total
does not depend on the input size and is settled once in ``__init__``; with larger strides it
does, and :class:`SamePadding` works it out once per input size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = [
    "SamePadding",
    "check_padding",
    "output_size",
    "pad_argument",
    "same_pads",
    "settle_padding",
]

_PADDINGS = ("same", "valid")


def check_padding(layer: str, padding: str) -> bool:
    """Return True for ``'same'``, False for ``'valid'`` (any case); raise ValueError otherwise."""
    value = padding.lower() if isinstance(padding, str) else padding
    if value not in _PADDINGS:
        raise ValueError(
            f"{layer} expected padding to be 'same' or 'valid' (any case). "
            f"Received: padding={padding!r}"
        )
    return value == "same"


def effective_kernel(kernel: int, dilation: int) -> int:
    return (kernel - 1) * dilation + 1


def output_size(size: int, kernel: int, stride: int, dilation: int, same: bool) -> int:
    """TF's output length: ``ceil(size / s)`` for 'same', else ``ceil((size - k + 1) / s)``."""
    if same:
        return -(-size // stride)
    return -(-(size - effective_kernel(kernel, dilation) + 1) // stride)


def same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """(before, after) padding of one axis under TF 'same'."""
    total = max(
        (output_size(size, kernel, stride, dilation, True) - 1) * stride
        + effective_kernel(kernel, dilation)
        - size,
        0,
    )
    return total // 2, total - total // 2


def pad_argument(pairs: Sequence[tuple[int, int]]) -> list[int]:
    """``F.pad``'s argument for per-axis (before, after) pairs given first axis first."""
    flat: list[int] = []
    for before, after in reversed(pairs):
        flat += [before, after]
    return flat


def static_same(
    kernel: Sequence[int], dilation: Sequence[int]
) -> tuple[tuple[int, ...], list[int] | None]:
    """Stride-1 'same' padding: (symmetric ``padding=``, or zeros plus an ``F.pad`` argument)."""
    pairs = [same_pads(1, k, 1, d) for k, d in zip(kernel, dilation)]  # size-independent
    if all(before == after for before, after in pairs):
        return tuple(before for before, _ in pairs), None
    return (0,) * len(pairs), pad_argument(pairs)


class SamePadding:
    """TF 'same' padding for strided ops, worked out once per input size.

    Args:
        kernel: kernel size per spatial axis.
        stride: stride per spatial axis.
        dilation: dilation per spatial axis.
    """

    def __init__(self, kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int]):
        self.kernel = tuple(kernel)
        self.stride = tuple(stride)
        self.dilation = tuple(dilation)
        self._size: torch.Size | None = None
        self._padding: tuple[int, ...] = (0,) * len(self.kernel)
        self._pad: list[int] | None = None

    def resolve(self, size: torch.Size) -> tuple[tuple[int, ...], list[int] | None]:
        """(symmetric ``padding=``, ``F.pad`` argument or None) for spatial ``size``."""
        if size != self._size:
            pairs = [
                same_pads(n, k, s, d)
                for n, k, s, d in zip(size, self.kernel, self.stride, self.dilation)
            ]
            if all(before == after for before, after in pairs):
                self._padding, self._pad = tuple(before for before, _ in pairs), None
            else:
                self._padding, self._pad = (0,) * len(pairs), pad_argument(pairs)
            self._size = size
        return self._padding, self._pad


def settle_padding(
    same: bool, kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int]
) -> tuple[tuple[int, ...], list[int] | None, SamePadding | None]:
    """The padding a windowed op can settle before it sees an input.

    Returns:
        The symmetric ``padding=``, an ``F.pad`` argument or None, and a :class:`SamePadding`
        or None. 'valid' pads nothing and stride-1 'same' does not depend on the input size, so
        only strided 'same' gets the resolver, which works the padding out per input size.
    """
    if not same:
        return (0,) * len(kernel), None, None
    if all(s == 1 for s in stride):
        padding, pad = static_same(kernel, dilation)
        return padding, pad, None
    return (0,) * len(kernel), None, SamePadding(kernel, stride, dilation)
