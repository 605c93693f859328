"""Process-wide settings of a run: the one place Petri seeds the global RNGs and sets torch's
thread count."""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["seed_everything", "use_threads"]


def seed_everything(seed: int | None) -> None:
    """Seed ``random``, ``numpy.random`` and torch (CPU and every CUDA device) with ``seed``.

    Called right before weights come into existence: by the builder before it builds inputs and
    model, by the Estimator before a ``model_fn`` builds the model or lazily-shaped layers create
    their weights, by the Agent before its ``model_fn`` runs. None does nothing.
    """
    if seed is None:
        return
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def use_threads(num_threads: int | None) -> None:
    """``torch.set_num_threads(num_threads)`` unless it is None or already so.

    The builder calls it once per run; the Estimator and the Agent call it when a loop starts
    (a no-op then), so ``RunConfig.num_threads`` holds for models used from Python too.
    """
    if num_threads and torch.get_num_threads() != num_threads:
        torch.set_num_threads(num_threads)
