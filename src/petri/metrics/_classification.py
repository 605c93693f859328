"""Classification metrics: outputs are class scores, labels are classes.

Input conventions (all metrics here):
    - ``outputs [N, C]`` with C >= 3: multiclass. Logits or probabilities; the argmax is taken
      for you. Precision, recall, AUC, sensitivity/specificity are macro averages over classes
      (classes absent from both predictions and labels are skipped, as sklearn does); true/false
      positives/negatives are summed over classes one-vs-rest.
    - ``outputs [N]``, ``[N, 1]`` or ``[N, 2]``: binary; the positive class is 1 and its
      probability is thresholded at 0.5 (for ``[N, 2]``, the probability of column 1).
    - Logits vs probabilities: ``from_logits=None`` (default) detects per batch: values outside
      [0, 1] (or multiclass rows not summing to 1) are logits and get a sigmoid/softmax.
      A batch of logits that all lie in [0, 1] would be read as probabilities: pass
      ``from_logits=True`` (or False) to fix the interpretation.
    - Labels: class indices ``[N]``/``[N, 1]`` or one-hot rows ``[N, C]`` (argmax is taken);
      binary float labels are positive when >= 0.5.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from petri.metrics._base import StreamingMetric, as_float, scalar_or_tensor

__all__ = [
    "Accuracy",
    "Auc",
    "FalseNegatives",
    "FalsePositives",
    "MeanIou",
    "Precision",
    "PrecisionAtThresholds",
    "Recall",
    "RecallAtK",
    "RecallAtThresholds",
    "SensitivityAtSpecificity",
    "SpecificityAtSensitivity",
    "TrueNegatives",
    "TruePositives",
]


class _ClassificationMetric(StreamingMetric):
    """Turns ``(outputs, labels)`` into (probabilities, class indices) and feeds torchmetrics.

    The torchmetrics object is built on the first update, once the number of classes is known
    (from ``n_classes`` or the outputs' last dimension); later batches must agree.

    Args:
        n_classes: number of classes; None infers it from the outputs.
        from_logits: True/False fixes how outputs are read; None detects per batch.
    """

    # [N, 2] outputs are read as binary (positive = column 1), matching TF's streaming metrics
    # on argmax predictions, which count any nonzero class as positive.
    _two_columns_binary = True

    def __init__(self, n_classes: int | None = None, from_logits: bool | None = None) -> None:
        if n_classes is not None and (not isinstance(n_classes, int) or n_classes < 1):
            raise ValueError(
                f"{type(self).__name__} expected n_classes to be a positive integer or None. "
                f"Received: n_classes={n_classes!r}."
            )
        self.n_classes = n_classes
        self.from_logits = from_logits
        self._metric: Any = None
        self._classes: int | None = None  # None: binary; fixed by the first update

    # -- input conventions ------------------------------------------------------------------
    def _binary_probs(self, scores: Tensor) -> Tensor:
        logits = self.from_logits
        if logits is None:
            logits = bool(scores.min() < 0 or scores.max() > 1)
        return torch.sigmoid(scores) if logits else scores

    def _multiclass_probs(self, scores: Tensor) -> Tensor:
        logits = self.from_logits
        if logits is None:
            logits = bool(
                scores.min() < 0
                or scores.max() > 1
                or not torch.allclose(scores.sum(-1), scores.new_ones(()), atol=1e-3)
            )
        return torch.softmax(scores, dim=-1) if logits else scores

    def _prepare(self, outputs: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, int | None]:
        """(probabilities, int64 targets, n_classes or None for binary)."""
        outputs = as_float(outputs)
        labels = labels.detach()
        columns = outputs.shape[-1] if outputs.dim() > 1 else 1
        binary = columns == 1 or (columns == 2 and self._two_columns_binary)
        expected = self.n_classes
        if expected is not None and (
            (expected > 2 and columns != expected) or (expected <= 2 and columns > 2)
        ):
            raise ValueError(
                f"{type(self).__name__} was built for n_classes={expected} but received outputs "
                f"of shape {tuple(outputs.shape)}; the last dimension should be the classes."
            )
        one_hot = columns > 1 and labels.shape == outputs.shape
        target = labels.argmax(-1) if one_hot else labels
        target = target.reshape(-1)
        if binary:
            scores = outputs.reshape(-1, columns)
            probs = (
                self._multiclass_probs(scores)[:, 1]
                if columns == 2
                else self._binary_probs(scores[:, 0])
            )
            if target.is_floating_point():
                target = target >= 0.5
        else:
            probs = self._multiclass_probs(outputs.reshape(-1, columns))
        if target.numel() != probs.shape[0]:
            raise ValueError(
                f"{type(self).__name__} expected one label per example: outputs of shape "
                f"{tuple(outputs.shape)} need labels of shape {tuple(outputs.shape[:-1])} "
                f"(indices) or {tuple(outputs.shape)} (one-hot); received labels of shape "
                f"{tuple(labels.shape)}."
            )
        return probs, target.long(), None if binary else columns

    # -- StreamingMetric ---------------------------------------------------------------------
    def _build(self, tmc: Any, classes: int | None) -> Any:
        """The torchmetrics object; ``tmc`` is ``torchmetrics.classification``."""
        raise NotImplementedError

    def _feed(self, probs: Tensor, target: Tensor) -> None:
        self._metric.update(probs, target)

    def _value(self, result: Any) -> float | Tensor:
        return scalar_or_tensor(result)

    def update(self, outputs: Tensor, labels: Tensor) -> None:
        if outputs.numel() == 0:
            return
        probs, target, classes = self._prepare(outputs, labels)
        if self._metric is None:
            import torchmetrics.classification as tmc

            self._metric = self._build(tmc, classes)
            self._classes = classes
        elif classes != self._classes:
            raise ValueError(
                f"{type(self).__name__} received {classes or 'binary'} classes after "
                f"{self._classes or 'binary'} in earlier batches; every batch needs the same "
                "output width."
            )
        self._feed(probs, target)

    def compute(self) -> float | Tensor:
        if self._metric is None or not self._metric.update_called:
            return float("nan")
        return self._value(self._metric.compute())

    def reset(self) -> None:
        if self._metric is not None:
            self._metric.reset()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_classes={self.n_classes!r})"


class Accuracy(_ClassificationMetric):
    """Fraction of examples whose predicted class is the label."""

    def _build(self, tmc: Any, classes: int | None) -> Any:
        if classes is None:
            return tmc.BinaryAccuracy()
        return tmc.MulticlassAccuracy(num_classes=classes, average="micro")


class Precision(_ClassificationMetric):
    """``tp / (tp + fp)``; macro average over classes for multiclass."""

    def _build(self, tmc: Any, classes: int | None) -> Any:
        if classes is None:
            return tmc.BinaryPrecision()
        return tmc.MulticlassPrecision(num_classes=classes, average="macro")


class Recall(_ClassificationMetric):
    """``tp / (tp + fn)``; macro average over classes for multiclass."""

    def _build(self, tmc: Any, classes: int | None) -> Any:
        if classes is None:
            return tmc.BinaryRecall()
        return tmc.MulticlassRecall(num_classes=classes, average="macro")


class Auc(_ClassificationMetric):
    """Area under the ROC curve, exact (TF approximated it with 200 thresholds).

    Multiclass: macro average of one-vs-rest AUCs. Keeps every score until ``reset()``.
    """

    def _build(self, tmc: Any, classes: int | None) -> Any:
        if classes is None:
            return tmc.BinaryAUROC()
        return tmc.MulticlassAUROC(num_classes=classes, average="macro")


class _StatScore(_ClassificationMetric):
    """One count of the confusion matrix; multiclass counts are summed one-vs-rest."""

    _index = 0  # position in torchmetrics' [tp, fp, tn, fn, support]

    def _build(self, tmc: Any, classes: int | None) -> Any:
        if classes is None:
            return tmc.BinaryStatScores()
        return tmc.MulticlassStatScores(num_classes=classes, average="micro")

    def _value(self, result: Any) -> float:
        return float(result[self._index])


class TruePositives(_StatScore):
    """Number of positive predictions that are right."""

    _index = 0


class FalsePositives(_StatScore):
    """Number of positive predictions that are wrong."""

    _index = 1


class TrueNegatives(_StatScore):
    """Number of negative predictions that are right."""

    _index = 2


class FalseNegatives(_StatScore):
    """Number of negative predictions that are wrong."""

    _index = 3


class SensitivityAtSpecificity(_ClassificationMetric):
    """Best sensitivity (recall) over thresholds whose specificity is >= ``specificity``.

    TF picked the threshold whose specificity is closest to the target instead; multiclass is
    the macro average of one-vs-rest values.
    """

    def __init__(
        self,
        n_classes: int | None = None,
        specificity: float | None = None,
        from_logits: bool | None = None,
    ) -> None:
        if specificity is None or not 0 <= specificity <= 1:
            raise ValueError(
                "sensitivity_at_specificity needs `specificity`, the minimum specificity in "
                f"[0, 1]. Received: specificity={specificity!r}."
            )
        super().__init__(n_classes, from_logits)
        self.specificity = float(specificity)

    def _build(self, tmc: Any, classes: int | None) -> Any:
        if classes is None:
            return tmc.BinarySensitivityAtSpecificity(min_specificity=self.specificity)
        return tmc.MulticlassSensitivityAtSpecificity(
            num_classes=classes, min_specificity=self.specificity
        )

    def _value(self, result: Any) -> float:
        return float(result[0].float().mean())


class SpecificityAtSensitivity(_ClassificationMetric):
    """Best specificity over thresholds whose sensitivity is >= ``sensitivity`` (see above)."""

    def __init__(
        self,
        n_classes: int | None = None,
        sensitivity: float | None = None,
        from_logits: bool | None = None,
    ) -> None:
        if sensitivity is None or not 0 <= sensitivity <= 1:
            raise ValueError(
                "specificity_at_sensitivity needs `sensitivity`, the minimum sensitivity in "
                f"[0, 1]. Received: sensitivity={sensitivity!r}."
            )
        super().__init__(n_classes, from_logits)
        self.sensitivity = float(sensitivity)

    def _build(self, tmc: Any, classes: int | None) -> Any:
        if classes is None:
            return tmc.BinarySpecificityAtSensitivity(min_sensitivity=self.sensitivity)
        return tmc.MulticlassSpecificityAtSensitivity(
            num_classes=classes, min_sensitivity=self.sensitivity
        )

    def _value(self, result: Any) -> float:
        return float(result[0].float().mean())


class RecallAtK(_ClassificationMetric):
    """Fraction of examples whose label is among the ``k`` highest-scored classes."""

    _two_columns_binary = False

    def __init__(
        self, n_classes: int | None = None, k: int = 1, from_logits: bool | None = None
    ) -> None:
        if not isinstance(k, int) or k < 1:
            raise ValueError(
                f"recall_at_k expected k to be a positive integer. Received: k={k!r}."
            )
        super().__init__(n_classes, from_logits)
        self.k = k

    def _build(self, tmc: Any, classes: int | None) -> Any:
        if classes is None:
            raise ValueError(
                "recall_at_k needs class scores of shape [N, C] with C >= 2; received one "
                "score per example."
            )
        if self.k > classes:
            raise ValueError(f"recall_at_k: k={self.k} exceeds the {classes} classes.")
        return tmc.MulticlassAccuracy(num_classes=classes, top_k=self.k, average="micro")


class MeanIou(_ClassificationMetric):
    """Mean over classes of ``tp / (tp + fp + fn)``; classes never seen nor predicted are
    skipped, as in TF. Binary outputs count both classes, also as in TF."""

    def _build(self, tmc: Any, classes: int | None) -> Any:
        return tmc.MulticlassJaccardIndex(num_classes=classes or 2, average="macro")

    def _feed(self, probs: Tensor, target: Tensor) -> None:
        if probs.dim() == 1:  # binary: predicted class indices
            probs = (probs >= 0.5).long()
        self._metric.update(probs, target)


class _AtThresholds(_ClassificationMetric):
    """Counts at several thresholds, TF style (``score > threshold``); one value per threshold.

    Multiclass scores and one-hot labels are flattened, as TF's op does.
    """

    def __init__(
        self,
        n_classes: int | None = None,
        thresholds: list[float] | tuple[float, ...] = (0.5,),
        from_logits: bool | None = None,
    ) -> None:
        super().__init__(n_classes, from_logits)
        self.thresholds = torch.tensor([float(t) for t in thresholds], dtype=torch.float64)
        self.reset()

    def update(self, outputs: Tensor, labels: Tensor) -> None:
        if outputs.numel() == 0:
            return
        probs, target, classes = self._prepare(outputs, labels)
        if classes is not None:
            target = torch.nn.functional.one_hot(target, classes)
        positive = target.reshape(-1, 1).bool()
        predicted = probs.reshape(-1, 1).to(torch.float64) > self.thresholds
        self._tp += (predicted & positive).sum(0)
        self._fp += (predicted & ~positive).sum(0)
        self._fn += (~predicted & positive).sum(0)
        self._seen = True

    def _ratio(self, denominator: Tensor) -> float | Tensor:
        if not self._seen:
            return float("nan")
        value = torch.where(denominator > 0, self._tp / denominator.clamp_min(1), 0.0)
        return scalar_or_tensor(value.float())

    def reset(self) -> None:
        zeros = torch.zeros(len(self.thresholds), dtype=torch.int64)
        self._tp, self._fp, self._fn = zeros.clone(), zeros.clone(), zeros.clone()
        self._seen = False


class PrecisionAtThresholds(_AtThresholds):
    """Precision at each of ``thresholds``."""

    def compute(self) -> float | Tensor:
        return self._ratio(self._tp + self._fp)


class RecallAtThresholds(_AtThresholds):
    """Recall at each of ``thresholds``."""

    def compute(self) -> float | Tensor:
        return self._ratio(self._tp + self._fn)
