"""``Regressor``: real-valued outputs, mean squared error by default."""

from __future__ import annotations

import torch

from petri.models._base import Model

__all__ = ["Regressor"]


class Regressor(Model):
    """A regression model; predictions are ``{"results": outputs}``."""

    default_loss = "mean_squared_error"

    def _build_predictions(self, outputs: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"results": outputs}
