"""Where a run computes: the device a ``run_config.device`` names, and moving batches there.

The Estimator and the RL Agent share these, so a supervised run and an agent on ``cuda`` put the
model, its inputs and (for agents) the replay memory's batches on the same device the same way.
"""

from __future__ import annotations

from typing import Any

import torch

from petri import distributed
from petri.errors import ConfigError

__all__ = ["move_to_device", "resolve_device"]


def resolve_device(name: str) -> torch.device:
    """``auto`` is CUDA when there is one; under a distributed launch a bare ``cuda`` is the
    process's ``LOCAL_RANK`` device.

    Raises:
        ConfigError: the named device is not on this machine (torch's own error would only
            come at the first tensor moved there).
    """
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"run_config.device is {name!r}, but torch sees no CUDA device here (CUDA build: "
            f"{torch.version.cuda or 'no'}). Use 'auto' or 'cpu'.",
            "run_config.device",
            name,
        )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(
            "run_config.device is 'mps', but this machine has no MPS device. Use 'auto' or 'cpu'.",
            "run_config.device",
            name,
        )
    if device.type == "cuda" and device.index is None and distributed.launched():
        return torch.device("cuda", distributed.local_rank())
    return device


def move_to_device(value: Any, device: torch.device) -> Any:
    """Tensors (in dicts, lists, tuples and named tuples) on ``device``; anything else, and
    everything on the CPU, is returned as it is. Host tensors bound for CUDA go through pinned
    memory, so the copy is asynchronous."""
    if device.type == "cpu" or value is None:
        return value
    if isinstance(value, torch.Tensor):
        if device.type == "cuda" and value.device.type == "cpu" and not value.is_pinned():
            value = value.pin_memory()
        return value.to(device, non_blocking=True)
    if isinstance(value, dict):
        return {key: move_to_device(item, device) for key, item in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple batch
        return type(value)(*(move_to_device(item, device) for item in value))
    if isinstance(value, list | tuple):
        return type(value)(move_to_device(item, device) for item in value)
    return value
