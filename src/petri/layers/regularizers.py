"""Weight regularizers by name, with TensorFlow's formulas (``l2 = scale * sum(w**2) / 2``).

A layer given ``regularizer='l2_regularizer', scale=0.001`` resolves it once with
:func:`get_regularizer` and yields ``(weight, regularizer)`` from ``regularization_terms()``;
``petri.layers.regularization_loss(model)`` sums the penalties.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import torch

from petri.registry import Registry

__all__ = ["REGULARIZERS", "L1L2Regularizer", "L1Regularizer", "L2Regularizer", "get_regularizer"]

Regularizer = Callable[[torch.Tensor], torch.Tensor]


class L1Regularizer:
    """``scale * sum(|w|)``.

    Args:
        scale: the penalty's weight.
    """

    def __init__(self, scale: float = 0.001) -> None:
        self.scale = scale

    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        return self.scale * weight.abs().sum()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scale={self.scale})"


class L2Regularizer(L1Regularizer):
    """``scale * sum(w**2) / 2``, TF's ``l2_regularizer`` (``tf.nn.l2_loss`` halves the sum)."""

    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        return self.scale * weight.square().sum() / 2


class L1L2Regularizer(L1Regularizer):
    """The L1 plus the L2 penalty, both with ``scale``."""

    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        return self.scale * (weight.abs().sum() + weight.square().sum() / 2)


REGULARIZERS: Registry[type[L1Regularizer]] = Registry(
    "regularizer",
    {
        "l1_regularizer": L1Regularizer,
        "l1": L1Regularizer,
        "l2_regularizer": L2Regularizer,
        "l2": L2Regularizer,
        "l2_l1_regularizer": L1L2Regularizer,
        "l1_l2_regularizer": L1L2Regularizer,
        "l1_l2": L1L2Regularizer,
        "l2_l1": L1L2Regularizer,
    },
    home="petri.layers.REGULARIZERS",
)


def get_regularizer(identifier: str | Any | None, scale: float = 0.001) -> Regularizer | None:
    """Resolve a regularizer name (any case) and scale to a callable ``weight -> penalty``.

    Args:
        identifier: a name in :data:`REGULARIZERS`, a regularizer class (built with ``scale``), a
            callable ``weight -> scalar`` (returned as is), or None for no regularization.
        scale: the penalty's weight, a non-negative number.

    Raises:
        UnknownNameError: the name is not registered.
        ValueError: ``scale`` is negative or not a number.
        TypeError: ``identifier`` is none of the above.

    Example:
        >>> import torch
        >>> get_regularizer("l2", scale=0.5)(torch.tensor([2.0]))
        tensor(1.)
    """
    if identifier is None:
        return None
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or scale < 0:
        raise ValueError(
            "get_regularizer expected scale to be a non-negative number. "
            f"Received: scale={scale!r}"
        )
    regularizer = REGULARIZERS.get(identifier)
    if isinstance(regularizer, type):
        return regularizer(float(scale))
    if not callable(regularizer):
        raise TypeError(
            "get_regularizer expected a regularizer name, class or callable. "
            f"Received: {identifier!r}"
        )
    return regularizer
