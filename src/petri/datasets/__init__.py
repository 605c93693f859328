"""Built-in datasets that ship with installed packages, so examples run offline."""

from __future__ import annotations

from petri.datasets import digits
from petri.registry import Registry

__all__ = ["DATASETS", "digits"]

DATASETS: Registry = Registry("dataset", {"digits": digits}, home="petri.datasets.DATASETS")
"""name -> module with ``load_split(split) -> (x, y)``."""
