"""A time series: a noisy sine wave (period 50 steps, noise 0.05), cut into windows of 20
steps whose next value is the label. The evaluation split is the series' last 20%, so a model
is scored on time it never saw. Generated, seeded."""

from __future__ import annotations

import numpy as np

from petri.datasets._splits import SPLITS, pick_split

__all__ = ["SPLITS", "WINDOW", "load_split"]

WINDOW = 20


def load_split(split: str, length: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``x``: float32 [N, 20, 1] (20 steps of 1 feature); ``y``: float32 [N, 1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(length + WINDOW, dtype=np.float64)
    series = np.sin(2 * np.pi * t / 50.0) + rng.normal(0.0, 0.05, t.shape)
    windows = np.lib.stride_tricks.sliding_window_view(series, WINDOW + 1)[:length]
    x = windows[:, :WINDOW, None].astype(np.float32)
    y = windows[:, WINDOW:].astype(np.float32)
    return pick_split("sine", split, x, y)
