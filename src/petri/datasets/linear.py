"""A linear regression problem: ``y = 3 x0 - 2 x1 + 0.5 x2 + 1`` plus Gaussian noise of
standard deviation 0.1 (so the best possible mean squared error is 0.01). Generated, seeded."""

from __future__ import annotations

import numpy as np

from petri.datasets._splits import SPLITS, pick_split

__all__ = ["SPLITS", "WEIGHTS", "load_split"]

WEIGHTS = np.array([3.0, -2.0, 0.5], dtype=np.float32)
BIAS = 1.0


def load_split(split: str, size: int = 1000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``x``: float32 [N, 3] standard normal; ``y``: float32 [N, 1]."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(size, 3)).astype(np.float32)
    y = (x @ WEIGHTS + BIAS + rng.normal(0.0, 0.1, size)).astype(np.float32)[:, None]
    return pick_split("linear", split, x, y)
