"""The metric table (TF ``streaming_*`` names and short aliases) and ``create_metric``."""

from __future__ import annotations

import inspect
from typing import Any

from petri.configs import MetricConfig, as_config
from petri.errors import did_you_mean
from petri.metrics import _classification as cls_
from petri.metrics import _regression as reg_
from petri.metrics._base import StreamingMetric
from petri.registry import Registry

__all__ = ["METRICS", "build_metrics", "create_metric", "metric_kwargs"]

MetricFactory = type[StreamingMetric]

# TensorFlow's names (tf.contrib.metrics.streaming_*). Short aliases drop the prefix.
_STREAMING: dict[str, MetricFactory] = {
    "streaming_accuracy": cls_.Accuracy,
    "streaming_precision": cls_.Precision,
    "streaming_recall": cls_.Recall,
    "streaming_auc": cls_.Auc,
    "streaming_true_positives": cls_.TruePositives,
    "streaming_true_negatives": cls_.TrueNegatives,
    "streaming_false_positives": cls_.FalsePositives,
    "streaming_false_negatives": cls_.FalseNegatives,
    "streaming_sensitivity_at_specificity": cls_.SensitivityAtSpecificity,
    "streaming_specificity_at_sensitivity": cls_.SpecificityAtSensitivity,
    "streaming_precision_at_thresholds": cls_.PrecisionAtThresholds,
    "streaming_recall_at_thresholds": cls_.RecallAtThresholds,
    "streaming_recall_at_k": cls_.RecallAtK,
    "streaming_mean_iou": cls_.MeanIou,
    "streaming_mean": reg_.Mean,
    "streaming_mean_squared_error": reg_.MeanSquaredError,
    "streaming_root_mean_squared_error": reg_.RootMeanSquaredError,
    "streaming_mean_absolute_error": reg_.MeanAbsoluteError,
    "streaming_mean_relative_error": reg_.MeanRelativeError,
    "streaming_pearson_correlation": reg_.PearsonCorrelation,
    "streaming_covariance": reg_.Covariance,
    "streaming_percentage_less": reg_.PercentageLess,
}
_SHORT: dict[str, MetricFactory] = {
    "mse": reg_.MeanSquaredError,
    "rmse": reg_.RootMeanSquaredError,
    "mae": reg_.MeanAbsoluteError,
    "auroc": cls_.Auc,
}

METRICS: Registry[MetricFactory] = Registry(
    "metric",
    {
        **_STREAMING,  # first, so a metric's registered name is its streaming_* name
        **{name.removeprefix("streaming_"): factory for name, factory in _STREAMING.items()},
        **_SHORT,
    },
    home="petri.metrics.METRICS",
)


def _parameters(factory: Any) -> tuple[list[str], bool]:
    """Keyword names the factory takes, and whether it takes ``n_classes``."""
    names = [
        name
        for name, param in inspect.signature(factory).parameters.items()
        if param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
    ]
    return [name for name in names if name != "n_classes"], "n_classes" in names


def metric_kwargs(identifier: str | MetricFactory) -> list[str]:
    """Arguments a metric takes from its config (``n_classes`` comes from the model).

    Raises:
        UnknownNameError: the name is not registered.
    """
    return _parameters(METRICS.get(identifier))[0]


def create_metric(
    identifier: str | MetricFactory, *, n_classes: int | None = None, **kwargs: Any
) -> StreamingMetric:
    """Build a streaming metric by name.

    Args:
        identifier: a ``METRICS`` name (``streaming_accuracy`` or ``accuracy``, any case) or a
            factory returning a :class:`StreamingMetric`.
        n_classes: classes of a classifier (None infers them from the first batch); ignored by
            value metrics.
        **kwargs: the metric's arguments (``threshold``, ``k``, ``specificity``, ...); see
            ``metric_kwargs(identifier)``.

    Returns:
        A fresh metric with ``update(outputs, labels)``, ``compute()`` and ``reset()``.

    Raises:
        UnknownNameError: unknown name (with the closest name).
        TypeError: an argument the metric does not take.

    Example:
        >>> import torch
        >>> metric = create_metric("accuracy")
        >>> metric.update(torch.tensor([[2.0, 0.1, 0.0], [0.0, 0.1, 3.0]]), torch.tensor([0, 1]))
        >>> metric.compute()
        0.5
    """
    factory = METRICS.get(identifier)
    accepted, takes_classes = _parameters(factory)
    for key in kwargs:
        if key not in accepted:
            hint = did_you_mean(key, accepted)
            label = identifier if isinstance(identifier, str) else factory.__name__
            raise TypeError(
                f"Metric {label!r} got an unexpected argument {key!r}.{hint} "
                f"Accepted arguments: {', '.join(accepted) or 'none'}."
            )
    if takes_classes:
        kwargs["n_classes"] = n_classes
    return factory(**kwargs)


def build_metrics(items: list[Any], n_classes: int | None = None) -> dict[str, Any]:
    """Name -> metric for a list of ``MetricConfig``s, names, dicts or metric objects."""
    metrics: dict[str, Any] = {}
    for item in items:
        config = as_config(item, MetricConfig)
        if isinstance(config, MetricConfig):
            identifier = config.identifier
            key = (
                identifier
                if isinstance(identifier, str)
                else getattr(identifier, "__name__", "metric")
            )
            metrics[key] = create_metric(identifier, n_classes=n_classes, **config.kwargs)
        else:
            metrics[getattr(config, "__name__", type(config).__name__)] = config
    return metrics
