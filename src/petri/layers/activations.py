"""Activations by name, as the seed's ``activation='relu'`` arguments expect.

Entries are plain functions (from ``torch``/``torch.nn.functional``), so a layer resolves its
activation once in ``__init__`` and its forward pays one function call. ``prelu`` is learnable:
its entry is the ``nn.PReLU`` class, and :func:`get_activation` returns a fresh module that the
layer then owns (its slope appears in the layer's ``state_dict`` as ``activation_fn.weight``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from petri.registry import Registry

__all__ = ["ACTIVATIONS", "crelu", "get_activation", "leaky_relu", "linear", "softmax"]

Activation = Callable[[torch.Tensor], torch.Tensor]


def linear(x: torch.Tensor) -> torch.Tensor:
    """Identity: the seed's default ``activation='linear'``."""
    return x


def softmax(x: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis (TF's default axis, the feature axis of [N, F] and [N, T, F])."""
    return F.softmax(x, dim=-1)


def crelu(x: torch.Tensor) -> torch.Tensor:
    """Concatenated ReLU, ``[relu(x), relu(-x)]`` on the feature axis: doubles the features."""
    return torch.cat((torch.relu(x), torch.relu(-x)), dim=-1)


def leaky_relu(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU with the seed's slope of 0.1 (torch's default is 0.01)."""
    return F.leaky_relu(x, 0.1)


def _channel_softmax(x: torch.Tensor) -> torch.Tensor:
    return F.softmax(x, dim=1)


def _channel_crelu(x: torch.Tensor) -> torch.Tensor:
    return torch.cat((torch.relu(x), torch.relu(-x)), dim=1)


ACTIVATIONS: Registry[Any] = Registry(
    "activation",
    {
        "linear": linear,
        "identity": linear,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "softmax": softmax,
        "softplus": F.softplus,
        "softsign": F.softsign,
        "relu": torch.relu,
        "relu6": F.relu6,
        "leaky_relu": leaky_relu,
        "prelu": nn.PReLU,
        "elu": F.elu,
        "selu": F.selu,
        "gelu": F.gelu,
        "crelu": crelu,
        "swish": F.silu,
        "silu": F.silu,
    },
    home="petri.layers.ACTIVATIONS",
)

# Layers whose features sit on axis 1 (NC... maps) need these two on axis 1, not the last axis.
_ON_CHANNELS: dict[Any, Activation] = {softmax: _channel_softmax, crelu: _channel_crelu}


def get_activation(identifier: str | Callable[..., Any] | None, *, feature_dim: int = -1) -> Any:
    """Resolve an activation name (any case), callable or ``nn.Module`` class to a callable.

    Args:
        identifier: a name in :data:`ACTIVATIONS`, a callable (returned as is), an ``nn.Module``
            class (instantiated with no arguments), or None for ``linear``.
        feature_dim: the axis the layer's features are on: -1 for [N, F] and [N, T, F] outputs,
            1 for channel-first maps; ``softmax`` and ``crelu`` act on that axis.

    Returns:
        A callable ``tensor -> tensor``; an ``nn.Module`` for learnable activations.

    Raises:
        UnknownNameError: the name is not registered.
        TypeError: ``identifier`` is neither a name nor callable.

    Example:
        >>> import torch
        >>> get_activation("ReLU")(torch.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """
    if identifier is None:
        return linear
    activation = ACTIVATIONS.get(identifier)
    if isinstance(activation, type) and issubclass(activation, nn.Module):
        return activation()
    if not callable(activation):
        raise TypeError(
            "get_activation expected an activation name, a callable or an nn.Module class. "
            f"Received: {identifier!r}"
        )
    if feature_dim == 1:
        return _ON_CHANNELS.get(activation, activation)
    return activation
