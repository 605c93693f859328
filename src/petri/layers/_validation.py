"""Argument checks shared by the layers, so every layer words its errors the same way."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

__all__ = ["check_rank", "keep_probability", "positive_int", "positive_ints"]


def positive_int(layer: str, arg: str, value: Any) -> int:
    """Return ``value`` as an int, or raise a ValueError naming the layer and the argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(
            f"{layer} expected {arg} to be a positive integer. Received: {arg}={value!r}"
        )
    return int(value)


def positive_ints(layer: str, arg: str, value: Any, ndim: int) -> tuple[int, ...]:
    """Expand an int or a sequence to ``ndim`` positive ints.

    A TF-style full-rank sequence (``[1, 2, 2, 1]`` for a 2-d op) is accepted too: its batch and
    channel entries must be 1 and are dropped, so seed configs keep working.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        values: Sequence[Any] = (value,) * ndim
    elif isinstance(value, Sequence) and not isinstance(value, str):
        values = list(value)
        if len(values) == ndim + 2 and values[0] == 1 and values[-1] == 1:
            values = values[1:-1]
        if len(values) == 1:
            values = values * ndim
    else:
        values = ()
    if len(values) != ndim:
        raise ValueError(
            f"{layer} expected {arg} to be a positive integer or a sequence of {ndim} positive "
            f"integers. Received: {arg}={value!r}"
        )
    return tuple(positive_int(layer, arg, v) for v in values)


def keep_probability(layer: str, arg: str, value: Any) -> float:
    """Return ``value`` as a float keep probability in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value <= 1:
        raise ValueError(
            f"{layer} expected {arg} to be a keep probability in (0, 1]. Received: {arg}={value!r}"
        )
    return float(value)


def check_rank(layer: str, shape: Sequence[int], rank: int, layout: str) -> None:
    """Raise a ValueError unless ``shape`` has the ``rank`` dimensions that ``layout`` names."""
    if len(shape) != rank:
        raise ValueError(
            f"{layer} expected a {rank}-d input {layout}. Received shape {tuple(shape)}"
        )
