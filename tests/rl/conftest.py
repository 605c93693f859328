"""RL tests run torch on one thread (tiny networks: fastest, and fair to parallel jobs)."""

from __future__ import annotations

from typing import Any

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Any:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: one thread is fastest and fair to the others
    yield
    torch.set_num_threads(threads)
