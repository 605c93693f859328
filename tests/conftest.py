"""Shared fixtures: small real datasets and quiet logging."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def digits():
    """The bundled digits split: ((x_train, y_train), (x_eval, y_eval)), x as [N, 1, 8, 8]."""
    from petri.datasets import digits

    return digits.load_data()


@pytest.fixture()
def linear_data():
    """y = 3x - 1 with a little noise: a regression any model learns in a few hundred steps."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(256, 1)).astype(np.float32)
    y = (3 * x - 1 + rng.normal(0, 0.01, size=x.shape)).astype(np.float32)
    return x, y
