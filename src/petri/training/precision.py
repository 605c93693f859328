"""Mixed precision for one run: the autocast context of its forward passes and, for float16,
the gradient scaler whose state every checkpoint carries."""

from __future__ import annotations

import contextlib
from typing import Any

import torch

__all__ = ["MixedPrecision", "as_full_precision"]

_DTYPES = {"bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}


class MixedPrecision:
    """``RunConfig.precision`` on ``device``: ``autocast()`` around forward passes and, for
    ``16-mixed``, a ``torch.amp.GradScaler`` (float16's narrow range underflows small
    gradients unless the loss is scaled; bfloat16 has float32's range and needs none)."""

    def __init__(self, precision: str, device: torch.device) -> None:
        self.precision = precision
        self.device_type = device.type
        self.dtype: torch.dtype | None = _DTYPES.get(precision)
        self.scaler: Any = torch.amp.GradScaler(device.type) if precision == "16-mixed" else None

    @property
    def enabled(self) -> bool:
        return self.dtype is not None

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The context forward passes run in (a no-op at full precision)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def state_dict(self) -> dict[str, Any] | None:
        return self.scaler.state_dict() if self.scaler is not None else None

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        """Restore the scaler (a checkpoint of a float32 run has none: the scale starts fresh)."""
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)


def as_full_precision(value: Any) -> Any:
    """bfloat16/float16 tensors (and dicts, tuples of them) as float32: what metrics, numpy
    and the run log read."""
    if isinstance(value, torch.Tensor):
        return value.float() if value.dtype in (torch.bfloat16, torch.float16) else value
    if isinstance(value, dict):
        return {key: as_full_precision(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return type(value)(as_full_precision(item) for item in value)
    return value
