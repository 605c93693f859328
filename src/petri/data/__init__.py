"""Input functions: in-memory arrays now; record shards and pipelines build on the same contract.

An input function is a callable returning an iterator of ``(features, labels)`` batches.
"""

from __future__ import annotations

from petri.data.input_fn import create_input_fn, load_array
from petri.data.numpy_input import NumpyBatches, numpy_input_fn
from petri.registry import Registry

__all__ = [
    "INPUT_TYPES",
    "PIPELINES",
    "NumpyBatches",
    "create_input_fn",
    "load_array",
    "numpy_input_fn",
]

INPUT_TYPES: Registry = Registry(
    "input type",
    {"numpy": "numpy", "dataset": "dataset"},
    home="petri.data.INPUT_TYPES",
)
"""``InputDataConfig.input_type``: ``numpy`` (x/y arrays or files), ``dataset`` (built-in)."""

PIPELINES: Registry = Registry("pipeline", {}, home="petri.data.PIPELINES")
"""Record-reading pipelines selectable by ``pipeline_config.module``."""
