"""The train/eval split every built-in dataset shares: the same names, the same message."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["SPLITS", "pick_split"]

SPLITS = ("train", "eval")


def pick_split(
    name: str, split: str, x: np.ndarray, y: np.ndarray, eval_share: float = 0.2
) -> Any:
    """``(x, y)`` of ``split``: the last ``eval_share`` of the (already shuffled) examples are
    the evaluation split."""
    if split not in SPLITS:
        raise ValueError(f"{name} has splits {list(SPLITS)}; received split={split!r}.")
    cut = len(x) - round(len(x) * eval_share)
    return (x[:cut], y[:cut]) if split == "train" else (x[cut:], y[cut:])
