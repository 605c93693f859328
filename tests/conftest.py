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


@pytest.fixture()
def petri_cli():
    """The ``petri`` command, in-process: ``petri_cli("ls", path)`` -> click's ``Result``.

    ``exit_code``, ``stdout`` and ``stderr`` as a shell would see them. Exceptions other than
    ``SystemExit`` propagate (a traceback the user would see fails the test with its own).
    Torch's thread count, which a run's ``run_config.num_threads`` sets, is restored after.
    """
    import torch
    from click.testing import CliRunner

    from petri.cli import main

    try:
        runner = CliRunner(mix_stderr=False)  # click 8.1 mixes stderr into stdout by default
    except TypeError:  # click >= 8.2 always keeps them apart
        runner = CliRunner()
    threads = torch.get_num_threads()

    def invoke(*args: object):
        return runner.invoke(main, [str(arg) for arg in args], catch_exceptions=False)

    yield invoke
    torch.set_num_threads(threads)
