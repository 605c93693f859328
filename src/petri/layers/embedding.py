"""Embedding: a lookup table of ``input_dim`` vectors of size ``output_dim``."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from petri.layers._layer import Layer
from petri.layers._validation import positive_int
from petri.layers.initializers import get_initializer

__all__ = ["Embedding", "embedding_tables"]


class Embedding(Layer):
    """Map integer ids [N, ...] to vectors [N, ..., output_dim].

    The vocabulary size is a property of the data, not of the input tensor, so it is required.

    Args:
        mode: a ``ModeKeys`` value, or None.
        input_dim: the vocabulary size; ids must lie in ``[0, input_dim)``.
        output_dim: the size of each vector.
        weights_init: an initializer name, number or callable for the table.
        regularizer: a regularizer name or callable applied to the table, or None.
        scale: the regularizer's scale.
        trainable: False freezes the table.
        restore: False keeps the table out of ``load_state_dict``.
        name: the layer's name in its graph scope.

    Example:
        >>> import torch
        >>> Embedding(input_dim=10, output_dim=4)(torch.tensor([[1, 2, 3]])).shape
        torch.Size([1, 3, 4])
    """

    def __init__(
        self,
        mode: str | None = None,
        input_dim: int | None = None,
        output_dim: int | None = None,
        weights_init: Any = "truncated_normal",
        regularizer: Any = None,
        scale: float = 0.001,
        trainable: bool = True,
        restore: bool = True,
        name: str | None = None,
    ) -> None:
        super().__init__(
            mode, name, trainable=trainable, restore=restore, regularizer=regularizer, scale=scale
        )
        self.input_dim = positive_int("Embedding", "input_dim", input_dim)
        self.output_dim = positive_int("Embedding", "output_dim", output_dim)
        self.weight = self._new_parameter(self.input_dim, self.output_dim)
        get_initializer(weights_init)(self.weight)
        self._regularized = ("weight",)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.is_floating_point():  # the seed's pipelines often hand ids over as floats
            ids = ids.long()
        return F.embedding(ids, self.weight)

    def extra_repr(self) -> str:
        return f"input_dim={self.input_dim}, output_dim={self.output_dim}"


def embedding_tables(module: torch.nn.Module) -> list[torch.nn.Parameter]:
    """The trainable embedding tables in ``module``: what ``clip_embed_gradients`` clips."""
    return [
        sub.weight
        for sub in module.modules()
        if isinstance(sub, Embedding | torch.nn.Embedding) and sub.weight.requires_grad
    ]
