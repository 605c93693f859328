"""Built-in datasets that ship with installed packages, so examples run offline."""

from __future__ import annotations

from typing import Any

from petri.datasets import diabetes, digits, linear, sine, xor
from petri.registry import Registry

__all__ = ["DATASETS", "diabetes", "digits", "linear", "load_split", "sine", "xor"]

DATASETS: Registry = Registry(
    "dataset",
    {"digits": digits, "diabetes": diabetes, "linear": linear, "sine": sine, "xor": xor},
    home="petri.datasets.DATASETS",
)
"""name -> module with ``load_split(split) -> (x, y)``."""


def load_split(name: str, split: str) -> tuple[Any, Any]:
    """``(x, y)`` of a built-in dataset's split (``input_type: dataset`` in configs).

    Raises:
        UnknownNameError: no dataset of that name.
        ValueError: no such split.
    """
    return DATASETS.get(name).load_split(split)
