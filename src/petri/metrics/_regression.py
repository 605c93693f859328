"""Value metrics: means, errors, correlation. Outputs and labels are compared element-wise."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from petri.distributed import all_reduce_sum, is_active
from petri.metrics._base import StreamingMetric, align_labels, as_float, scalar_or_tensor

__all__ = [
    "Covariance",
    "Mean",
    "MeanAbsoluteError",
    "MeanRelativeError",
    "MeanSquaredError",
    "PearsonCorrelation",
    "PercentageLess",
    "RootMeanSquaredError",
]


class _TorchmetricsValueMetric(StreamingMetric):
    """A torchmetrics metric fed flattened ``(outputs, labels)``; built on first update."""

    def __init__(self) -> None:
        self._metric: Any = None

    def _build(self) -> Any:
        raise NotImplementedError

    def update(self, outputs: Tensor, labels: Tensor) -> None:
        outputs = as_float(outputs)
        labels = as_float(align_labels(outputs, labels, type(self).__name__))
        if self._metric is None:
            self._metric = self._build()
        self._metric.update(outputs.reshape(-1), labels.reshape(-1).to(outputs.dtype))

    def compute(self) -> float | Tensor:
        if self._metric is None or not self._metric.update_called:
            return float("nan")
        return scalar_or_tensor(self._metric.compute())

    def reset(self) -> None:
        if self._metric is not None:
            self._metric.reset()


class MeanSquaredError(_TorchmetricsValueMetric):
    """Mean of ``(outputs - labels) ** 2`` over every element."""

    def _build(self) -> Any:
        import torchmetrics

        return torchmetrics.MeanSquaredError()


class RootMeanSquaredError(_TorchmetricsValueMetric):
    """Square root of the streaming mean squared error (not a mean of per-batch roots)."""

    def _build(self) -> Any:
        import torchmetrics

        return torchmetrics.MeanSquaredError(squared=False)


class MeanAbsoluteError(_TorchmetricsValueMetric):
    """Mean of ``|outputs - labels|`` over every element."""

    def _build(self) -> Any:
        import torchmetrics

        return torchmetrics.MeanAbsoluteError()


class PearsonCorrelation(_TorchmetricsValueMetric):
    """Pearson correlation of all output elements with all label elements (TF flattens too)."""

    def _build(self) -> Any:
        import torchmetrics

        return torchmetrics.PearsonCorrCoef()


class Mean(StreamingMetric):
    """Mean of the outputs (TF ``streaming_mean(values)``); labels are ignored."""

    def __init__(self) -> None:
        self.reset()

    def update(self, outputs: Tensor, labels: Tensor | None = None) -> None:
        outputs = as_float(outputs).to(torch.float64)
        self._total += float(outputs.sum())
        self._count += outputs.numel()

    def compute(self) -> float:
        total, count = all_reduce_sum([self._total, self._count])
        return total / count if count else float("nan")

    def reset(self) -> None:
        self._total = 0.0
        self._count = 0


class PercentageLess(StreamingMetric):
    """Fraction of output elements strictly below ``threshold``; labels are ignored.

    Args:
        threshold: the comparison value (TF's required argument; 0.5 here by default).
    """

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self.reset()

    def update(self, outputs: Tensor, labels: Tensor | None = None) -> None:
        outputs = outputs.detach()
        self._below += int((outputs < self.threshold).sum())
        self._count += outputs.numel()

    def compute(self) -> float:
        below, count = all_reduce_sum([self._below, self._count])
        return below / count if count else float("nan")

    def reset(self) -> None:
        self._below = 0
        self._count = 0

    def __repr__(self) -> str:
        return f"PercentageLess(threshold={self.threshold!r})"


class MeanRelativeError(StreamingMetric):
    """Mean of ``|outputs - labels| / |labels|``; elements with a zero label count as 0.

    TF's ``streaming_mean_relative_error(normalizer=labels)`` divides by the signed labels,
    which makes errors on negative labels negative; Petri divides by ``|labels|``.
    """

    def __init__(self) -> None:
        self.reset()

    def update(self, outputs: Tensor, labels: Tensor) -> None:
        outputs = as_float(outputs).to(torch.float64)
        labels = as_float(align_labels(outputs, labels, "MeanRelativeError")).to(torch.float64)
        denominator = labels.abs()
        relative = torch.where(
            denominator == 0, 0.0, (outputs - labels).abs() / denominator.clamp_min(1e-300)
        )
        self._total += float(relative.sum())
        self._count += relative.numel()

    def compute(self) -> float:
        total, count = all_reduce_sum([self._total, self._count])
        return total / count if count else float("nan")

    def reset(self) -> None:
        self._total = 0.0
        self._count = 0


class Covariance(StreamingMetric):
    """Unbiased sample covariance of output and label elements (TF ``streaming_covariance``).

    Batches merge with Chan et al.'s pairwise update of the co-moment (as TF does), in float64,
    so streaming equals one pass over all the data without the cancellation of raw sums.
    """

    def __init__(self) -> None:
        self.reset()

    def update(self, outputs: Tensor, labels: Tensor) -> None:
        x = as_float(outputs).to(torch.float64).reshape(-1)
        y = as_float(align_labels(outputs, labels, "Covariance")).to(torch.float64).reshape(-1)
        n_b = x.numel()
        if n_b == 0:
            return
        mean_x, mean_y = float(x.mean()), float(y.mean())
        comoment = float(((x - mean_x) * (y - mean_y)).sum())
        n = self._n + n_b
        dx, dy = mean_x - self._mean_x, mean_y - self._mean_y
        self._comoment += comoment + dx * dy * self._n * n_b / n
        self._mean_x += dx * n_b / n
        self._mean_y += dy * n_b / n
        self._n = n

    def compute(self) -> float:
        if not is_active():
            return self._comoment / (self._n - 1) if self._n > 1 else float("nan")
        # across ranks: C = sum(C_i + n_i mx_i my_i) - N MX MY
        n, mean_x, mean_y = self._n, self._mean_x, self._mean_y
        total, sum_x, sum_y, raw = all_reduce_sum(
            [n, n * mean_x, n * mean_y, self._comoment + n * mean_x * mean_y]
        )
        if total <= 1:
            return float("nan")
        return (raw - sum_x * sum_y / total) / (total - 1)

    def reset(self) -> None:
        self._n = 0
        self._mean_x = self._mean_y = self._comoment = 0.0
