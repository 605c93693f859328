"""A rebuilt run's predictions for features a user brings (``predict_run``, ``petri predict``).

The model is built on the run's own input before it sees the user's features. Built on the
user's features instead, lazily-shaped layers would take their shape and the checkpoint would
then fail to load as "written by a different model", a misleading diagnosis. Features (or a
generator's codes) of another shape than the run's then fail inside the model, and that error is
given back with both shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from petri.data import iterate_input, numpy_input_fn
from petri.modes import ModeKeys

__all__ = ["predictions"]

Shapes = tuple[int, ...] | dict[str, tuple[int, ...]]


def predictions(
    estimator: Any,
    run_input_fn: Callable[[], Any],
    features: Any,
    mode: str,
    checkpoint_path: str | None,
    batch_size: int,
) -> dict[str, np.ndarray]:
    """Name -> array, one row per example of ``features``, from ``estimator`` (its model built
    on ``run_input_fn``'s first example and restored before ``features`` reach it).

    Raises:
        ValueError: a mode the model lacks; ``features`` (or codes, for ``generate``) the model
            cannot take, with their shape and the one the run's model takes.
    """
    expected = _expected_shapes(estimator, run_input_fn, mode, checkpoint_path)
    batches = numpy_input_fn(features, batch_size=batch_size, shuffle=False, num_epochs=1)
    try:
        rows = list(estimator.predict(batches, checkpoint_path=checkpoint_path, mode=mode))
    except (RuntimeError, ValueError) as error:
        given = _shapes(features)
        if given == expected:
            raise
        what = "codes" if mode == ModeKeys.GENERATE else "features"
        raise ValueError(
            f"The run's model takes {what} of shape {expected} per example; the input's "
            f"{what} have shape {given}. (The model said: {error})"
        ) from None
    if rows and isinstance(rows[0], dict):
        return {key: np.stack([row[key] for row in rows]) for key in rows[0]}
    return {"predictions": np.stack(rows)}


def _expected_shapes(
    estimator: Any, run_input_fn: Callable[[], Any], mode: str, checkpoint_path: str | None
) -> Shapes:
    """The per-example shape of what ``mode`` takes: the run's features, or for ``generate``
    the codes its model encodes them to. Builds and restores the model on the way."""
    reference = _first_example(next(iterate_input(run_input_fn, repeat_single=False))[0])
    probe_mode = ModeKeys.ENCODE if mode == ModeKeys.GENERATE else mode
    probe = numpy_input_fn(reference, batch_size=1, shuffle=False, num_epochs=1)
    rows = list(estimator.predict(probe, checkpoint_path=checkpoint_path, mode=probe_mode))
    if mode == ModeKeys.GENERATE:
        return tuple(np.shape(rows[0]["codes"]))
    return _shapes(reference)


def _first_example(features: Any) -> Any:
    """The first example of a batch (a tensor or a dict of tensors) as numpy, batch axis kept."""
    if isinstance(features, dict):
        return {key: _first_example(value) for key, value in features.items()}
    if isinstance(features, torch.Tensor):
        return features[:1].detach().cpu().numpy()
    return np.asarray(features)[:1]


def _shapes(features: Any) -> Shapes:
    """Per-example shape of an array, or of each array of a dict."""
    if isinstance(features, dict):
        return {key: tuple(np.shape(value))[1:] for key, value in features.items()}
    return tuple(np.shape(features))[1:]
