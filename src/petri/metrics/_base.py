"""The streaming-metric contract and the input conventions shared by every metric."""

from __future__ import annotations

import abc
from typing import Any

import torch
from torch import Tensor

__all__ = ["StreamingMetric", "align_labels", "as_float", "scalar_or_tensor"]


class StreamingMetric(abc.ABC):
    """A metric accumulated over batches, like TF's ``streaming_*`` (value, update_op) pairs.

    Contract:
        - ``update(outputs, labels)`` adds one batch; ``outputs`` are the model's outputs and
          ``labels`` the batch's labels. Inputs are detached; gradients are never tracked.
        - ``compute()`` returns the value over every batch since the last ``reset()`` without
          changing the state; a Python float for scalar results, a Tensor otherwise. Before
          any update it returns NaN.
        - ``reset()`` forgets every batch (the object stays configured).

    Instances are not thread-safe; use one per evaluation loop.
    """

    @abc.abstractmethod
    def update(self, outputs: Tensor, labels: Tensor) -> None:
        """Accumulate one batch."""

    @abc.abstractmethod
    def compute(self) -> float | Tensor:
        """The metric over all batches seen since the last reset."""

    @abc.abstractmethod
    def reset(self) -> None:
        """Forget all accumulated batches."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def scalar_or_tensor(value: Any) -> float | Tensor:
    """A Python float for one-element results, the tensor otherwise."""
    if isinstance(value, Tensor):
        return float(value.item()) if value.numel() == 1 else value.detach()
    return float(value)


def align_labels(outputs: Tensor, labels: Tensor, what: str) -> Tensor:
    """Labels with the outputs' shape; refuses to broadcast ``[N, 1]`` against ``[N]``.

    Raises:
        ValueError: the element counts differ (the message names both shapes).
    """
    if labels.shape != outputs.shape:
        if labels.numel() != outputs.numel():
            raise ValueError(
                f"{what} expected labels with the outputs' shape {tuple(outputs.shape)} (or the "
                f"same number of elements); received labels of shape {tuple(labels.shape)}."
            )
        labels = labels.reshape(outputs.shape)
    return labels


def as_float(tensor: Tensor) -> Tensor:
    """Detached floating-point view (float64 stays float64)."""
    tensor = tensor.detach()
    return tensor if tensor.is_floating_point() else tensor.to(torch.get_default_dtype())
