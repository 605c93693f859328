"""``numpy_input_fn``: batches of in-memory arrays, shuffled per epoch, resumable."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch

from petri.distributed import data_shard

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

    ``shard=(index, count)``: this iterator yields every ``count``-th example of each epoch's
    order, starting at ``index``, so ``count`` iterators with the same seed (the ranks of a
    distributed run) together yield every example exactly once per epoch, and step by step
    their batches together are the batch one process with ``count`` times the batch size takes.
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
        shard: tuple[int, int] = (0, 1),
    ) -> None:
        self._features = features
        self._labels = labels
        self._dict = isinstance(features, dict)
        first = next(iter(features.values())) if isinstance(features, dict) else features
        self._total = int(first.shape[0])
        self._shard = shard
        self._size = len(range(shard[0], self._total, shard[1]))
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

    @property
    def finite(self) -> bool:
        """Whether the input ends (``num_epochs`` set)."""
        return self._num_epochs is not None

    @property
    def ends_together(self) -> bool:
        """Whether every share of a sharded finite input yields the same number of batches
        (what ranks would otherwise have to agree on at every step): shares differ by one
        example at most, so only when the last batch of the larger ones would hold one."""
        if not self.finite:
            return False
        count = self._shard[1]
        largest = len(range(0, self._total, count))
        smallest = len(range(count - 1, self._total, count))
        return self._batches_of(largest) == self._batches_of(smallest)

    def _batches_of(self, size: int) -> int:
        full, rest = divmod(size, self._batch_size)
        return full + (1 if rest and self._allow_smaller else 0)

    def _start_epoch(self) -> None:
        index, count = self._shard
        if self._shuffle:
            generator = torch.Generator().manual_seed(self._seed + self._epoch)
            order = torch.randperm(self._total, generator=generator)
            self._order = order[index::count] if count > 1 else order
        elif count > 1:
            self._order = torch.arange(index, self._total, count)
        else:
            self._order = None

    def __iter__(self) -> Iterator[tuple[Features, torch.Tensor | None]]:
        return self

    def __next__(self) -> tuple[Features, torch.Tensor | None]:
        while True:
            if self._num_epochs is not None and self._epoch >= self._num_epochs:
                raise StopIteration
            if self._position == 0 or (self._order is None and self._reorders):
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

    @property
    def _reorders(self) -> bool:
        return self._shuffle or self._shard[1] > 1

    def state_dict(self) -> dict[str, int]:
        """Epoch and position: enough to continue exactly where this iterator stopped."""
        state = {"epoch": self._epoch, "position": self._position, "seed": self._seed}
        if self._shard[1] > 1:
            state["shard"], state["shards"] = self._shard
        return state

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        """Continue from :meth:`state_dict`.

        Raises:
            ValueError: the state belongs to another share of the input (another rank or
                number of processes).
        """
        saved = (int(state.get("shard", 0)), int(state.get("shards", 1)))
        if saved != self._shard:
            raise ValueError(
                f"The input position was saved by share {saved[0]} of {saved[1]} of the input, "
                f"but this process reads share {self._shard[0]} of {self._shard[1]}."
            )
        self._epoch = int(state["epoch"])
        self._position = int(state["position"])
        self._seed = int(state.get("seed", self._seed))
        self._order = None
        if self._position and self._reorders:
            self._start_epoch()


class numpy_input_fn:
    """Input function over numpy arrays (the seed's ``numpy_input_fn``).

    Args:
        x: an array, or a dict of arrays (feature name -> array), first dimension = examples.
        y: labels array, or None.
        batch_size: examples per batch.
        num_epochs: passes over the data; None repeats forever.
        shuffle: reshuffle every epoch.
        seed: shuffling seed; None takes torch's initial seed when the first iterator is made,
            so ``RunConfig(seed=...)`` (or ``torch.manual_seed``) decides the order even when
            this input function was built before the run seeded torch.
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
        self._seed = None if seed is None else int(seed)
        self.allow_smaller_final_batch = allow_smaller_final_batch

    @property
    def seed(self) -> int:
        """The shuffling seed: the one given, else torch's initial seed at the first call
        (read, not drawn: no random number is consumed, so the weights do not change)."""
        if self._seed is None:
            self._seed = torch.initial_seed() % (2**31 - 1)
        return self._seed

    def __call__(self, shard: tuple[int, int] | None = None) -> NumpyBatches:
        """A fresh iterator; ``shard=(index, count)`` reads that share of every epoch (by
        default this process's share in a distributed run, else all of it)."""
        return NumpyBatches(
            self.features,
            self.labels,
            self.batch_size,
            self.num_epochs,
            self.shuffle,
            self.seed,
            self.allow_smaller_final_batch,
            data_shard() if shard is None else shard,
        )
