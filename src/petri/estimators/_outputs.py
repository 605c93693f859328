"""What evaluate and predict make of a model's outputs: metric totals, per-example dicts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

__all__ = ["as_python", "split_predictions", "update_metrics"]


def update_metrics(
    ops: dict[str, Any] | None,
    objects: dict[str, Any],
    averages: dict[str, list[float]],
    size: int,
) -> None:
    for key, op in (ops or {}).items():
        if isinstance(op, tuple):
            metric, args = op
            if key not in objects:
                metric.reset()
                objects[key] = metric
            objects[key].update(*args)
        else:
            total = averages.setdefault(key, [0.0, 0])
            total[0] += float(op) * size
            total[1] += size


def as_python(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.detach().cpu().numpy()
    return value


def split_predictions(predictions: Any, keys: list[str] | None) -> Iterator[Any]:
    if predictions is None:
        raise ValueError("model_fn returned no predictions in mode 'infer'.")
    if not isinstance(predictions, dict):
        if keys:
            raise ValueError(
                f"predict_keys={keys!r} given but the model's predictions are a single tensor, "
                "not a dict."
            )
        array = predictions.detach().cpu().numpy()
        yield from array
        return
    if keys:
        missing = [k for k in keys if k not in predictions]
        if missing:
            raise ValueError(
                f"predict_keys {missing} are not in the predictions; available: "
                f"{sorted(predictions)}."
            )
        predictions = {k: predictions[k] for k in keys}
    arrays = {k: v.detach().cpu().numpy() for k, v in predictions.items()}
    sizes = {k: len(v) for k, v in arrays.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"Batch length of predictions are not same: {sizes}.")
    for index in range(next(iter(sizes.values()))):
        yield {k: v[index] for k, v in arrays.items()}
