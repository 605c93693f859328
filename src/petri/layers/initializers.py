"""Weight initializers by name, with the seed's (TensorFlow's) names and defaults.

Each entry fills a tensor in place and returns it. Fans follow PyTorch's weight layout
(``[out, in, *kernel]``): ``fan_in = in * prod(kernel)``, which is what TF computed from its
``[*kernel, in, out]`` layout, so the scales match the seed's.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from petri.registry import Registry

__all__ = [
    "INITIALIZERS",
    "constant",
    "get_initializer",
    "normal",
    "ones",
    "orthogonal",
    "truncated_normal",
    "uniform",
    "uniform_scaling",
    "variance_scaling",
    "xavier",
    "xavier_normal",
    "zeros",
]

Initializer = Callable[[torch.Tensor], torch.Tensor]


def _fans(tensor: torch.Tensor) -> tuple[int, int]:
    """(fan_in, fan_out); a 1-d tensor (a bias) counts its length for both."""
    if tensor.dim() < 2:
        size = max(tensor.numel(), 1)
        return size, size
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


@torch.no_grad()
def zeros(tensor: torch.Tensor) -> torch.Tensor:
    """All zeros (the seed's default for biases)."""
    return tensor.zero_()


@torch.no_grad()
def ones(tensor: torch.Tensor) -> torch.Tensor:
    """All ones."""
    return tensor.fill_(1.0)


@torch.no_grad()
def constant(tensor: torch.Tensor, value: float = 0.0) -> torch.Tensor:
    """Every entry ``value``; a number given as ``weights_init``/``bias_init`` means this."""
    return tensor.fill_(value)


@torch.no_grad()
def uniform(tensor: torch.Tensor, minval: float = -0.05, maxval: float = 0.05) -> torch.Tensor:
    """Uniform in ``[minval, maxval)``; TF's ``[0, 1)`` default is too wide for weights."""
    return tensor.uniform_(minval, maxval)


@torch.no_grad()
def uniform_scaling(tensor: torch.Tensor, factor: float = 1.0) -> torch.Tensor:
    """TF's ``uniform_unit_scaling``: uniform in ``±factor * sqrt(3 / fan_in)``, variance kept."""
    bound = factor * math.sqrt(3.0 / _fans(tensor)[0])
    return tensor.uniform_(-bound, bound)


@torch.no_grad()
def normal(tensor: torch.Tensor, mean: float = 0.0, stddev: float = 0.02) -> torch.Tensor:
    """Normal with the seed's default stddev of 0.02."""
    return tensor.normal_(mean, stddev)


@torch.no_grad()
def truncated_normal(
    tensor: torch.Tensor, mean: float = 0.0, stddev: float = 0.02
) -> torch.Tensor:
    """Normal cut at two standard deviations, as TF's ``truncated_normal``."""
    return nn.init.trunc_normal_(tensor, mean, stddev, mean - 2 * stddev, mean + 2 * stddev)


@torch.no_grad()
def xavier(tensor: torch.Tensor, uniform: bool = True) -> torch.Tensor:
    """Glorot/Xavier: variance ``2 / (fan_in + fan_out)``; uniform by default as in TF."""
    fan_in, fan_out = _fans(tensor)
    if uniform:
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        return tensor.uniform_(-bound, bound)
    return tensor.normal_(0.0, math.sqrt(2.0 / (fan_in + fan_out)))


@torch.no_grad()
def xavier_normal(tensor: torch.Tensor) -> torch.Tensor:
    """Glorot/Xavier normal."""
    return xavier(tensor, uniform=False)


@torch.no_grad()
def variance_scaling(
    tensor: torch.Tensor, factor: float = 2.0, mode: str = "fan_in", uniform: bool = False
) -> torch.Tensor:
    """TF's ``variance_scaling_initializer`` (He init with the defaults).

    Args:
        tensor: the tensor to fill.
        factor: the variance scale (2.0 suits ReLU).
        mode: ``'fan_in'``, ``'fan_out'`` or ``'fan_avg'``.
        uniform: uniform in ``±sqrt(3 * factor / n)`` instead of TF's truncated normal with
            stddev ``sqrt(1.3 * factor / n)``.
    """
    fan_in, fan_out = _fans(tensor)
    fans = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}
    key = mode.lower()
    if key not in fans:
        raise ValueError(
            f"variance_scaling expected mode to be one of {sorted(fans)}. Received: mode={mode!r}"
        )
    if uniform:
        bound = math.sqrt(3.0 * factor / fans[key])
        return tensor.uniform_(-bound, bound)
    stddev = math.sqrt(1.3 * factor / fans[key])
    return nn.init.trunc_normal_(tensor, 0.0, stddev, -2 * stddev, 2 * stddev)


@torch.no_grad()
def orthogonal(tensor: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """(Semi-)orthogonal matrix, reshaped to the tensor (Saxe et al., 2013)."""
    return nn.init.orthogonal_(tensor, gain)


INITIALIZERS: Registry[Initializer] = Registry(
    "initializer",
    {
        "zeros": zeros,
        "ones": ones,
        "constant": constant,
        "uniform": uniform,
        "uniform_scaling": uniform_scaling,
        "normal": normal,
        "truncated_normal": truncated_normal,
        "xavier": xavier,
        "glorot_uniform": xavier,
        "xavier_normal": xavier_normal,
        "glorot_normal": xavier_normal,
        "variance_scaling": variance_scaling,
        "he_normal": variance_scaling,
        "orthogonal": orthogonal,
    },
    home="petri.layers.INITIALIZERS",
)


def get_initializer(
    identifier: str | float | Initializer | None, default: str = "xavier", **kwargs: Any
) -> Initializer:
    """Resolve an initializer name (any case), number or callable to an in-place fill function.

    Args:
        identifier: a name in :data:`INITIALIZERS`, a number (a constant fill), a callable
            ``tensor -> tensor`` (returned as is), or None for ``default``.
        default: the name used for None; ``'xavier'`` is TF's default for variables.
        **kwargs: arguments bound to a named initializer (``stddev=0.1``).

    Raises:
        UnknownNameError: the name is not registered.
        TypeError: ``identifier`` is none of the above.

    Example:
        >>> import torch
        >>> get_initializer("constant", value=0.5)(torch.empty(2))
        tensor([0.5000, 0.5000])
    """
    if identifier is None:
        identifier = default
    if isinstance(identifier, numbers.Real) and not isinstance(identifier, bool):
        return functools.partial(constant, value=float(identifier))
    initializer = INITIALIZERS.get(identifier)  # type: ignore[arg-type]
    if not callable(initializer):
        raise TypeError(
            "get_initializer expected an initializer name, a number or a callable. "
            f"Received: {identifier!r}"
        )
    return functools.partial(initializer, **kwargs) if kwargs else initializer
