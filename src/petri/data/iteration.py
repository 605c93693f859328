"""Normalising what an ``input_fn`` returns into an iterator of ``(features, labels)`` batches."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from petri.training.devices import move_to_device

__all__ = ["Batch", "batch_size_of", "iterate_input", "move_to_device", "to_channels_last"]

Batch = tuple[Any, Any]


def _is_features(value: Any) -> bool:
    return isinstance(value, torch.Tensor | np.ndarray | dict)


def _as_tensors(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        tensor = torch.from_numpy(value)
        return tensor.float() if tensor.dtype == torch.float64 else tensor
    if isinstance(value, dict):
        return {k: _as_tensors(v) for k, v in value.items()}
    return value


def iterate_input(input_fn: Callable[[], Any], *, repeat_single: bool) -> Iterator[Batch]:
    """Call ``input_fn`` and return an iterator of ``(features, labels)`` batches.

    ``input_fn`` may return an iterable of batches (each ``(features, labels)`` or bare
    features), or one ``(features, labels)`` pair of tensors, which is a single batch: repeated
    forever when ``repeat_single`` (training, as a TF constant input would be), else used once.
    """
    if not callable(input_fn):
        raise TypeError(
            f"input_fn must be a callable returning batches; received {type(input_fn).__name__}. "
            "Wrap arrays with petri.data.numpy_input_fn(x, y)."
        )
    result = input_fn()
    if isinstance(result, tuple) and len(result) == 2 and _is_features(result[0]):
        batch = (_as_tensors(result[0]), _as_tensors(result[1]))
        return itertools.repeat(batch) if repeat_single else iter([batch])
    if _is_features(result):
        batch = (_as_tensors(result), None)
        return itertools.repeat(batch) if repeat_single else iter([batch])
    try:
        iterator = iter(result)
    except TypeError:
        raise TypeError(
            f"input_fn returned {type(result).__name__}, which is neither a (features, labels) "
            "pair nor an iterable of batches."
        ) from None
    return _pairs(iterator) if not hasattr(iterator, "state_dict") else iterator


def _pairs(iterator: Iterator[Any]) -> Iterator[Batch]:
    for item in iterator:
        if isinstance(item, tuple | list) and len(item) == 2:
            yield _as_tensors(item[0]), _as_tensors(item[1])
        else:
            yield _as_tensors(item), None


def batch_size_of(features: Any) -> int:
    """Examples in a batch of features (a tensor or a dict of tensors)."""
    if isinstance(features, dict):
        features = next(iter(features.values()))
    return int(features.shape[0]) if hasattr(features, "shape") and features.dim() else 1


def to_channels_last(value: Any) -> Any:
    """4-d floating-point tensors (and dicts of them) in channels-last memory order; the values
    and shapes are unchanged, only the strides."""
    if isinstance(value, torch.Tensor):
        if value.dim() == 4 and value.is_floating_point():
            return value.contiguous(memory_format=torch.channels_last)
        return value
    if isinstance(value, dict):
        return {k: to_channels_last(v) for k, v in value.items()}
    return value
