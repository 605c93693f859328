"""Process-wide settings of a run: the one place Petri seeds the global RNGs, sets torch's
thread count and gives its log lines somewhere to go."""

from __future__ import annotations

import logging
import random
import sys

import numpy as np
import torch

__all__ = ["seed_everything", "show_progress", "use_threads"]


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


def show_progress() -> None:
    """Print Petri's INFO lines (progress, evaluations) on stderr when nobody set up logging.

    Python drops INFO records of a logger without handlers, so a script that trains a model
    would print nothing. Keras and Lightning show progress by default; so does Petri: when
    neither the ``petri`` logger nor the root logger has a handler, a plain one is added to
    ``petri``. Logging configured by the user (or by ``petri``'s CLI) is left as it is.
    """
    petri_logger = logging.getLogger("petri")
    if petri_logger.hasHandlers():
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    petri_logger.addHandler(handler)
    if petri_logger.level == logging.NOTSET:
        petri_logger.setLevel(logging.INFO)
