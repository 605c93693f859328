"""scikit-learn's bundled handwritten digits (8x8, 10 classes): real image data, offline."""

from __future__ import annotations

import numpy as np

__all__ = ["NUM_CLASSES", "SPLITS", "load_data", "load_split"]

NUM_CLASSES = 10
SPLITS = ("train", "eval")


def load_data(
    test_size: float = 0.2, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Digits as ``(x_train, y_train), (x_eval, y_eval)``: float32 [N, 1, 8, 8] in [0, 1], int64.

    The split is stratified and fixed by ``seed`` (1,437 train / 360 eval by default).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    labels = digits.target.astype(np.int64)
    x_train, x_eval, y_train, y_eval = train_test_split(
        images, labels, test_size=test_size, random_state=seed, stratify=labels
    )
    return (x_train, y_train), (x_eval, y_eval)


def load_split(split: str, test_size: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """One split (``train`` or ``eval``) of :func:`load_data`."""
    if split not in SPLITS:
        raise ValueError(f"digits has splits {list(SPLITS)}; received split={split!r}.")
    train, evaluation = load_data(test_size=test_size, seed=seed)
    return train if split == "train" else evaluation
