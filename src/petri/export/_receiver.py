"""What an exported model takes as input: the seed's ``ServingInputReceiver``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

__all__ = ["ServingInputReceiver", "build_raw_serving_input_receiver_fn"]


@dataclass
class ServingInputReceiver:
    """The inputs a served model receives and the features its ``model_fn`` gets from them.

    Args:
        features: what the ``model_fn`` is called with: a tensor, a dict of tensors, or a
            callable ``receiver_tensors -> features`` (a preprocessing step that is exported
            with the model). None means the receiver tensors themselves (a single one is passed
            as a bare tensor).
        receiver_tensors: name -> an example tensor of what clients send, batch dimension
            first; the example's batch size does not matter (it is exported as dynamic), its
            other dimensions and dtype are fixed. A bare tensor is named ``input``.
    """

    features: Any
    receiver_tensors: Mapping[str, torch.Tensor] | torch.Tensor

    def __post_init__(self) -> None:
        tensors = self.receiver_tensors
        if isinstance(tensors, torch.Tensor | np.ndarray):
            tensors = {"input": tensors}
        if not isinstance(tensors, Mapping) or not tensors:
            raise ValueError(
                "ServingInputReceiver expected receiver_tensors to be a tensor or a non-empty "
                f"dict of name -> tensor. Received: {type(self.receiver_tensors).__name__}."
            )
        converted: dict[str, torch.Tensor] = {}
        for name, value in tensors.items():
            tensor = torch.as_tensor(value)
            if tensor.dim() < 1:
                raise ValueError(
                    f"ServingInputReceiver expected receiver tensor {name!r} to have a batch "
                    f"dimension first. Received shape {tuple(tensor.shape)}."
                )
            converted[str(name)] = tensor
        self.receiver_tensors = converted

    def features_of(self, tensors: Mapping[str, torch.Tensor]) -> Any:
        """The ``model_fn`` features for received ``tensors``."""
        if callable(self.features):
            return self.features(dict(tensors))
        if self.features is None:
            return next(iter(tensors.values())) if len(tensors) == 1 else dict(tensors)
        return _substitute(self.features, self.receiver_tensors, tensors)


def build_raw_serving_input_receiver_fn(
    features: Mapping[str, Any] | Any, default_batch_size: int | None = None
) -> Callable[[], ServingInputReceiver]:
    """A receiver fn whose clients send the features themselves (TF's raw receiver).

    ``features`` is an example batch (a tensor or array, or a dict of them): its dtypes and
    per-example shapes are what the export accepts. ``default_batch_size`` cuts the example
    to that many rows (the exported batch dimension stays dynamic either way).
    """

    def example(value: Any) -> torch.Tensor:
        tensor = torch.as_tensor(value)
        if tensor.dtype == torch.float64:
            tensor = tensor.float()
        return tensor[:default_batch_size] if default_batch_size else tensor

    def receiver_fn() -> ServingInputReceiver:
        if isinstance(features, Mapping):
            tensors = {name: example(value) for name, value in features.items()}
            return ServingInputReceiver(dict(tensors), tensors)
        tensor = example(features)
        return ServingInputReceiver(tensor, {"input": tensor})

    return receiver_fn


def _substitute(
    features: Any, examples: Mapping[str, torch.Tensor], tensors: Mapping[str, torch.Tensor]
) -> Any:
    """``features`` with each example receiver tensor replaced by the received one."""
    by_id = {id(example): tensors[name] for name, example in examples.items()}
    if isinstance(features, torch.Tensor):
        if id(features) in by_id:
            return by_id[id(features)]
    elif isinstance(features, Mapping):
        return {key: _substitute(value, examples, tensors) for key, value in features.items()}
    raise ValueError(
        "ServingInputReceiver features must be receiver tensors (the same tensor objects), a "
        "dict of them, or a callable receiver_tensors -> features; a feature computed outside "
        "would be frozen into the export."
    )
