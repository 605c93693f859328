"""Streaming evaluation metrics with TensorFlow's ``streaming_*`` names, backed by torchmetrics.

``create_metric("streaming_accuracy", n_classes=10)`` returns a :class:`StreamingMetric`: call
``update(outputs, labels)`` per batch and ``compute()`` at the end. torchmetrics is imported on
the first update, so ``import petri.metrics`` stays cheap.
"""

from __future__ import annotations

from petri.metrics._base import StreamingMetric
from petri.metrics._registry import METRICS, build_metrics, create_metric, metric_kwargs

__all__ = ["METRICS", "StreamingMetric", "build_metrics", "create_metric", "metric_kwargs"]
