"""``numpy_input_fn``: batches of in-memory arrays, shuffled per epoch, resumable."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch

__all__ = ["NumpyBatches", "numpy_input_fn", "to_tensor"]

Features = torch.Tensor | dict[str, torch.Tensor]


def to_tensor(value: Any) -> torch.Tensor:
    """An array-like as a tensor: float64 becomes float32, other dtypes keep their kind."""
    tensor = value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
    if tensor.dtype == torch.float64:
        tensor = tensor.float()
    return tensor.contiguous()


class NumpyBatches:
    """Iterator over ``(features, labels)`` batches with a ``state_dict`` for exact resume.

    Each epoch draws a fresh permutation from its own generator, so the order depends only on
    the seed and the epoch, never on the global random state.
    """

    def __init__(
        self,
        features: Features,
        labels: torch.Tensor | None,
        batch_size: int,
        num_epochs: int | None,
        shuffle: bool,
        seed: int,
        allow_smaller_final_batch: bool = True,
    ) -> None:
        self._features = features
        self._labels = labels
        self._dict = isinstance(features, dict)
        first = next(iter(features.values())) if isinstance(features, dict) else features
        self._size = int(first.shape[0])
        self._batch_size = batch_size
        self._num_epochs = num_epochs
        self._shuffle = shuffle
        self._seed = seed
        self._allow_smaller = allow_smaller_final_batch
        self._epoch = 0
        self._position = 0
        self._order: torch.Tensor | None = None

    def _take(self, index: torch.Tensor | slice) -> tuple[Features, torch.Tensor | None]:
        if self._dict:
            features: Features = {k: v[index] for k, v in self._features.items()}  # type: ignore[union-attr]
        else:
            features = self._features[index]  # type: ignore[index]
        labels = None if self._labels is None else self._labels[index]
        return features, labels

    def _start_epoch(self) -> None:
        if self._shuffle:
            generator = torch.Generator().manual_seed(self._seed + self._epoch)
            self._order = torch.randperm(self._size, generator=generator)
        else:
            self._order = None

    def __iter__(self) -> Iterator[tuple[Features, torch.Tensor | None]]:
        return self

    def __next__(self) -> tuple[Features, torch.Tensor | None]:
        while True:
            if self._num_epochs is not None and self._epoch >= self._num_epochs:
                raise StopIteration
            if self._position == 0 or (self._shuffle and self._order is None):
                self._start_epoch()
            start = self._position
            stop = min(start + self._batch_size, self._size)
            if stop - start < self._batch_size and not (self._allow_smaller and stop > start):
                self._epoch += 1
                self._position = 0
                continue
            self._position = stop
            if stop >= self._size:
                self._epoch += 1
                self._position = 0
            order = self._order
            if order is None:
                return self._take(slice(start, stop))
            return self._take(order[start:stop])

    def state_dict(self) -> dict[str, int]:
        """Epoch and position: enough to continue exactly where this iterator stopped."""
        return {"epoch": self._epoch, "position": self._position, "seed": self._seed}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        self._epoch = int(state["epoch"])
        self._position = int(state["position"])
        self._seed = int(state.get("seed", self._seed))
        self._order = None
        if self._position and self._shuffle:
            self._start_epoch()


class numpy_input_fn:
    """Input function over numpy arrays (the seed's ``numpy_input_fn``).

    Args:
        x: an array, or a dict of arrays (feature name -> array), first dimension = examples.
        y: labels array, or None.
        batch_size: examples per batch.
        num_epochs: passes over the data; None repeats forever.
        shuffle: reshuffle every epoch.
        seed: shuffling seed; None draws one from torch's global generator (seeded by the run).
        allow_smaller_final_batch: yield the last, smaller batch of an epoch.

    Calling the object returns a fresh iterator of ``(features, labels)`` batches.

    Example:
        >>> import numpy as np
        >>> input_fn = numpy_input_fn(np.zeros((10, 2)), np.arange(10), batch_size=4)
        >>> [len(y) for _, y in input_fn()]
        [4, 4, 2]
    """

    def __init__(
        self,
        x: Any,
        y: Any = None,
        batch_size: int = 128,
        num_epochs: int | None = 1,
        shuffle: bool = False,
        seed: int | None = None,
        allow_smaller_final_batch: bool = True,
    ) -> None:
        if isinstance(x, Mapping):
            if not x:
                raise ValueError("numpy_input_fn expected x to hold at least one feature.")
            self.features: Features = {str(k): to_tensor(v) for k, v in x.items()}
            sizes = {k: int(v.shape[0]) for k, v in self.features.items()}
        else:
            self.features = to_tensor(x)
            sizes = {"x": int(self.features.shape[0])}
        self.labels = None if y is None else to_tensor(y)
        if self.labels is not None:
            sizes["y"] = int(self.labels.shape[0])
        if len(set(sizes.values())) != 1:
            raise ValueError(
                f"numpy_input_fn expected x and y to have the same number of examples; "
                f"received {sizes}."
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer. Received: {batch_size}.")
        if num_epochs is not None and num_epochs < 1:
            raise ValueError(f"num_epochs must be positive or None. Received: {num_epochs}.")
        self.num_examples = next(iter(sizes.values()))
        self.batch_size = batch_size
        self.num_epochs = num_epochs
        self.shuffle = shuffle
        self.seed = int(torch.randint(0, 2**31 - 1, (1,)).item()) if seed is None else int(seed)
        self.allow_smaller_final_batch = allow_smaller_final_batch

    def __call__(self) -> NumpyBatches:
        return NumpyBatches(
            self.features,
            self.labels,
            self.batch_size,
            self.num_epochs,
            self.shuffle,
            self.seed,
            self.allow_smaller_final_batch,
        )
