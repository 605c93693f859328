"""``EstimatorSpec``: what a ``model_fn`` returns for one call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = ["EstimatorSpec"]


@dataclass
class EstimatorSpec:
    """The outputs of one ``model_fn`` call, as in the seed's Estimator.

    Args:
        mode: the ``ModeKeys`` value the call ran in.
        predictions: a tensor or a dict of tensors, first dimension = examples.
        loss: scalar loss tensor (required for training and evaluation).
        optimizer: how to train: an ``OptimizerConfig``, an optimizer name, a
            ``torch.optim.Optimizer``, or a callable ``params -> Optimizer``. Built once, on the
            first training call; later calls' values are ignored. ``train_op`` is accepted as an
            alias, as seed code names it.
        eval_metric_ops: name -> ``(metric, (outputs, labels))`` pairs that the Estimator updates
            on every evaluation batch and computes at the end, or name -> scalar tensor averaged
            over batches weighted by batch size.
        export_outputs: name -> tensor or dict served by an exported model.
        clip_gradients: clip the global gradient norm to this value before each update.
        clip_embed_gradients: then clip each embedding table's gradient (``petri.layers``
            ``Embedding`` and ``torch.nn.Embedding`` weights) to this norm, as the seed did.
        training_hooks: hooks added to ``train`` while this model trains.
        training_scalars: name -> scalar tensor of a training step that the run log records
            beside the loss on logging steps (a VAE's ``losses/kl``).
    """

    mode: str
    predictions: torch.Tensor | dict[str, torch.Tensor] | None = None
    loss: torch.Tensor | None = None
    optimizer: Any = None
    train_op: Any = None
    eval_metric_ops: dict[str, Any] | None = None
    export_outputs: dict[str, Any] | None = None
    clip_gradients: float | None = None
    clip_embed_gradients: float | None = None
    training_hooks: list[Any] = field(default_factory=list)
    training_scalars: dict[str, Any] | None = None

    @property
    def optimizer_source(self) -> Any:
        """What builds the optimizer: ``optimizer``, else ``train_op``."""
        return self.optimizer if self.optimizer is not None else self.train_op
