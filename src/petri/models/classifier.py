"""``Classifier``: logits out, softmax cross-entropy by default, class predictions."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from petri.models._base import Model

__all__ = ["Classifier"]


class Classifier(Model):
    """A classification model.

    Args:
        n_classes: number of classes (needed by multiclass metrics and one-hot encoding).
        one_hot_encode: labels arrive as class indices; they are one-hot encoded for losses that
            need it (softmax cross-entropy takes indices directly, which is faster).
        **kwargs: see :class:`Model`.

    Predictions: ``logits``, ``probabilities`` and ``classes``.
    """

    default_loss = "softmax_cross_entropy"

    def __init__(
        self,
        mode: str | None = None,
        graph_fn: Any = None,
        n_classes: int | None = None,
        one_hot_encode: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(mode, graph_fn=graph_fn, n_classes=n_classes, **kwargs)
        self.one_hot_encode = one_hot_encode
        identifier = getattr(self.loss_config, "identifier", None)
        self._needs_one_hot = bool(one_hot_encode) and not (
            isinstance(identifier, str) and "softmax" in identifier.lower()
        )
        if self._needs_one_hot and not n_classes:
            raise ValueError("Classifier with one_hot_encode=True needs n_classes.")

    def _prepare_labels(self, labels: Any) -> Any:
        if labels.dim() == 2 and labels.shape[1] == 1 and not labels.is_floating_point():
            labels = labels.squeeze(1)
        if self._needs_one_hot and not labels.is_floating_point():
            return F.one_hot(labels.long(), self.n_classes).to(torch.float32)
        return labels

    def _build_predictions(self, outputs: torch.Tensor) -> dict[str, torch.Tensor]:
        if outputs.dim() == 1 or outputs.shape[-1] == 1:
            probabilities = torch.sigmoid(outputs)
            classes = (probabilities > 0.5).long().reshape(outputs.shape[0], -1).squeeze(-1)
        else:
            probabilities = torch.softmax(outputs, dim=-1)
            classes = outputs.argmax(dim=-1)
        return {"logits": outputs, "probabilities": probabilities, "classes": classes}
