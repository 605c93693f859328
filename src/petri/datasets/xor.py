"""XOR: points scattered around the corners of the unit square, labelled by the XOR of their
corner's coordinates (the seed's first non-linear example). Generated, seeded: offline."""

from __future__ import annotations

import numpy as np

from petri.datasets._splits import SPLITS, pick_split

__all__ = ["SPLITS", "load_split"]


def load_split(
    split: str, size: int = 1000, noise: float = 0.15, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``x``: float32 [N, 2]; ``y``: int64 [N] in {0, 1} (80% train, 20% eval)."""
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 2, size=(size, 2))
    x = (corners + rng.normal(0.0, noise, size=(size, 2))).astype(np.float32)
    y = (corners[:, 0] ^ corners[:, 1]).astype(np.int64)
    return pick_split("xor", split, x, y)
