"""scikit-learn's bundled diabetes data (442 patients, 10 standardised features): disease
progression after a year, divided by 100 so losses read as plain numbers (a mean squared error
of 0.3 is 3,000 in the original units). Shuffled once with a fixed seed, 20% for evaluation."""

from __future__ import annotations

import numpy as np

from petri.datasets._splits import SPLITS, pick_split

__all__ = ["SPLITS", "load_split"]


def load_split(split: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``x``: float32 [N, 10]; ``y``: float32 [N, 1] (target / 100)."""
    from sklearn.datasets import load_diabetes

    data = load_diabetes()
    order = np.random.default_rng(seed).permutation(len(data.target))
    x = data.data[order].astype(np.float32)
    y = (data.target[order] / 100.0).astype(np.float32)[:, None]
    return pick_split("diabetes", split, x, y)
