"""``NumpyPipeline``: in-memory arrays through the record pipeline machinery."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from petri.configs import InputDataConfig
from petri.data._arrays import load_array
from petri.data.pipelines._base import Pipeline
from petri.data.pipelines._sources import IndexSource, RecordSource
from petri.errors import ConfigError

__all__ = ["NumpyPipeline"]


def _array(value: Any) -> np.ndarray:
    array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
    return array.astype(np.float32) if array.dtype == np.float64 else array


class NumpyPipeline(Pipeline):
    """Batches rows of arrays, with the pipelines' shuffling, processors and reader processes.

    Use it instead of ``numpy_input_fn`` when you want per-feature processors (augmentation) or
    the config-driven ``module`` form. Shuffling is a full permutation per epoch (the default
    buffer holds every row index). Unlike ``numpy_input_fn``, a batch may span two epochs,
    as TensorFlow's queue-based batching did.

    Params:
        x: an array, a dict of arrays, or a ``.npy``/``.npz`` path (default: the
            InputDataConfig's ``x``).
        y: labels (array or ``.npy`` path; default: the InputDataConfig's ``y``).
        label_feature: with a dict ``x`` and no ``y``, the key of ``x`` that holds the labels.

    Features are a dict when ``x`` is a dict, else the bare tensor (as numpy_input_fn gives).
    """

    accepted_params = ("x", "y")
    default_label = None

    def _build_source(self, input_config: InputDataConfig | None) -> RecordSource:
        x = self.params.get("x", input_config.x if input_config is not None else None)
        y = self.params.get("y", input_config.y if input_config is not None else None)
        if x is None:
            raise ConfigError(
                f"NumpyPipeline needs `{self.path}.params.x` (or the input config's `x`).",
                f"{self.path}.params.x",
                None,
            )
        x = load_array(x, f"{self.path}.params.x")
        y = load_array(y, f"{self.path}.params.y")
        if isinstance(x, Mapping):
            self.arrays = {str(k): _array(v) for k, v in x.items()}
        else:
            self.arrays = {"x": _array(x)}
            self.bare_feature = "x"
        if y is not None:
            self.label_key = self.params.get("label_feature") or "label"
            self.arrays[self.label_key] = _array(y)
        sizes = {k: len(v) for k, v in self.arrays.items()}
        if len(set(sizes.values())) != 1:
            raise ConfigError(
                f"NumpyPipeline expected every array to have the same number of rows; received "
                f"{sizes}.",
                f"{self.path}.params",
                sizes,
            )
        if self.label_key is not None and self.label_key not in self.arrays:
            raise ConfigError(
                f"`{self.path}.params.label_feature` is {self.label_key!r}, but x has the keys "
                f"{sorted(self.arrays)}.",
                f"{self.path}.params.label_feature",
                self.label_key,
            )
        self.size = next(iter(sizes.values()))
        return IndexSource(self.size, self.config.num_threads)

    def _default_buffer_size(self) -> int:
        return max(self.size, 1)

    def decode(self, raw: int) -> dict[str, Any]:
        return {name: array[raw] for name, array in self.arrays.items()}
